import type {Argv, CommandModule} from 'yargs';

import {createLogger} from '../../util/logger.js';
import {startIcomenPlugs} from '../../simulate/icomen.js';
import {untilInterrupted} from '../../simulate/until-interrupted.js';

/**
 * `fogbridge simulate icomen`: simulated smart2connect plugs that connect to a bridge's load
 * balancer and stay until Ctrl-C. Each logs its redirect, switching and reconnects.
 */

interface SimulateIcomenArgs {
    count: number;
    host: string;
    port: number;
    'heartbeat-ms': number;
    'mac-offset': number;
}

export const simulateIcomenCommand: CommandModule<object, SimulateIcomenArgs> = {
    command: 'icomen',
    describe: 'Simulate ALDI/Lidl smart2connect Wi-Fi plugs talking to the bridge (until Ctrl-C)',
    builder: (yargs) =>
        yargs
            .option('count', {type: 'number', default: 1, describe: 'how many plugs'})
            .option('host', {type: 'string', default: '127.0.0.1', describe: 'the bridge\'s load balancer host'})
            .option('port', {type: 'number', default: 7531, describe: 'the bridge\'s load balancer port (icomen.balancerPort)'})
            .option('heartbeat-ms', {type: 'number', default: 30_000, describe: 'heartbeat (0x61) interval'})
            .option('mac-offset', {type: 'number', default: 0, describe: 'shifts the generated MACs, so two simulators do not share plugs'})
            .check((argv) => {
                if (!Number.isInteger(argv.count) || argv.count < 1 || argv.count > 10_000) throw new Error('--count must be an integer from 1 to 10000');
                if (!Number.isInteger(argv.port) || argv.port < 1 || argv.port > 65535) throw new Error('--port must be a TCP port');
                if (!(argv['heartbeat-ms'] >= 100)) throw new Error('--heartbeat-ms must be at least 100');
                if (!Number.isInteger(argv['mac-offset']) || argv['mac-offset'] < 0 || argv['mac-offset'] > 0xffffff - argv.count) {
                    throw new Error('--mac-offset must be an integer that keeps the MACs within 3 bytes');
                }
                return true;
            }) as unknown as Argv<SimulateIcomenArgs>,
    handler: async (argv) => {
        const log = createLogger('simulate:icomen');
        log.info(`starting ${argv.count} plug(s) against ${argv.host}:${argv.port}`);
        const plugs = await startIcomenPlugs({
            count: argv.count,
            host: argv.host,
            port: argv.port,
            heartbeatMs: argv['heartbeat-ms'],
            macOffset: argv['mac-offset'],
            logger: log,
        });
        for (const plug of plugs) log.info(`plug ${plug.mac} connected (${plug.on ? 'ON' : 'OFF'})`);
        log.info('all plugs connected; press Ctrl-C to stop');
        await untilInterrupted();
        log.info('stopping the plugs');
        await Promise.all(plugs.map((plug) => plug.stop()));
    },
};
