import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';

import {type RunningBridge, startBridge} from '../../src/bridge.js';
import {loadSettingsWith} from '../../src/config/load.js';
import {assembleSettingsSchema} from '../../src/config/schema.js';
import type {FamilyModule} from '../../src/families/family.js';
import {ALL_FAMILIES} from '../../src/families/index.js';
import type {Settings} from '../../src/settings.js';
import {freePort} from './net.js';

export interface TestBridge extends RunningBridge<Settings> {
    dataDir: string;
    /** Stops the bridge and deletes its data directory. */
    dispose(): Promise<void>;
}

type Tree = Record<string, unknown>;

export interface TestBridgeOptions {
    families: readonly FamilyModule[];
    /** Nested settings, as in the settings file; merged over the test defaults. */
    settings?: Tree;
    /** The HA side's broker; default: the embedded one on a free port. */
    haUrl?: string;
    /** Reuse a data directory (restart tests). */
    dataDir?: string;
}

/**
 * A real bridge for integration tests: its own data directory, free ports, short birth delays,
 * and only the given families enabled.
 */
export async function startTestBridge(options: TestBridgeOptions): Promise<TestBridge> {
    const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'fogbridge-test-'));
    const enabled = new Set(options.families.map((family) => family.id));
    const defaults: Tree = {
        dataDir,
        logLevel: process.env.FOGBRIDGE_TEST_LOG_LEVEL ?? 'error',
        ha: {
            mqtt: {url: options.haUrl ?? null},
            embeddedBroker: {host: '127.0.0.1', port: await freePort()},
            birthDelayMinMs: 0,
            birthDelayMaxMs: 50,
        },
        edge: {host: '127.0.0.1', mqttTlsPort: await freePort(), tlsPort: await freePort()},
        icomen: {enabled: enabled.has('icomen'), host: '127.0.0.1', balancerPort: await freePort(), sessionPort: await freePort()},
        // Tests that open the web UI enable it on a port of their own.
        web: {enabled: false},
        miio: {enabled: enabled.has('miio'), maps: {host: '127.0.0.1', port: await freePort()}},
        ecovacs: {enabled: enabled.has('ecovacs'), host: '127.0.0.1', restPort: await freePort(), xmppHost: '127.0.0.1', xmppPort: await freePort()},
        rainmaker: {
            enabled: enabled.has('rainmaker'),
            host: '127.0.0.1',
            claimPort: await freePort(),
            otaPort: await freePort(),
        },
    };
    // The settings are assembled as the real ones are, with any test family's section added.
    const families: FamilyModule[] = [...ALL_FAMILIES, ...options.families.filter((family) => !ALL_FAMILIES.some((known) => known.id === family.id))];
    const settings = loadSettingsWith(assembleSettingsSchema(families), {flags: deepMerge(defaults, options.settings ?? {})}) as Settings;
    const bridge = await startBridge(settings, options.families);
    return {
        ...bridge,
        dataDir,
        async dispose() {
            await bridge.stop();
            if (!options.dataDir) rmSync(dataDir, {recursive: true, force: true});
        },
    };
}

function deepMerge(base: Tree, over: Tree): Tree {
    const out: Tree = {...base};
    for (const [key, value] of Object.entries(over)) {
        const existing = out[key];
        out[key] =
            typeof value === 'object' && value !== null && !Array.isArray(value) && typeof existing === 'object' && existing !== null && !Array.isArray(existing)
                ? deepMerge(existing as Tree, value as Tree)
                : value;
    }
    return out;
}
