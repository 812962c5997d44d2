import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';

import {afterEach, describe, expect, it} from 'vitest';

import {settingsSchema} from '../../src/settings.js';
import {EventBus} from '../../src/core/bus.js';
import {setLogSink} from '../../src/util/logger.js';
import {DeviceRegistry} from '../../src/core/registry.js';
import {CommandRouter} from '../../src/core/router.js';
import {MAX_UNKNOWN_DEVICES, MiioService, miioDeviceId} from '../../src/families/miio/adapter.js';
import {keysFromCloudKey} from '../../src/families/miio/codec.js';
import {DeviceEdge} from '../../src/edge/index.js';
import {startOnEdge} from '../support/edge.js';
import {freePort, waitFor} from '../support/net.js';
import {RawDevice} from './raw-device.js';

const DAY = 86_400_000;

/** Devices with made-up dids from the LAN must not pile up in the registry, across restarts too. */
describe('miIO devices without a cloud key', () => {
    const cleanups: (() => Promise<void> | void)[] = [];
    afterEach(async () => {
        for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
        setLogSink(null);
    });

    async function registryWithUnknown(dir: string, lastSeenAgo: number[]): Promise<void> {
        const registry = new DeviceRegistry({file: path.join(dir, 'registry.json'), bus: new EventBus()});
        await registry.load();
        lastSeenAgo.forEach((ago, index) => {
            const id = miioDeviceId(500_000_000 + index);
            registry.upsert({id, family: 'miio', facts: {manufacturer: 'Xiaomi', model: 'unknown miIO device', name: id}, features: []});
            registry.setExtra(id, 'did', 500_000_000 + index);
            registry.updateLink(id, {lastSeen: Date.now() - ago});
        });
        await registry.close();
    }

    async function start(dir: string): Promise<{registry: DeviceRegistry; port: number}> {
        const settings = settingsSchema.parse({dataDir: dir, miio: {host: '127.0.0.1', port: await freePort(), gslb: {enabled: false}, maps: {enabled: false}}});
        const registry = new DeviceRegistry({file: path.join(dir, 'registry.json'), bus: new EventBus()});
        await registry.load();
        const {service, stop} = await startOnEdge(new DeviceEdge(settings.edge, dir), 'miio', (edge) => new MiioService({settings: settings.miio, registry, images: {publish: () => {}}, router: new CommandRouter(registry), edge}));
        cleanups.push(async () => {
            await stop();
            await registry.close();
        });
        return {registry, port: service.server.port};
    }

    it('forgets one silent for a week at start, and shows no more than the cap', async () => {
        const dir = mkdtempSync(path.join(tmpdir(), 'fogbridge-miio-unknown-'));
        cleanups.push(() => rmSync(dir, {recursive: true, force: true}));
        const lines: string[] = [];
        setLogSink((_level, _namespace, message) => lines.push(message));
        // A full house of recently seen unknown devices, plus one silent for 8 days.
        await registryWithUnknown(dir, [...Array.from({length: MAX_UNKNOWN_DEVICES}, () => DAY), 8 * DAY]);

        const {registry, port} = await start(dir);
        expect(registry.has(miioDeviceId(500_000_000 + MAX_UNKNOWN_DEVICES))).toBe(false);
        expect(registry.list('miio')).toHaveLength(MAX_UNKNOWN_DEVICES);

        const stranger = await RawDevice.open(port, 777_000_001, keysFromCloudKey('NotKnownAnywhere'));
        cleanups.push(() => stranger.close());
        stranger.send(stranger.keepalive());
        await waitFor(() => lines.some((line) => line.includes('did 777000001') && line.includes('not shown')), 3000, 'the refusal');
        expect(registry.has(miioDeviceId(777_000_001))).toBe(false);

        // Removing one (fogbridge remove) makes room for the next unknown device.
        registry.remove(miioDeviceId(500_000_000));
        stranger.send(stranger.keepalive());
        await waitFor(() => registry.has(miioDeviceId(777_000_001)), 3000, 'the stranger shown');
        expect(registry.get(miioDeviceId(777_000_001))!.state.cloud_key).toBe('missing');
    });
});
