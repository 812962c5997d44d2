import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import type {LinkHealth} from '../../src/core/device.js';
import {setLogSink} from '../../src/util/logger.js';
import {miioDeviceId} from '../../src/families/miio/adapter.js';
import {cloudHello, encodePacket, keysFromCloudKey} from '../../src/families/miio/codec.js';
import {waitFor} from '../support/net.js';
import {type MiioHarness, startMiioService} from './harness.js';
import {RawDevice} from './raw-device.js';

const DID_A = 310_000_001;
const DID_B = 310_000_002;
const KEY_A = 'KeyOfDeviceA0001';
const KEY_B = 'KeyOfDeviceB0002';
const keysA = keysFromCloudKey(KEY_A);
const keysB = keysFromCloudKey(KEY_B);

describe('bad input on the UDP cloud link', () => {
    let harness: MiioHarness;
    let deviceA: RawDevice;
    let deviceB: RawDevice;
    const lines: string[] = [];

    beforeAll(async () => {
        setLogSink((level, namespace, message) => lines.push(`${level} ${namespace} ${message}`));
        harness = await startMiioService({devices: [{did: DID_A, key: KEY_A, model: 'roborock.vacuum.s5'}, {did: DID_B, key: KEY_B, model: 'chuangmi.plug.m1'}], helloRatePerSecond: 20});
        deviceA = await RawDevice.open(harness.port, DID_A, keysA);
        deviceB = await RawDevice.open(harness.port, DID_B, keysB);
        await deviceA.sync();
        await deviceB.sync();
    });

    afterAll(async () => {
        deviceA.close();
        deviceB.close();
        await harness.stop();
        setLogSink(null);
    });

    const linkA = (): LinkHealth => harness.registry.get(miioDeviceId(DID_A))!.link;

    /**
     * Sends 5 bad packets (fresh ones: an identical valid-checksum packet would be a replay): each
     * dropped without answer, counted in A's link health, logged at most once; B unaffected.
     */
    async function expectDropped(make: () => Buffer, reason: RegExp, count = 5): Promise<void> {
        const badBefore = linkA().badPackets;
        const linesBefore = lines.length;
        for (let round = 0; round < count; round++) deviceA.send(make());
        await deviceA.sync();
        expect(deviceA.replies).toEqual([]);
        expect(linkA().badPackets - badBefore).toBe(count);
        expect(linkA().lastError).toMatch(reason);
        // logger.limited: one line per device and reason per 10 s, however many packets.
        expect(lines.slice(linesBefore).filter((line) => reason.test(line)).length).toBeLessThanOrEqual(1);
        expect(lines.some((line) => line.startsWith('warn') && reason.test(line))).toBe(true);
        await deviceB.sync();
        expect(harness.registry.get(miioDeviceId(DID_B))!.link.badPackets).toBe(0);
    }

    it('wrong magic', async () => {
        await expectDropped(() => {
            const packet = deviceA.keepalive();
            packet.writeUInt16BE(0x2132, 0);
            return packet;
        }, /bad_magic/);
    });

    it('length field not equal to the datagram size', async () => {
        await expectDropped(() => {
            const packet = encodePacket(keysA, '{"id":1,"method":"props","params":{}}', {did: DID_A, stamp: deviceA.nextStamp()});
            packet.writeUInt16BE(packet.length + 16, 2);
            return packet;
        }, /bad_length/);
    });

    it('bad checksum (one flipped ciphertext bit)', async () => {
        await expectDropped(() => {
            const packet = encodePacket(keysA, '{"id":2,"method":"props","params":{}}', {did: DID_A, stamp: deviceA.nextStamp()});
            packet[40]! ^= 0x01;
            return packet;
        }, /bad_checksum/);
    });

    it('wrong key (a valid packet under another key)', async () => {
        await expectDropped(() => encodePacket(keysB, '{"id":3,"method":"props","params":{}}', {did: DID_A, stamp: deviceA.nextStamp()}), /bad_checksum/);
        // A device that has proven its key keeps "ok": a forged packet does not make the key wrong.
        expect(harness.registry.get(miioDeviceId(DID_A))!.state.cloud_key).toBe('ok');
    });

    it('ciphertext not a multiple of 16', async () => {
        await expectDropped(() => deviceA.signedRaw(Buffer.alloc(20, 7)), /bad_cipher_length/);
    });

    it('bad PKCS#7 padding', async () => {
        await expectDropped(() => deviceA.signedRaw(deviceA.encrypt(Buffer.alloc(16, 0x41))), /bad_padding/);
    });

    it('not JSON after decryption', async () => {
        await expectDropped(() => encodePacket(keysA, 'this is {not json', {did: DID_A, stamp: deviceA.nextStamp()}), /not_json/);
    });

    it('oversized datagrams', async () => {
        await expectDropped(
            () => encodePacket(keysA, JSON.stringify({id: 9, method: 'props', params: {pad: 'x'.repeat(20_000)}}), {did: DID_A, stamp: deviceA.nextStamp()}),
            /oversized/,
        );
    });

    it('datagrams too short to name a device are counted as unattributed', async () => {
        const before = harness.service.server.stats.unattributed;
        for (const size of [1, 5, 31]) deviceA.send(Buffer.alloc(size, 0x21));
        await deviceA.sync();
        expect(deviceA.replies).toEqual([]);
        expect(harness.service.server.stats.unattributed).toBe(before + 3);
    });

    it('replayed packets: a request seen before, and a keepalive that is not newer', async () => {
        const push = encodePacket(keysA, '{"id":77,"method":"props","params":{"battery":55}}', {did: DID_A, stamp: deviceA.nextStamp()});
        deviceA.send(push);
        await waitFor(() => harness.registry.get(miioDeviceId(DID_A))!.state.battery === 55, 3000, 'the push');
        await deviceA.sync();
        harness.registry.updateState(miioDeviceId(DID_A), {battery: 1});
        await expectDropped(() => push, /replayed/);
        expect(harness.registry.get(miioDeviceId(DID_A))!.state.battery).toBe(1);
        await expectDropped(() => encodePacket(keysA, null, {did: DID_A, stamp: 1_600_000_000}), /replayed/);
    });

    it('one address flooding hellos cannot use up the answers another device needs', async () => {
        const flooder = await RawDevice.open(harness.port, 0, keysA, '127.0.0.40');
        const rebooted = await RawDevice.open(harness.port, 0, keysA, '127.0.0.41');
        try {
            for (let round = 0; round < 200; round++) flooder.send(cloudHello());
            await deviceA.sync();
            rebooted.send(cloudHello());
            await waitFor(() => rebooted.replies.length === 1, 3000, 'the time for the other device');
            expect(flooder.replies.length).toBeLessThan(10);
        } finally {
            flooder.close();
            rebooted.close();
        }
    });

    it('a flood of hellos from many addresses is rate-limited and other devices keep working', async () => {
        const flooders = await Promise.all(Array.from({length: 20}, (_, index) => RawDevice.open(harness.port, 0, keysA, `127.0.0.${index + 2}`)));
        try {
            const linesBefore = lines.length;
            for (let round = 0; round < 25; round++) for (const flooder of flooders) flooder.send(cloudHello());
            await deviceA.sync();
            await deviceB.sync();
            await new Promise((resolve) => setTimeout(resolve, 100));
            const answered = flooders.reduce((sum, flooder) => sum + flooder.replies.length, 0);
            // 500 hellos, a budget of 20/s: far fewer answers than hellos (the bucket refills while we send).
            expect(answered).toBeGreaterThan(0);
            expect(answered).toBeLessThan(200);
            expect(harness.service.server.stats.hellosUnanswered).toBeGreaterThan(300);
            // The edge's counters (the bridge's diagnostics) read the same count.
            expect(harness.edge.counters().hellosUnanswered).toBe(harness.service.server.stats.hellosUnanswered);
            // One line per 10 s however many are dropped (the previous test may already have used it).
            expect(lines.slice(linesBefore).filter((line) => line.includes('hello flood')).length).toBeLessThanOrEqual(1);
            expect(lines.some((line) => line.includes('hello flood'))).toBe(true);
            expect(linkA().online).toBe(true);
        } finally {
            for (const flooder of flooders) flooder.close();
        }
    });
});
