/**
 * The embedded broker on its own, for the Eclipse Paho MQTT 3.1.1 interoperability suite
 * (eclipse/paho.mqtt.testing, `interoperability/client_test.py`), a local check that is not in CI
 * because the suite is only a GitHub repository (performance.md §4.1, scenario S8).
 *
 *   npx tsx test/edge/broker/paho-server.ts <port> [keepaliveLimitSeconds]
 *
 * Runs until killed. The suite expects `test/nosubscribe` to be refused (SUBACK 0x80), which is a
 * policy, so it is configured here as a caller hook, as a family would. The suite's clients
 * connect with keepalive 0, which the broker accepts and clamps to its keepalive limit.
 */

import {createBroker} from '../../../src/edge/broker/broker.js';
import {listenMqtt} from '../../../src/edge/broker/listener.js';
import {createLogger} from '../../../src/util/logger.js';

const log = createLogger('paho-server');
const [portArgument, keepaliveArgument] = process.argv.slice(2);
const port = Number(portArgument);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    log.error('usage: tsx test/edge/broker/paho-server.ts <port> [keepaliveLimitSeconds]');
    process.exit(2);
}

const broker = await createBroker({
    ...(keepaliveArgument === undefined ? {} : {keepaliveLimit: Number(keepaliveArgument)}),
    hooks: {
        authorizeSubscribe: (_client, subscription, callback) => callback(null, subscription.topic === 'test/nosubscribe' ? null : subscription),
    },
});
await listenMqtt(broker, {host: '127.0.0.1', port, log});

const stop = (): void => {
    broker.close(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
