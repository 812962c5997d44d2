import {afterEach, describe, expect, it} from 'vitest';

import {toPublic} from '../../src/core/device.js';
import {miioDeviceId} from '../../src/families/miio/adapter.js';
import {encodePacket, keysFromCloudKey} from '../../src/families/miio/codec.js';
import {buildDiscovery} from '../../src/ha/discovery.js';
import {EntityNames} from '../../src/ha/entity-names.js';
import {TopicLayout} from '../../src/ha/topics.js';
import {loadTranslations} from '../../src/util/translations.js';
import {waitFor} from '../support/net.js';
import {type MiioHarness, startMiioService} from './harness.js';
import {RawDevice} from './raw-device.js';

const DID = 340_000_001;
const KEY = 'LinkHealthKey016';
const keys = keysFromCloudKey(KEY);
const id = miioDeviceId(DID);

describe('link health', () => {
    let harness: MiioHarness | undefined;
    let device: RawDevice | undefined;

    afterEach(async () => {
        device?.close();
        await harness?.stop();
        device = undefined;
        harness = undefined;
    });

    it('online from the first packet, offline when keepalives stop, online again on the next', async () => {
        harness = await startMiioService({devices: [{did: DID, key: KEY, model: 'chuangmi.plug.m1'}], offlineAfterSeconds: 1});
        const registry = harness.registry;
        expect(registry.get(id)!.link.online).toBe(false);
        device = await RawDevice.open(harness.port, DID, keys);
        await device.sync();
        expect(registry.get(id)!.link).toMatchObject({online: true, lastError: null});
        expect(registry.get(id)!.state.cloud_key).toBe('ok');
        await waitFor(() => !registry.get(id)!.link.online, 5000, 'offline');
        expect(registry.get(id)!.link.lastError).toMatch(/no packet for more than 1 s/);
        await device.sync();
        expect(registry.get(id)!.link.online).toBe(true);
    });

    it('a device whose keepalive is overdue is asked; no answer shows it offline long before the silence limit', async () => {
        harness = await startMiioService({devices: [{did: DID, key: KEY, model: 'chuangmi.plug.m1'}], probeAfterSeconds: 1, requestTimeoutMs: 300, offlineAfterSeconds: 3600});
        device = await RawDevice.open(harness.port, DID, keys);
        await device.sync();
        expect(harness.registry.get(id)!.link.online).toBe(true);
        // The device left: the question goes unanswered.
        await device.nextMessage((message) => message.method === 'miIO.info', 5000);
        await waitFor(() => !harness!.registry.get(id)!.link.online, 5000, 'offline');
        expect(harness.registry.get(id)!.link.lastError).toMatch(/miIO.info got no answer/);
        expect(harness.registry.get(id)!.link.timeouts).toBe(1);
    });

    it('a device that answers the question stays online, and is asked again at its next silence', async () => {
        harness = await startMiioService({devices: [{did: DID, key: KEY, model: 'chuangmi.plug.m1'}], probeAfterSeconds: 1, requestTimeoutMs: 2000, offlineAfterSeconds: 3600});
        device = await RawDevice.open(harness.port, DID, keys);
        await device.sync();
        for (let round = 0; round < 2; round++) {
            const question = await device.nextMessage((message) => message.method === 'miIO.info', 5000);
            device.sendMessage({id: question.id, result: {model: 'chuangmi.plug.m1', fw_ver: '1.0.0'}});
            await device.sync();
        }
        const link = harness.registry.get(id)!.link;
        expect(link).toMatchObject({online: true, timeouts: 0});
    });

    it('a request that times out counts and marks the device offline; the command says why', async () => {
        harness = await startMiioService({devices: [{did: DID, key: KEY, model: 'chuangmi.plug.m1'}], requestTimeoutMs: 300});
        device = await RawDevice.open(harness.port, DID, keys);
        await device.sync();
        // The raw device never answers.
        await expect(harness.router.route(id, 'switch', {kind: 'switch', on: true})).rejects.toThrow(/set_power .* no answer within 300 ms/);
        const link = harness.registry.get(id)!.link;
        expect(link.timeouts).toBeGreaterThanOrEqual(1);
        expect(link.online).toBe(false);
        expect(link.lastError).toMatch(/got no answer/);
    });

    it('commands to a device that never connected fail fast with the reason', async () => {
        harness = await startMiioService({devices: [{did: DID, key: KEY, model: 'chuangmi.plug.m1'}]});
        await expect(harness.router.route(id, 'switch', {kind: 'switch', on: true})).rejects.toThrow(/has not connected/);
    });

    it('a configured key that never matches shows as "wrong"', async () => {
        harness = await startMiioService({devices: [{did: DID, key: 'NotTheRightKey16', model: 'chuangmi.plug.m1'}]});
        device = await RawDevice.open(harness.port, DID, keys);
        device.send(encodePacket(keys, null, {did: DID, stamp: device.nextStamp()}));
        await waitFor(() => harness!.registry.get(id)!.state.cloud_key === 'wrong', 3000, 'cloud key wrong');
        expect(harness.registry.get(id)!.link.lastError).toMatch(/does not match/);
        expect(harness.registry.get(id)!.link.badPackets).toBe(1);
    });

    it('the cloud key sensor stays visible in Home Assistant while the device is offline: it says why', async () => {
        harness = await startMiioService({devices: [{did: DID, key: 'NotTheRightKey16', model: 'chuangmi.plug.m1'}]});
        device = await RawDevice.open(harness.port, DID, keys);
        device.send(encodePacket(keys, null, {did: DID, stamp: device.nextStamp()}));
        await waitFor(() => harness!.registry.get(id)!.state.cloud_key === 'wrong', 3000, 'cloud key wrong');
        const described = harness.registry.get(id)!;
        expect(described.link.online).toBe(false);
        const topics = new TopicLayout('fogbridge', 'homeassistant');
        const names = new EntityNames(await loadTranslations('en'));
        const {cmps} = buildDiscovery(toPublic(described), topics, names);
        expect(cmps.cloud_key).toMatchObject({availability: [{topic: topics.bridgeState}]});
        expect(cmps.switch).not.toHaveProperty('availability');
    });
});
