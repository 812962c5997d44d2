#!/usr/bin/env node
import {createWriteStream, existsSync} from 'node:fs';
import {isIPv4} from 'node:net';
import {pipeline} from 'node:stream/promises';

import yargs, {type ArgumentsCamelCase, type Argv} from 'yargs';
import {hideBin} from 'yargs/helpers';

import {StartupError, startBridge} from './bridge.js';
import {BackupError, createBackup, restoreBackup} from './core/backup.js';
import {EventBus} from './core/bus.js';
import {DeviceRegistry, RegistryCorruptError, RegistryLockedError, parseRegistry, registryFile} from './core/registry.js';
import {removeDemoLeftovers, startDemo, withDemoDevices} from './demo.js';
import {DNS_FORMATS, type DnsFormat, familyRedirects, guessLanAddress, renderRedirects} from './dns.js';
import type {FamilyModule} from './families/family.js';
import {ALL_FAMILIES} from './families/index.js';
import {type Settings, SettingsError, familyCli, loadSettings} from './settings.js';
import {readJsonWithBackup} from './util/atomic-file.js';
import {LOG_LEVELS, type LogLevel, createLogger, setLogLevel} from './util/logger.js';
import {VERSION} from './version.js';

const FAMILIES: readonly FamilyModule[] = ALL_FAMILIES;

const log = createLogger('cli');

/** A mistake on the command line: shown as one line, like a bad setting. */
class UsageError extends Error {}

/** Options of our own; every other `--a.b value` flag is a setting. */
const OWN_OPTIONS = new Set(['format', 'family', 'address', 'device', 'file', '_', '$0', 'config', 'c', 'demo', 'data-dir', 'dataDir', 'log-level', 'logLevel', 'mqtt-url', 'mqttUrl', 'json', 'help', 'version']);

interface CommonArgs {
    config?: string;
    'data-dir'?: string;
    'log-level'?: string;
}

function withCommonOptions<T>(args: Argv<T>): Argv<T & CommonArgs> {
    return args
        .option('config', {alias: 'c', type: 'string', describe: 'settings file (YAML or JSON); also FOGBRIDGE_CONFIG'})
        .option('data-dir', {type: 'string', describe: 'where the registry, CA and keys live (default ./data)'})
        .option('log-level', {type: 'string', choices: LOG_LEVELS}) as Argv<T & CommonArgs>;
}

/** Settings from file, environment and flags, in that order of precedence. */
export function settingsFromArgs(argv: ArgumentsCamelCase<CommonArgs & {demo?: boolean; 'mqtt-url'?: string}>): Settings {
    const flags: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(argv)) {
        if (!OWN_OPTIONS.has(key) && !key.includes('-')) flags[key] = value;
    }
    if (argv['data-dir'] !== undefined) flags.dataDir = argv['data-dir'];
    if (argv['log-level'] !== undefined) flags.logLevel = argv['log-level'];
    if (argv.demo !== undefined) flags.demo = argv.demo;
    if (argv['mqtt-url'] !== undefined) flags.ha = {...(flags.ha as object | undefined), mqtt: {url: argv['mqtt-url']}};
    return loadSettings({file: argv.config ?? process.env.FOGBRIDGE_CONFIG, env: process.env, flags});
}

async function run(argv: ArgumentsCamelCase<CommonArgs & {demo?: boolean; 'mqtt-url'?: string}>): Promise<void> {
    // `run` is the default command, so a mistyped command name would otherwise start a bridge.
    const extra = argv._.filter((word, index) => !(index === 0 && word === 'run'));
    if (extra.length) throw new UsageError(`unknown command or argument "${extra.join(' ')}" (see fogbridge --help)`);
    const configured = settingsFromArgs(argv);
    const settings = configured.demo ? withDemoDevices(configured, FAMILIES) : configured;
    // Signals are heard from the start: one that arrives while the bridge starts stops it as soon
    // as it has started, rather than killing it halfway through a registry write.
    let stopRunning: (() => Promise<number>) | null = null;
    let signalled = false;
    const stopAndExit = (): void => {
        void stopRunning!().then((code) => process.exit(code));
    };
    const shutdown = (signal: string): void => {
        if (signalled) {
            log.warn(`${signal} again: exiting at once`);
            process.exit(1);
        }
        signalled = true;
        log.info(`${signal} received${stopRunning ? '' : '; stopping once started'}`);
        if (stopRunning) stopAndExit();
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));

    const bridge = await startBridge(settings, FAMILIES);
    const demo = await (async () => {
        await removeDemoLeftovers(bridge);
        return settings.demo ? await startDemo(bridge, FAMILIES) : null;
    })().catch(async (error: unknown) => {
        await bridge.stop();
        throw error;
    });
    stopRunning = async () => {
        let code = 0;
        // The bridge is stopped even if the demo fails to: its stop writes the registry.
        await demo?.stop().catch((error: Error) => {
            log.error(`stopping the demo devices: ${error.message}`);
            code = 1;
        });
        await bridge.stop().catch((error: Error) => {
            log.error(`stopping: ${error.message}`);
            code = 1;
        });
        return code;
    };
    if (signalled) stopAndExit();
}

