import {describe, expect, it} from 'vitest';

import {FloodGuards} from '../../src/edge/flood-guard.js';
import {answerFor, MiioCloud, type MiioCloudHooks, type MiioCloudOptions, otcInfoAnswer} from '../../src/families/miio/cloud.js';

const options: MiioCloudOptions = {
    host: '0.0.0.0',
    port: 8053,
    advertiseAddress: null,
    requestTimeoutMs: 300,
    probeAfterMs: 16_000,
    offlineAfterMs: 60_000,
    maxDatagramBytes: 16_384,
    helloRatePerSecond: 50,
    countryCode: 'DE',
    mapUploads: null,
    floodGuard: (...guard) => new FloodGuards().create(...guard),
};

const nothing = (): undefined => undefined;
const hooks: MiioCloudHooks = {
    keysFor: () => null,
    onSeen: nothing,
    onKeyMissing: nothing,
    onBadPacket: nothing,
    onOtcInfo: nothing,
    onDeviceRequest: nothing,
    onTimeout: nothing,
    onOverdue: nothing,
    onSilent: nothing,
    onSent: nothing,
    onMessage: nothing,
};

describe('the miIO cloud conversation (no socket)', () => {
    it('answers each device request as the note says (miio.md §3.3)', () => {
        expect(answerFor('props', 'DE')).toEqual({result: 'ok'});
        expect(answerFor('event.status', 'DE')).toEqual({result: 'ok'});
        expect(answerFor('_async.stat', 'DE')).toEqual({result: 'ok'});
        expect(answerFor('some.unknown_method', 'DE')).toEqual({result: 'ok'});
        expect(answerFor('_sync.getctrycode', 'CN')).toEqual({result: {ctry_code: 'CN'}});
        expect(answerFor('_sync.getAppData', 'DE')).toEqual({error: {code: -6, message: 'not set app data'}});
        for (const method of ['_sync.gen_presigned_url', '_sync.gen_tmp_presigned_url', '_sync.batch_gen_room_up_url']) {
            expect(answerFor(method, 'DE')).toEqual({error: {code: -7, message: 'unknow device'}});
        }
        for (const method of ['ali_lic', 'vendor_lic', 'lwt', '_sync.update_vacuum_mapinfo', 'dev_auth']) {
            expect(answerFor(method, 'DE')).toBeNull();
        }
    });

    it('tells _otc.info this cloud as the server to use and to probe', () => {
        const server = {ip: '192.168.1.2', port: 8053};
        expect(otcInfoAnswer(server)).toEqual({result: {otc_list: [server], otc_test: {list: [server], interval: 1800, firsttest: 1193}}});
    });

    it('advertises the configured address, else the bound one, else the local end of the route to the device', async () => {
        expect(await new MiioCloud({...options, advertiseAddress: '10.0.0.5'}, hooks).advertisedAddress('192.168.1.50')).toBe('10.0.0.5');
        expect(await new MiioCloud({...options, host: '192.168.1.2'}, hooks).advertisedAddress('192.168.1.50')).toBe('192.168.1.2');
        expect(await new MiioCloud(options, hooks).advertisedAddress('127.0.0.1')).toBe('127.0.0.1');
    });
});
