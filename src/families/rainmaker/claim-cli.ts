import path from 'node:path';

import type {Argv, CommandModule} from 'yargs';

import {loadOrCreateCa} from '../../edge/tls/ca.js';
import type {FamilyCli} from '../family.js';
import {FCTRY_FILES, FCTRY_PARTITION_SIZE, approveSelfClaim, assertMqttHost, describeApproval, claimNode, normaliseMac, readClaimIndex} from './claim.js';
import type {RainmakerSettings} from './settings.js';

/**
 * `fogbridge rainmaker claim|approve` and `fogbridge certs export`. Output goes to stdout (what a
 * user or script wants); logs go to stderr. Private keys are written to files, never printed.
 */

interface DataDirArgs {
    'data-dir'?: string;
}

interface ClaimArgs extends DataDirArgs {
    mac: string;
    'mqtt-host'?: string;
    'key-type': 'ec' | 'rsa';
}

interface ApproveArgs extends DataDirArgs {
    mac: string;
}

/**
 * Defaults come from the same settings the bridge runs with (environment and built-in defaults),
 * read only when a command runs, so that the claim tool and the broker agree on data directory
 * and host name.
 */
function dataDirOf(cli: FamilyCli<RainmakerSettings>, argv: DataDirArgs): string {
    return cli.loadSettings({dataDir: argv['data-dir']}).dataDir;
}

function withDataDir<T>(yargs: Argv<T>): Argv<T & DataDirArgs> {
    return yargs.option('data-dir', {type: 'string', describe: 'fogbridge data directory (CA, claims); default: the dataDir setting'}) as Argv<T & DataDirArgs>;
}

function validateMac(mac: unknown): true {
    normaliseMac(String(mac));
    return true;
}

export function rainmakerClaimCommand(cli: FamilyCli<RainmakerSettings>): CommandModule<object, ClaimArgs> {
    return {
        command: 'claim',
        describe: 'Issue a RainMaker node id, key and certificate and write its factory (fctry) partition files',
        builder: (yargs) =>
            withDataDir(yargs)
                .option('mac', {type: 'string', demandOption: true, describe: 'the node\'s base MAC (esptool chip_id), e.g. 7C:DF:A1:B2:C3:D4'})
                .option('mqtt-host', {type: 'string', describe: 'host name the node dials (fctry mqtt_host); default: the one used for this MAC before, else the rainmaker.mqttHost setting'})
                .option('key-type', {choices: ['ec', 'rsa'] as const, default: 'ec' as const, describe: 'node key: ECDSA P-256 (current firmware) or RSA-2048 (older builds)'})
                .check((argv) => validateMac(argv.mac)) as unknown as Argv<ClaimArgs>,
        handler: async (argv) => {
            const dataDir = dataDirOf(cli, argv);
            const mac = normaliseMac(argv.mac);
            const previousHost = (await readClaimIndex(dataDir)).claims[mac]?.mqttHost;
            const mqttHost = assertMqttHost(argv['mqtt-host'] ?? previousHost ?? cli.loadSettings({}).section.mqttHost);
            const ca = await loadOrCreateCa(dataDir);
            const node = await claimNode(dataDir, ca, {mac, mqttHost, keyType: argv['key-type']});
            const csv = path.join(node.dir, FCTRY_FILES.csv);
            const binary = path.join(node.dir, `${node.mac}.bin`);
            process.stdout.write(
                [
                    `node id:   ${node.nodeId}`,
                    `MAC:       ${node.mac}`,
                    `mqtt_host: ${node.mqttHost}${argv['mqtt-host'] ? '' : '  (pass --mqtt-host to change; it must be a name in the broker certificate)'}`,
                    `files:     ${node.dir}`,
                    `           ${FCTRY_FILES.nodeId}, ${FCTRY_FILES.mqttHost}, ${FCTRY_FILES.cert}, ${FCTRY_FILES.key} (private, 0600), ${FCTRY_FILES.random}, ${FCTRY_FILES.ca}`,
                    `NVS CSV:   ${csv}`,
                    '',
                    'Build and flash the factory partition (check the fctry offset in your partition table,',
                    'usually 0x3FA000, or 0x340000 with older layouts):',
                    `  python -m esp_idf_nvs_partition_gen generate ${csv} ${binary} ${FCTRY_PARTITION_SIZE}`,
                    `  esptool.py write_flash <fctry offset> ${binary}`,
                    '',
                ].join('\n'),
            );
        },
    };
}

export function rainmakerApproveCommand(cli: FamilyCli<RainmakerSettings>): CommandModule<object, ApproveArgs> {
    return {
        command: 'approve',
        describe: 'Allow a node to claim itself through the self-claim service (firmware built with SELF_CLAIM)',
        builder: (yargs) =>
            withDataDir(yargs)
                .option('mac', {type: 'string', demandOption: true, describe: 'the node\'s MAC, as it sends it in claim/initiate'})
                .check((argv) => validateMac(argv.mac)) as unknown as Argv<ApproveArgs>,
        handler: async (argv) => {
            const mac = await approveSelfClaim(dataDirOf(cli, argv), argv.mac);
            process.stdout.write(`${describeApproval(mac)}\n`);
        },
    };
}

export function certsExportCommand(cli: FamilyCli<RainmakerSettings>): CommandModule<object, DataDirArgs> {
    return {
        command: 'export',
        describe: 'Print the CA certificate (PEM) for firmware certificate bundles; creates the CA if there is none yet',
        builder: (yargs) => withDataDir(yargs),
        handler: async (argv) => {
            const ca = await loadOrCreateCa(dataDirOf(cli, argv));
            process.stdout.write(ca.certPem);
        },
    };
}

export function certsCommand(cli: FamilyCli<RainmakerSettings>): CommandModule {
    return {
        command: 'certs',
        describe: 'Certificate authority tools',
        builder: (yargs) => yargs.command(certsExportCommand(cli) as unknown as CommandModule).demandCommand(1, 'choose a certs subcommand'),
        handler: () => undefined,
    };
}