async function listDevices(argv: ArgumentsCamelCase<CommonArgs & {json?: boolean}>): Promise<void> {
    const settings = settingsFromArgs(argv);
    const file = registryFile(settings.dataDir);
    const result = await readJsonWithBackup(file, parseRegistry);
    if (result.status === 'missing') {
        process.stdout.write(argv.json ? '[]\n' : `no devices yet (${file} does not exist)\n`);
        return;
    }
    if (result.status === 'corrupt') throw new RegistryCorruptError(`the device registry is unreadable: ${result.error}`);
    if (result.status === 'recovered') process.stderr.write(`fogbridge: ${file} is damaged (${result.error}); listing the last good copy\n`);
    // The registry file holds secrets; the listing never does.
    const devices = result.value.map(({secrets: _secrets, extra: _extra, ...device}) => device);
    if (argv.json) {
        process.stdout.write(`${JSON.stringify(devices, null, 2)}\n`);
        return;
    }
    if (devices.length === 0) process.stdout.write('no devices yet\n');
    for (const device of devices) {
        const seen = device.link.lastSeen ? new Date(device.link.lastSeen).toISOString() : 'never';
        const features = device.features.map((feature) => `${feature.id}:${feature.kind}`).join(' ');
        process.stdout.write(`${device.id}  ${device.facts.manufacturer} ${device.facts.model} "${device.facts.name}"  last seen ${seen}  [${features}]\n`);
    }
}

async function removeDevice(argv: ArgumentsCamelCase<CommonArgs & {device: string}>): Promise<void> {
    const settings = settingsFromArgs(argv);
    // The registry's lock refuses this while a bridge runs on the same data directory.
    const registry = new DeviceRegistry({file: registryFile(settings.dataDir), bus: new EventBus()});
    await registry.load();
    try {
        if (!registry.remove(argv.device)) throw new UsageError(`no device "${argv.device}" in ${registryFile(settings.dataDir)} (see fogbridge devices)`);
    } finally {
        await registry.close();
    }
    process.stdout.write(`removed ${argv.device}; its Home Assistant entities are removed when the bridge next starts\n`);
}

async function createBackupFile(argv: ArgumentsCamelCase<CommonArgs & {file: string}>): Promise<void> {
    const {dataDir} = settingsFromArgs(argv);
    if (!existsSync(registryFile(dataDir))) throw new UsageError(`nothing to back up: ${registryFile(dataDir)} does not exist (see --data-dir)`);
    // The archive holds every key: readable by its owner only, never overwriting a file.
    await pipeline(createBackup(dataDir), createWriteStream(argv.file, {mode: 0o600, flags: 'wx'}));
    process.stdout.write(`backed up ${dataDir} to ${argv.file}\n`);
}

async function restoreBackupFile(argv: ArgumentsCamelCase<CommonArgs & {file: string}>): Promise<void> {
    const {dataDir} = settingsFromArgs(argv);
    const {files} = await restoreBackup(argv.file, dataDir);
    process.stdout.write(`restored ${files} files from ${argv.file} into ${dataDir}; start the bridge as usual\n`);
}

