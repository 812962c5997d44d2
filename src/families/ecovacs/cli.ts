import type {Argv, CommandModule} from 'yargs';

import {startEcovacsBots} from '../../simulate/ecovacs.js';
import {startXmppBots} from '../../simulate/ecovacs-xmpp.js';
import {untilInterrupted} from '../../simulate/until-interrupted.js';
import {createLogger} from '../../util/logger.js';

/**
 * `fogbridge simulate ecovacs`: simulated bots that stay until Ctrl-C: MQTT bots that connect to a
 * bridge's device broker with real client ids, or older XMPP bots that ask `lookup.do` where the
 * XMPP server is and log in there.
 */

interface SimulateEcovacsArgs {
    protocol: 'mqtt' | 'xmpp';
    count: number;
    class: string | undefined;
    url: string;
    servername: string | undefined;
    'tick-ms': number;
    'first-index': number;
    lookup: string;
    'former-admin': string | undefined;
}

export const simulateEcovacsCommand: CommandModule<object, SimulateEcovacsArgs> = {
    command: 'ecovacs',
    describe: 'Simulate Ecovacs Deebot bots (MQTT, or older XMPP ones) talking to the bridge (until Ctrl-C)',
    builder: (yargs) =>
        yargs
            .option('protocol', {choices: ['mqtt', 'xmpp'] as const, default: 'mqtt' as const, describe: 'how the bots talk: MQTT ("eco-ng") bots, or XMPP for older ones (M81, N79, Ozmo 601/610/930)'})
            .option('count', {type: 'number', default: 1, describe: 'how many bots'})
            .option('class', {type: 'string', describe: 'the model class (default ls1ok3, DEEBOT 900, for MQTT; 126, DEEBOT M81 Pro, for XMPP)'})
            .option('url', {type: 'string', default: 'mqtts://127.0.0.1:8883', describe: 'the bridge\'s device MQTT port (edge.mqttTlsPort), or mqtts://…:443 for the shared TLS port'})
            .option('servername', {type: 'string', describe: 'the TLS server name the bots ask for, e.g. jmq-ngiot-eu.dc.ww.ecouser.net on 443'})
            .option('tick-ms', {type: 'number', default: 1000, describe: 'real milliseconds per simulated minute of cleaning'})
            .option('lookup', {type: 'string', default: 'http://127.0.0.1:8007/lookup.do', describe: 'XMPP bots: where they ask for the XMPP server (ecovacs.restPort)'})
            .option('former-admin', {type: 'string', describe: 'XMPP bots: behave as bound to this cloud account JID, refusing with errno 103 until fogbridge grants access'})
            .option('first-index', {type: 'number', default: 10, describe: 'numbers the bots\' dids from here, so that they do not take over the --demo bots (0 and 1) or another simulator\'s'})
            .check((argv) => {
                if (!Number.isInteger(argv.count) || argv.count < 1 || argv.count > 10_000) throw new Error('--count must be an integer from 1 to 10000');
                if (argv.class !== undefined && !/^[A-Za-z0-9_-]{1,32}$/.test(argv.class)) throw new Error('--class must be a model class such as ls1ok3');
                if (!/^https?:\/\//.test(argv.lookup)) throw new Error('--lookup must be an http:// URL');
                if (!/^mqtts?:\/\//.test(argv.url)) throw new Error('--url must be an mqtt:// or mqtts:// URL');
                if (!(argv['tick-ms'] >= 10)) throw new Error('--tick-ms must be at least 10');
                if (!Number.isInteger(argv['first-index']) || argv['first-index'] < 0 || argv['first-index'] > 1_000_000) throw new Error('--first-index must be an integer from 0 to 1000000');
                return true;
            }) as unknown as Argv<SimulateEcovacsArgs>,
    handler: async (argv) => {
        const log = createLogger('simulate:ecovacs');
        const bots =
            argv.protocol === 'xmpp'
                ? await startXmppBots({
                      lookupUrl: argv.lookup,
                      count: argv.count,
                      firstSerial: argv['first-index'],
                      tickMs: argv['tick-ms'],
                      ...(argv.class && {cls: argv.class}),
                      ...(argv['former-admin'] && {formerAdmin: argv['former-admin']}),
                  })
                : await startEcovacsBots({
                      url: argv.url,
                      count: argv.count,
                      tickMs: argv['tick-ms'],
                      firstIndex: argv['first-index'],
                      ...(argv.class && {cls: argv.class}),
                      ...(argv.servername && {servername: argv.servername}),
                  });
        log.info(`${bots.bots.length} ${argv.protocol.toUpperCase()} bot(s) connected; press Ctrl-C to stop`);
        await untilInterrupted();
        log.info('stopping the bots');
        await bots.stop();
    },
};
