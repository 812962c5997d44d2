import type {Argv, CommandModule} from 'yargs';

import {startEcovacsBots} from '../../simulate/ecovacs.js';
import {untilInterrupted} from '../../simulate/until-interrupted.js';
import {createLogger} from '../../util/logger.js';

/**
 * `fogbridge simulate ecovacs`: simulated MQTT bots that connect to a bridge's device broker with
 * real client ids and stay until Ctrl-C.
 */

interface SimulateEcovacsArgs {
    protocol: 'mqtt';
    count: number;
    class: string;
    url: string;
    servername: string | undefined;
    'tick-ms': number;
    'first-index': number;
}

export const simulateEcovacsCommand: CommandModule<object, SimulateEcovacsArgs> = {
    command: 'ecovacs',
    describe: 'Simulate Ecovacs Deebot MQTT bots talking to the bridge (until Ctrl-C)',
    builder: (yargs) =>
        yargs
            .option('protocol', {choices: ['mqtt'] as const, default: 'mqtt' as const, describe: 'how the bots talk: MQTT ("eco-ng") bots'})
            .option('count', {type: 'number', default: 1, describe: 'how many bots'})
            .option('class', {type: 'string', default: 'ls1ok3', describe: 'the model class in the client id (ls1ok3: DEEBOT 900)'})
            .option('url', {type: 'string', default: 'mqtts://127.0.0.1:8883', describe: 'the bridge\'s device MQTT port (edge.mqttTlsPort), or mqtts://…:443 for the shared TLS port'})
            .option('servername', {type: 'string', describe: 'the TLS server name the bots ask for, e.g. jmq-ngiot-eu.dc.ww.ecouser.net on 443'})
            .option('tick-ms', {type: 'number', default: 1000, describe: 'real milliseconds per simulated minute of cleaning'})
            .option('first-index', {type: 'number', default: 10, describe: 'numbers the bots\' dids from here, so that they do not take over the --demo bots (0 and 1) or another simulator\'s'})
            .check((argv) => {
                if (!Number.isInteger(argv.count) || argv.count < 1 || argv.count > 10_000) throw new Error('--count must be an integer from 1 to 10000');
                if (!/^[A-Za-z0-9_-]{1,32}$/.test(argv.class)) throw new Error('--class must be a model class such as ls1ok3');
                if (!/^mqtts?:\/\//.test(argv.url)) throw new Error('--url must be an mqtt:// or mqtts:// URL');
                if (!(argv['tick-ms'] >= 10)) throw new Error('--tick-ms must be at least 10');
                if (!Number.isInteger(argv['first-index']) || argv['first-index'] < 0 || argv['first-index'] > 1_000_000) throw new Error('--first-index must be an integer from 0 to 1000000');
                return true;
            }) as unknown as Argv<SimulateEcovacsArgs>,
    handler: async (argv) => {
        const log = createLogger('simulate:ecovacs');
        log.info(`starting ${argv.count} ${argv.class} bot(s) against ${argv.url}`);
        const bots = await startEcovacsBots({
            url: argv.url,
            count: argv.count,
            cls: argv.class,
            tickMs: argv['tick-ms'],
            firstIndex: argv['first-index'],
            ...(argv.servername && {servername: argv.servername}),
        });
        for (const bot of bots.bots) log.info(`bot ${bot.clientId} connected`);
        log.info('all bots connected; press Ctrl-C to stop');
        await untilInterrupted();
        log.info('stopping the bots');
        await bots.stop();
    },
};
