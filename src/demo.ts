/**
 * `--demo`: simulated devices of every enabled family, pointed at this bridge's own listeners, so
 * a newcomer sees devices appear at once. They speak the real protocols; nothing is faked inside
 * the bridge. They share the real registry (a demo registry of its own would make the bridge clear
 * the user's real devices from Home Assistant as stale), so they are removed again when the demo
 * ends, and at the next start when the demo was killed.
 */
import {readFile, rm} from 'node:fs/promises';
import path from 'node:path';

import type {RunningBridge} from './bridge.js';
import {settingsSection} from './config/schema.js';
import type {FamilyModule, RunningDemo} from './families/family.js';
import type {Settings} from './settings.js';
import {writeFileAtomic} from './util/atomic-file.js';
import {createLogger} from './util/logger.js';

const log = createLogger('demo');

/** The ids of the running demo's devices: what a killed demo left behind. */
function demoDevicesFile(dataDir: string): string {
    return path.join(dataDir, 'demo-devices.json');
}

/** Each family's section as the bridge must run it for its simulated devices. */
export function withDemoDevices(settings: Settings, families: readonly FamilyModule[]): Settings {
    const out: Record<string, unknown> = {...settings};
    for (const family of families) {
        if (family.withDemoDevices) out[family.id] = family.withDemoDevices(settingsSection(settings, family.id));
    }
    return out as Settings;
}

/** Starts the simulated devices once the bridge listens; stopping them removes their devices. */
export async function startDemo(bridge: RunningBridge<Settings>, families: readonly FamilyModule[]): Promise<RunningDemo> {
    const {settings} = bridge;
    const running: RunningDemo[] = [];
    const stopSimulators = async (): Promise<void> => {
        for (const entry of running.splice(0).reverse()) await entry.stop();
    };
    try {
        for (const family of families) {
            const section = settingsSection(settings, family.id);
            if (family.startDemo && family.enabled(section)) running.push(await family.startDemo(section, {dataDir: settings.dataDir, edge: settings.edge}));
        }
    } catch (error) {
        await stopSimulators();
        throw error;
    }
    const deviceIds = running.flatMap((entry) => entry.deviceIds);
    await writeFileAtomic(demoDevicesFile(settings.dataDir), JSON.stringify(deviceIds));
    return {
        deviceIds,
        async stop() {
            await stopSimulators();
            removeDemoDevices(bridge, deviceIds);
            await rm(demoDevicesFile(settings.dataDir), {force: true});
        },
    };
}

/** Removes the devices of a demo that was killed before it could remove them itself. */
export async function removeDemoLeftovers(bridge: RunningBridge<Settings>): Promise<void> {
    const file = demoDevicesFile(bridge.settings.dataDir);
    let text: string;
    try {
        text = await readFile(file, 'utf8');
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
    }
    let ids: unknown;
    try {
        ids = JSON.parse(text);
    } catch {
        ids = null;
    }
    if (Array.isArray(ids)) removeDemoDevices(bridge, ids.filter((id): id is string => typeof id === 'string'));
    else log.warn(`${file} is not a list of device ids; ignored`);
    await rm(file, {force: true});
}

function removeDemoDevices(bridge: RunningBridge<Settings>, ids: readonly string[]): void {
    const removed = ids.filter((id) => bridge.registry.remove(id));
    if (removed.length) log.info(`removed ${removed.length} device(s) left by a demo: ${removed.join(', ')}`);
}
