import {afterEach, beforeEach, describe, expect, it} from 'vitest';

import {FloodGuards} from '../../src/edge/flood-guard.js';
import {MiioCloud, type MiioCloudHooks} from '../../src/families/miio/cloud.js';
import {cloudHello, decodePacket, keysFromCloudKey, readHeader} from '../../src/families/miio/codec.js';
import {MiioDeviceError} from '../../src/families/miio/socket.js';
import {freePort, waitFor} from '../support/net.js';
import {RawDevice} from './raw-device.js';

const DID = 320_000_001;
const keys = keysFromCloudKey('ServerTestKey016');

describe('the UDP cloud server', () => {
    let server: MiioCloud;
    let device: RawDevice;
    const calls: {hook: string; args: unknown[]}[] = [];
    let storedId: number | undefined;
    const saved: number[] = [];

    const hooks: MiioCloudHooks = {
        keysFor: (did) => (did === DID ? keys : null),
        onSeen: () => undefined,
        onKeyMissing: (session) => calls.push({hook: 'keyMissing', args: [session.did]}),
        onBadPacket: (did, reason) => calls.push({hook: 'bad', args: [did, reason]}),
        onOtcInfo: (session, params) => calls.push({hook: 'otc', args: [params]}),
        onDeviceRequest: (session, method, params) => calls.push({hook: 'request', args: [method, params]}),
        onTimeout: (session, method) => calls.push({hook: 'timeout', args: [method]}),
        onOverdue: () => undefined,
        onSilent: () => undefined,
        onSent: () => undefined,
        onMessage: (session, direction, message) => calls.push({hook: `message-${direction}`, args: [message]}),
        loadRequestId: () => storedId,
        saveRequestId: (did, upTo) => saved.push(upTo),
    };

    beforeEach(async () => {
        calls.length = 0;
        saved.length = 0;
        storedId = undefined;
        const port = await freePort();
        server = new MiioCloud(
            {host: '127.0.0.1', port, advertiseAddress: null, requestTimeoutMs: 300, probeAfterMs: 16_000, offlineAfterMs: 60_000, maxDatagramBytes: 16_384, helloRatePerSecond: 50, countryCode: 'DE', mapUploads: null, floodGuard: (...guard) => new FloodGuards().create(...guard)},
            hooks,
        );
        await server.start();
        device = await RawDevice.open(port, DID, keys);
    });

    afterEach(async () => {
        device.close();
        await server.stop();
    });

    it('answers a hello with the time (reserved and did 0xFFFFFFFF)', async () => {
        device.send(cloudHello());
        const reply = await waitFor(() => device.replies[0], 3000, 'the time');
        const header = readHeader(reply);
        expect(reply.length).toBe(32);
        expect(header.unknown).toBe(0xffffffff);
        expect(header.did).toBe(0xffffffff);
        expect(Math.abs(header.stamp - Date.now() / 1000)).toBeLessThan(60);
    });

    it('echoes a keepalive byte for byte, but not a replay of it', async () => {
        const keepalive = device.keepalive();
        device.send(keepalive);
        await waitFor(() => device.replies.length === 1, 3000, 'the echo');
        expect(device.replies[0]).toEqual(keepalive);
        device.send(keepalive);
        await device.sync();
        expect(device.replies).toEqual([]);
        expect(calls).toContainEqual({hook: 'bad', args: [DID, 'replayed']});
    });

    it('answers _otc.info with the address the device already uses', async () => {
        await device.sync();
        device.sendMessage({id: 41, method: '_otc.info', partner_id: '', params: {model: 'roborock.vacuum.s5', token: '00112233445566778899aabbccddeeff'}});
        const answer = await device.nextMessage();
        const server_ = {ip: '127.0.0.1', port: server.port};
        expect(answer).toEqual({id: 41, result: {otc_list: [server_], otc_test: {list: [server_], interval: 1800, firsttest: 1193}}});
        expect(calls.find((call) => call.hook === 'otc')?.args[0]).toMatchObject({model: 'roborock.vacuum.s5'});
        // Both directions reach the adapter decoded, for the device page's recent messages.
        expect(calls.find((call) => call.hook === 'message-in')?.args[0]).toMatchObject({id: 41, method: '_otc.info'});
        expect(calls.find((call) => call.hook === 'message-out')?.args[0]).toEqual(answer);
    });

    it('acknowledges every device request with its own id, with the specials of the note', async () => {
        await device.sync();
        device.sendMessage({id: 50, method: 'props', params: {battery: 80}});
        expect(await device.nextMessage()).toEqual({id: 50, result: 'ok'});
        device.sendMessage({id: 51, method: 'event.clean_complete', params: []});
        expect(await device.nextMessage()).toEqual({id: 51, result: 'ok'});
        device.sendMessage({id: 52, method: '_sync.getctrycode', params: {}});
        expect(await device.nextMessage()).toEqual({id: 52, result: {ctry_code: 'DE'}});
        device.sendMessage({id: 53, method: '_sync.getAppData', params: {}});
        expect(await device.nextMessage()).toEqual({id: 53, error: {code: -6, message: 'not set app data'}});
        device.sendMessage({id: 54, method: '_sync.gen_tmp_presigned_url', params: {indexes: [0]}});
        expect(await device.nextMessage()).toEqual({id: 54, error: {code: -7, message: 'unknow device'}});
        device.sendMessage({id: 55, method: 'some.unknown_method', params: []});
        expect(await device.nextMessage()).toEqual({id: 55, result: 'ok'});
        // No answer to dev_auth and to stray results.
        device.sendMessage({id: 56, method: 'dev_auth', params: {}});
        device.sendMessage({id: 0, result: 'unknown_method'});
        device.sendMessage({result: ['ok']});
        await device.sync();
        expect(device.replies).toEqual([]);
        expect(calls.filter((call) => call.hook === 'request').map((call) => call.args[0])).toEqual([
            'props',
            'event.clean_complete',
            '_sync.getctrycode',
            '_sync.getAppData',
            '_sync.gen_tmp_presigned_url',
            'some.unknown_method',
            'dev_auth',
        ]);
    });

    it('sends requests with unique ids and our stamp, matches replies by id, and times out', async () => {
        const deviceStamp = device.nextStamp();
        device.sendMessage({id: 60, method: 'props', params: {}}, deviceStamp);
        await device.nextMessage();
        const first = server.request(DID, 'get_status', []);
        const second = server.request(DID, 'get_consumable', []);
        const requests = [await device.nextMessage((message) => message.method === 'get_status'), await device.nextMessage((message) => message.method === 'get_consumable')];
        expect(requests[0]!.id).toBe(1);
        expect(requests[1]!.id).toBe(2);
        expect(saved).toEqual([1001]);
        // Answer out of order: ids, not order, match them.
        device.sendMessage({id: 2, result: [{main_brush_work_time: 5}]});
        device.sendMessage({id: 1, result: [{state: 8}]});
        expect(await first).toEqual([{state: 8}]);
        expect(await second).toEqual([{main_brush_work_time: 5}]);

        const failing = server.request(DID, 'app_start', []);
        const request = await device.nextMessage((message) => message.method === 'app_start');
        device.sendMessage({id: request.id, error: {code: -5001, message: 'invalid_arg'}});
        await expect(failing).rejects.toThrow(MiioDeviceError);

        const unanswered = server.request(DID, 'get_status', []);
        await expect(unanswered).rejects.toThrow(/no answer within 300 ms/);
        expect(calls).toContainEqual({hook: 'timeout', args: ['get_status']});
    });

    it('stamps our packets with the device stamp plus elapsed time, never 0, with the device did', async () => {
        device.sendMessage({id: 70, method: 'props', params: {}}, 1_700_000_500);
        const ack = await waitFor(() => device.replies.find((reply) => reply.length > 32), 3000, 'the ack');
        const header = decodePacket(ack, keys).header;
        expect(header.did).toBe(DID);
        expect(header.unknown).toBe(0);
        expect(header.stamp).toBeGreaterThanOrEqual(1_700_000_500);
        expect(header.stamp).toBeLessThan(1_700_000_510);
    });

    it('sends to the address and port of the latest datagram', async () => {
        await device.sync();
        const moved = await RawDevice.open(server.port, DID, keys);
        // Same device (same clock), new socket.
        moved.stamp = device.stamp + 10;
        try {
            await moved.sync();
            const pending = server.request(DID, 'get_status', []);
            const request = await moved.nextMessage((message) => message.method === 'get_status');
            moved.sendMessage({id: request.id, result: [{state: 3}]});
            expect(await pending).toEqual([{state: 3}]);
            expect(device.replies).toEqual([]);
        } finally {
            moved.close();
        }
    });

    it('continues ids above the stored high-water mark after a restart', async () => {
        storedId = 5000;
        await device.sync();
        const pending = server.request(DID, 'get_status', []);
        const request = await device.nextMessage();
        expect(request.id).toBe(5000);
        expect(saved).toEqual([6000]);
        device.sendMessage({id: 5000, result: []});
        await pending;
    });

    it('a did without a key: the keepalive is echoed, requests are refused, the adapter is told', async () => {
        const stranger = await RawDevice.open(server.port, 999, keys);
        try {
            await stranger.sync();
            expect(calls).toContainEqual({hook: 'keyMissing', args: [999]});
            stranger.sendMessage({id: 1, method: 'props', params: {}});
            await stranger.sync();
            expect(stranger.replies).toEqual([]);
            expect(calls).toContainEqual({hook: 'bad', args: [999, 'no_cloud_key']});
            await expect(server.request(999, 'get_status', [])).rejects.toThrow(/no cloud key/);
        } finally {
            stranger.close();
        }
    });
});
