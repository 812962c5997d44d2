/**
 * `fogbridge miio add` and `fogbridge simulate miio`, as yargs command modules the main CLI mounts.
 */
import type {Argv, CommandModule} from 'yargs';

import {EventBus} from '../../core/bus.js';
import {DeviceRegistry, registryFile} from '../../core/registry.js';
import {SIMULATED_MODELS, startMiioSimulator} from '../../simulate/miio.js';
import {untilInterrupted} from '../../simulate/until-interrupted.js';
import type {FamilyCli} from '../family.js';
import {CLOUD_KEY_FEATURE, CLOUD_KEY_SECRET, miioDeviceId} from './adapter.js';
import {cloudKeyProblem} from './codec.js';
import type {MiioSettings} from './settings.js';

export interface AddDeviceInput {
    /** The bridge's registry file (`registryFile(dataDir)`). */
    registryFile: string;
    did: number;
    key: string;
    name?: string;
    model?: string;
}

/**
 * Stores a device's did and cloud key in the registry (the key as a secret, file mode 0600), creating
 * the device entry if needed. Refuses a did or key that cannot work, saying why.
 */
export async function addMiioDevice(input: AddDeviceInput): Promise<{id: string; created: boolean}> {
    if (!Number.isInteger(input.did) || input.did < 1 || input.did > 0xfffffffe) {
        throw new Error(`--did must be the decimal device id from device.conf (did=), 1 to 4294967294; got ${input.did}`);
    }
    const problem = cloudKeyProblem(input.key);
    if (problem) throw new Error(`--key: ${problem}`);
    if (input.model !== undefined && !/^[a-z0-9]+\.[a-z0-9_]+\.[a-z0-9_]+$/.test(input.model)) {
        throw new Error(`--model must look like roborock.vacuum.s5, got "${input.model}"`);
    }
    const registry = new DeviceRegistry({file: input.registryFile, bus: new EventBus()});
    await registry.load();
    const id = miioDeviceId(input.did);
    const existing = registry.get(id);
    registry.upsert({
        id,
        family: 'miio',
        facts: {
            ...(existing?.facts ?? {manufacturer: 'Xiaomi', model: 'unknown miIO device', name: `miIO ${input.did}`}),
            ...(input.name ? {name: input.name} : {}),
            ...(input.model && !existing?.extra.model ? {model: input.model} : {}),
        },
        features: existing?.features ?? [CLOUD_KEY_FEATURE],
    });
    registry.setExtra(id, 'did', input.did);
    if (input.model && !existing?.extra.model) registry.setExtra(id, 'model', input.model);
    registry.setSecret(id, CLOUD_KEY_SECRET, input.key);
    await registry.close();
    return {id, created: !existing};
}

interface AddArgs {
    did: number;
    key: string;
    name?: string;
    model?: string;
    dataDir?: string;
    config?: string;
}

function miioAddCommand(cli: FamilyCli<MiioSettings>): CommandModule<object, AddArgs> {
    return {
        command: 'add',
        describe: 'add a miIO device by its did and 16-character cloud key (both from the device\'s device.conf)',
        builder: (yargs: Argv) =>
            yargs
                .option('did', {type: 'number', demandOption: true, describe: 'device id (did= in device.conf)'})
                .option('key', {type: 'string', demandOption: true, describe: 'cloud key (key= in device.conf, 16 characters; not the 32-hex local token)'})
                .option('name', {type: 'string', describe: 'name shown in Home Assistant'})
                .option('model', {type: 'string', describe: 'model, e.g. roborock.vacuum.s5 (the device also tells it when it connects)'})
                .option('data-dir', {type: 'string', describe: 'data directory (default: dataDir from the settings)'}) as unknown as Argv<AddArgs>,
        handler: async (args) => {
            const {dataDir} = cli.loadSettings({config: args.config, dataDir: args.dataDir});
            const file = registryFile(dataDir);
            const {id, created} = await addMiioDevice({registryFile: file, did: args.did, key: args.key, name: args.name, model: args.model});
            process.stdout.write(
                `${created ? 'added' : 'updated'} ${id} (cloud key stored in ${file}). ` +
                    'Restart the bridge if it is running: it reads the registry at start-up and would otherwise overwrite it.\n',
            );
        },
    };
}

/** `fogbridge miio <command>`. */
export function miioCommand(cli: FamilyCli<MiioSettings>): CommandModule {
    return {
        command: 'miio <command>',
        describe: 'manage miIO devices (Xiaomi/Roborock vacuums, chuangmi plugs)',
        builder: (yargs: Argv) => yargs.command(miioAddCommand(cli) as unknown as CommandModule).demandCommand(1),
        handler: () => undefined,
    };
}

interface SimulateArgs {
    model: string;
    count: number;
    host: string;
    port: number;
    didBase: number;
    keepaliveSeconds: number;
}

/** `fogbridge simulate miio`: mount it under the main CLI's `simulate` command. */
export const simulateMiioCommand: CommandModule<object, SimulateArgs> = {
    command: 'miio',
    describe: 'simulate miIO devices that connect to a bridge\'s UDP cloud port',
    builder: (yargs: Argv) =>
        yargs
            .option('model', {choices: SIMULATED_MODELS, default: 'roborock.vacuum.s5', describe: 'device model'})
            .option('count', {type: 'number', default: 1, describe: 'how many devices'})
            .option('host', {type: 'string', default: '127.0.0.1', describe: 'the bridge\'s address'})
            .option('port', {type: 'number', default: 8053, describe: 'the bridge\'s miIO UDP port'})
            .option('did-base', {type: 'number', default: 277_000_001, describe: 'did of the first device; the next ones count up'})
            .option('keepalive-seconds', {type: 'number', default: 15, describe: 'seconds between keepalives'}) as unknown as Argv<SimulateArgs>,
    handler: async (args) => {
        if (!Number.isInteger(args.count) || args.count < 1 || args.count > 10_000) throw new Error('--count must be 1 to 10000');
        const simulator = await startMiioSimulator({
            model: args.model,
            count: args.count,
            host: args.host,
            port: args.port,
            didBase: args.didBase,
            keepaliveIntervalMs: args.keepaliveSeconds * 1000,
        });
        // Simulated keys are derived from the did and protect nothing: print them so the bridge can be told.
        for (const device of simulator.devices) {
            process.stdout.write(`simulated ${device.model} did=${device.did}: fogbridge miio add --did ${device.did} --key ${device.key}\n`);
        }
        process.stdout.write(`talking to ${args.host}:${args.port}; Ctrl-C stops\n`);
        await untilInterrupted();
        await simulator.stop();
    },
};
