/** Child process for the concurrent-first-start test: loads (or creates) the CA and prints its certificate. */
import {setLogSink} from '../../../src/util/logger.js';
import {loadOrCreateCa} from '../../../src/edge/tls/ca.js';

setLogSink(() => undefined);
const ca = await loadOrCreateCa(process.argv[2]!);
process.stdout.write(ca.certPem);
