/** Issue 8 for miIO in short form: many devices behind one NAT address, and a flooding device. */
import {afterEach, describe, expect, it} from 'vitest';

import {MAX_UNKNOWN_DEVICES, miioDeviceId} from '../../src/families/miio/adapter.js';
import {cloudHello, encodePacket, keysFromCloudKey} from '../../src/families/miio/codec.js';
import {setLogSink} from '../../src/util/logger.js';
import {waitFor} from '../support/net.js';
import {type MiioHarness, startMiioService} from './harness.js';
import {RawDevice} from './raw-device.js';

const DID = 320_000_001;
const KEY = 'KeyOfFlooder0001';

describe('miIO at scale', () => {
    let harness: MiioHarness | null = null;
    const devices: RawDevice[] = [];

    afterEach(async () => {
        for (const device of devices.splice(0)) device.close();
        await harness?.stop();
        harness = null;
        setLogSink(null);
    });

    it('answers the hellos of 500 devices behind one address, each from its own port', async () => {
        harness = await startMiioService();
        for (let i = 0; i < 500; i++) devices.push(await RawDevice.open(harness.port, 0, keysFromCloudKey(KEY), '127.0.0.9'));
        // Each repeats its hello until answered, as miio_client does.
        await waitFor(
            () => {
                const waiting = devices.filter((device) => device.replies.length === 0);
                for (const device of waiting) device.send(cloudHello());
                return waiting.length === 0;
            },
            15_000,
            'every hello answered',
        );
    }, 30_000);

    it('keeps made-up dids from one address out of the registry beyond the cap, while a real device behind that address gets in', async () => {
        setLogSink(() => {});
        harness = await startMiioService({devices: [{did: DID, key: KEY, model: 'chuangmi.plug.m1'}]});
        const forgedKeys = keysFromCloudKey('MadeUpKeyForAll0');
        const forger = await RawDevice.open(harness.port, 0, forgedKeys, '127.0.0.10');
        devices.push(forger);
        const madeUp = Array.from({length: 1000}, (_, index) => 900_000_001 + index);
        const stamp = Math.floor(Date.now() / 1000);
        for (const did of madeUp) {
            forger.send(encodePacket(forgedKeys, null, {did, stamp}));
            forger.send(encodePacket(forgedKeys, '{"id":1,"method":"_otc.info","params":{}}', {did, stamp: stamp + 1}));
        }
        await waitFor(() => harness!.service.server.stats.unattributed >= madeUp.length - MAX_UNKNOWN_DEVICES, 10_000, 'the made-up dids beyond the cap dropped');
        expect(harness.registry.list('miio').filter((device) => device.id !== miioDeviceId(DID))).toHaveLength(MAX_UNKNOWN_DEVICES);

        const real = await RawDevice.open(harness.port, DID, keysFromCloudKey(KEY), '127.0.0.10');
        devices.push(real);
        real.send(cloudHello());
        await waitFor(() => real.replies.length > 0, 3000, 'the real device’s hello answered');
        await real.sync();
        expect(harness.registry.get(miioDeviceId(DID))?.link.online).toBe(true);
        expect(harness.edge.counters().hellosUnanswered).toBe(0);
    });

    it('ignores a device that keeps flooding for its back-off, with one warning naming it', async () => {
        const warnings: string[] = [];
        setLogSink((level, _namespace, message) => {
            if (level === 'warn') warnings.push(message);
        });
        harness = await startMiioService({devices: [{did: DID, key: KEY, model: 'chuangmi.plug.m1'}], flood: {packetsPerSecond: 10, burst: 10, cutOffAfterDrops: 50, backoffSeconds: 30}});
        const keys = keysFromCloudKey(KEY);
        const device = await RawDevice.open(harness.port, DID, keys);
        devices.push(device);
        await device.sync();
        const stamp = Math.floor(Date.now() / 1000);
        for (let i = 1; i <= 300; i++) device.send(encodePacket(keys, null, {did: DID, stamp: stamp + i}));
        await waitFor(() => warnings.some((line) => line.includes(`miIO device ${DID} keeps flooding`)), 5000, 'the device cut off');
        expect(warnings.filter((line) => line.includes(`miIO device ${DID} sends more than`))).toHaveLength(1);
        await waitFor(() => harness!.registry.get(miioDeviceId(DID))?.link.lastError?.includes('flooding'), 5000, 'the reason on the device');
        // Ignored during the back-off: even a valid keepalive is dropped (and counted), never echoed.
        const droppedBefore = harness.edge.counters().flood.dropped;
        const keepalive = encodePacket(keys, null, {did: DID, stamp: stamp + 1000});
        device.send(keepalive);
        await waitFor(() => harness!.edge.counters().flood.dropped > droppedBefore, 3000, 'the keepalive dropped');
        expect(device.replies.some((reply) => reply.equals(keepalive))).toBe(false);
    }, 20_000);
});
