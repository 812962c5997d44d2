import {copyFile, mkdir} from 'node:fs/promises';
import path from 'node:path';

import type {Argv, CommandModule} from 'yargs';

import {createLogger} from '../../util/logger.js';
import {type SimulatedNodeType, startRainmakerNodes} from '../../simulate/rainmaker.js';
import {loadOrCreateCa} from '../../edge/tls/ca.js';
import type {FamilyCli} from '../family.js';
import {claimNode} from './claim.js';
import {rainmakerApproveCommand, rainmakerClaimCommand} from './claim-cli.js';
import {parseImageName} from './ota.js';
import {firmwareDirectory} from './service.js';
import type {RainmakerSettings} from './settings.js';
import {untilInterrupted} from '../../simulate/until-interrupted.js';

/**
 * `fogbridge simulate rainmaker`: simulated RainMaker nodes, claimed from the bridge's CA in its
 * data directory, connecting over mutual TLS until Ctrl-C; and `fogbridge rainmaker-firmware add`,
 * which files an OTA image where the bridge offers it from.
 */

const TYPES: readonly SimulatedNodeType[] = ['lightbulb', 'switch', 'fan', 'temperature'];

interface SimulateRainmakerArgs {
    type: SimulatedNodeType;
    count: number;
    host: string;
    port: number | undefined;
    alpn: boolean;
    'data-dir': string | undefined;
    'mac-base': string;
    'ota-fetch-ms': number;
}


export function simulateRainmakerCommand(cli: FamilyCli<RainmakerSettings>): CommandModule<object, SimulateRainmakerArgs> {
    return {
        command: 'rainmaker',
        describe: 'Simulate ESP RainMaker nodes (claimed from the bridge CA) over mutual TLS (until Ctrl-C)',
        builder: (yargs) =>
            yargs
                .option('type', {choices: TYPES, default: 'lightbulb' as SimulatedNodeType, describe: 'which example node'})
                .option('count', {type: 'number', default: 1, describe: 'how many nodes'})
                .option('host', {type: 'string', default: '127.0.0.1', describe: 'the bridge\'s address'})
                .option('port', {type: 'number', describe: 'broker port (default edge.mqttTlsPort, or edge.tlsPort with --alpn)'})
                .option('alpn', {type: 'boolean', default: false, describe: 'dial the shared 443 port with ALPN x-amzn-mqtt-ca, as stock firmware does'})
                .option('data-dir', {type: 'string', describe: 'the bridge\'s data directory (CA, claims); default: the dataDir setting'})
                .option('mac-base', {type: 'string', default: '7CDFA1000000', describe: 'first node MAC (12 hex digits); the rest count up'})
                .option('ota-fetch-ms', {type: 'number', default: 5000, describe: 'ask for an OTA job this long after boot'})
                .check((argv) => {
                    if (!Number.isInteger(argv.count) || argv.count < 1 || argv.count > 10_000) throw new Error('--count must be an integer from 1 to 10000');
                    if (argv.port !== undefined && (!Number.isInteger(argv.port) || argv.port < 1 || argv.port > 65535)) throw new Error('--port must be a TCP port');
                    if (!/^[0-9A-Fa-f]{12}$/.test(argv['mac-base'])) throw new Error('--mac-base must be 12 hex digits');
                    return true;
                }) as unknown as Argv<SimulateRainmakerArgs>,
        handler: async (argv) => {
            const log = createLogger('simulate:rainmaker');
            const {dataDir, section: settings, edge} = cli.loadSettings({dataDir: argv['data-dir']});
            const ca = await loadOrCreateCa(dataDir);
            const port = argv.port ?? (argv.alpn ? edge.tlsPort : edge.mqttTlsPort);
            if (!port) throw new Error('that listener is disabled in the settings: pass --port');
            log.info(`starting ${argv.count} ${argv.type} node(s) against ${argv.host}:${port}${argv.alpn ? ' (ALPN x-amzn-mqtt-ca)' : ''}`);
            const nodes = await startRainmakerNodes({
                type: argv.type,
                count: argv.count,
                host: argv.host,
                port,
                alpn: argv.alpn,
                servername: settings.mqttHost,
                macBase: argv['mac-base'].toUpperCase(),
                claim: (mac) => claimNode(dataDir, ca, {mac, mqttHost: settings.mqttHost}),
                mapping: {userId: 'local-admin', secretKey: 'simulated'},
                otaFetchDelayMs: argv['ota-fetch-ms'],
                logger: log,
            });
            for (const node of nodes.nodes) log.info(`node ${node.nodeId} connected (firmware ${node.fwVersion})`);
            log.info('all nodes connected; press Ctrl-C to stop');
            await untilInterrupted();
            log.info('stopping the nodes');
            await nodes.stop();
        },
    };
}

interface FirmwareAddArgs {
    file: string;
    project: string | undefined;
    version: string | undefined;
    'data-dir': string | undefined;
}

function firmwareAddCommand(cli: FamilyCli<RainmakerSettings>): CommandModule<object, FirmwareAddArgs> {
    return {
        command: 'add <file>',
        describe: 'Offer a firmware image to RainMaker nodes of its project (shown as an update in Home Assistant)',
        builder: (yargs) =>
            yargs
                .positional('file', {type: 'string', demandOption: true, describe: 'the .bin image'})
                .option('project', {type: 'string', describe: 'ESP-IDF project name the image was built as (default: from a <project>-<version>.bin file name)'})
                .option('version', {type: 'string', describe: 'the image\'s firmware version (default: from the file name)'})
                .option('data-dir', {type: 'string', describe: 'the bridge\'s data directory; default: the dataDir setting'})
                .check((argv) => {
                    const fromName = parseImageName(path.basename(argv.file));
                    const project = argv.project ?? fromName?.project;
                    const version = argv.version ?? fromName?.version;
                    if (!project || !/^[A-Za-z0-9_.-]+$/.test(project)) throw new Error('give --project (letters, digits, _ . -)');
                    if (!version || !/^\d[A-Za-z0-9._+-]*$/.test(version)) throw new Error('give --version (it starts with a digit)');
                    return true;
                }) as unknown as Argv<FirmwareAddArgs>,
        handler: async (argv) => {
            const fromName = parseImageName(path.basename(argv.file));
            const project = argv.project ?? fromName!.project;
            const version = argv.version ?? fromName!.version;
            const {dataDir, section} = cli.loadSettings({dataDir: argv['data-dir']});
            const directory = firmwareDirectory(section, dataDir);
            await mkdir(directory, {recursive: true});
            const target = path.join(directory, `${project}-${version}.bin`);
            await copyFile(argv.file, target);
            process.stdout.write(`${target}\nthe bridge offers it within a minute to nodes running project "${project}"\n`);
        },
    };
}

function firmwareCommand(cli: FamilyCli<RainmakerSettings>): CommandModule {
    return {
        command: 'firmware <command>',
        describe: 'RainMaker OTA images',
        builder: (yargs) => yargs.command(firmwareAddCommand(cli) as unknown as CommandModule).demandCommand(1),
        handler: () => {},
    };
}

/** `fogbridge rainmaker claim|approve|firmware …`. */
export function rainmakerCommand(cli: FamilyCli<RainmakerSettings>): CommandModule {
    return {
        command: 'rainmaker <command>',
        describe: 'ESP RainMaker nodes: claiming and OTA images',
        builder: (yargs) =>
            yargs
                .command(rainmakerClaimCommand(cli) as unknown as CommandModule)
                .command(rainmakerApproveCommand(cli) as unknown as CommandModule)
                .command(firmwareCommand(cli))
                .demandCommand(1),
        handler: () => {},
    };
}