function printDnsRedirects(argv: ArgumentsCamelCase<CommonArgs & {format: DnsFormat; family?: string; address?: string}>): void {
    const settings = settingsFromArgs(argv);
    if (argv.family !== undefined && !FAMILIES.some((family) => family.id === argv.family)) {
        throw new UsageError(`unknown family "${argv.family}" (one of ${FAMILIES.map((family) => family.id).join(', ')})`);
    }
    const address = argv.address ?? guessLanAddress();
    if (!address) throw new UsageError('no LAN address found: give the address devices reach fogbridge at with --address');
    if (!isIPv4(address)) throw new UsageError(`--address must be an IPv4 address, not "${address}"`);
    process.stdout.write(renderRedirects(argv.format, address, familyRedirects(settings, FAMILIES, argv.family)));
}

export async function main(args: string[]): Promise<void> {
    await withCommonOptions(yargs(args))
        .scriptName('fogbridge')
        .version(VERSION)
        .command(
            ['run', '$0'],
            'run the bridge (add --<section>.<key> <value> to override any setting)',
            (command) =>
                command
                    .option('demo', {type: 'boolean', describe: 'also start simulated devices'})
                    .option('mqtt-url', {type: 'string', describe: "Home Assistant's MQTT broker (default: an embedded one)"}),
            run,
        )
        .command('devices', 'list the devices in the registry', (command) => command.option('json', {type: 'boolean'}), listDevices)
        .command(
            'remove <device>',
            'forget a device (with the bridge stopped); Home Assistant drops its entities at the next start',
            (command) => command.positional('device', {type: 'string', demandOption: true, describe: 'a device id from `fogbridge devices`'}),
            removeDevice,
        )
        .command(
            'dns',
            'print the DNS redirects that point devices at fogbridge',
            (command) =>
                command
                    .option('format', {choices: DNS_FORMATS, default: 'dnsmasq' as DnsFormat, describe: 'the DNS server the lines are for'})
                    .option('family', {type: 'string', describe: 'only this family (default: every enabled one)'})
                    .option('address', {type: 'string', describe: "the address devices reach fogbridge at (default: this machine's first LAN IPv4 address)"}),
            printDnsRedirects,
        )
        .command('backup', 'one archive of the data directory (registry, CA, keys): create, or restore on a new machine', (command) =>
            command
                .command('create <file>', 'write the archive (the bridge may run meanwhile)', (sub) => sub.positional('file', {type: 'string', demandOption: true}), createBackupFile)
                .command('restore <file>', 'unpack an archive into an empty data directory, before the first start', (sub) => sub.positional('file', {type: 'string', demandOption: true}), restoreBackupFile)
                .demandCommand(1, 'create or restore'),
        )
        .command('simulate', 'run simulated devices against a bridge', (command) => {
            for (const family of FAMILIES) {
                if (family.simulateCommand) command.command(family.simulateCommand(familyCli(family)));
            }
            return command.demandCommand(1, 'name a family to simulate');
        })
        .command(FAMILIES.flatMap((family) => family.cliCommands?.(familyCli(family)) ?? []))
        .middleware((argv) => {
            // Settings apply the level for `run`; this makes it count for every other command too.
            if (argv['log-level']) setLogLevel(argv['log-level'] as LogLevel);
        })
        .demandCommand(0)
        .strictCommands()
        .recommendCommands()
        .fail((message, error, instance) => {
            if (error) throw error;
            process.stderr.write(`${instance.help()}\n\n${message}\n`);
            process.exit(2);
        })
        .help()
        .parseAsync();
}

main(hideBin(process.argv)).catch((error: unknown) => {
    if (error instanceof UsageError || error instanceof SettingsError || error instanceof RegistryCorruptError || error instanceof RegistryLockedError || error instanceof StartupError || error instanceof BackupError) {
        process.stderr.write(`fogbridge: ${error.message}\n`);
        process.exit(2);
    }
    // Bad input to a command (a MAC that is not one, a file that is missing) says what is wrong in
    // one line; the stack is there for whoever asks for debug output.
    const debug = process.argv.includes('debug') || process.env.FOGBRIDGE_LOG_LEVEL === 'debug';
    process.stderr.write(`fogbridge: ${debug ? ((error as Error)?.stack ?? String(error)) : ((error as Error)?.message ?? String(error))}\n`);
    process.exit(1);
});
