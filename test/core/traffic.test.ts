import {describe, expect, it} from 'vitest';

import {DeviceTraffic, MASK, maskSecrets} from '../../src/core/traffic.js';
import {registerSecret} from '../../src/util/logger.js';

describe('masking decoded messages', () => {
    it('masks the values of secret-named keys at any depth, in objects and lists', () => {
        const message = {
            method: '_otc.info',
            params: {token: 'abc', ap: {ssid: 'home', passwd: 'hunter2', rssi: -52}, cloudKey: 'x1', 'cloud key': 'x2', list: [{secret: 's', ok: 1}]},
            auth: {access_token: 't', refreshToken: 'r', apiKey: 'k', private_key: '-----BEGIN', Password: 'p'},
            empty: {token: ''},
        };
        expect(maskSecrets(message)).toEqual({
            method: '_otc.info',
            params: {token: MASK, ap: {ssid: 'home', passwd: MASK, rssi: -52}, cloudKey: MASK, 'cloud key': MASK, list: [{secret: MASK, ok: 1}]},
            auth: {access_token: MASK, refreshToken: MASK, apiKey: MASK, private_key: MASK, Password: MASK},
            empty: {token: ''},
        });
        expect(message.params.token).toBe('abc');
    });

    it('masks secrets the bridge knows wherever they appear in a string', () => {
        registerSecret('c0ffee-secret-1234');
        expect(maskSecrets({url: 'https://x/?k=c0ffee-secret-1234&n=1'})).toEqual({url: 'https://x/?k=***&n=1'});
    });

    it('cuts what would make an entry large: bytes, long strings, deep nesting, long lists', () => {
        let deep: unknown = 'bottom';
        for (let level = 0; level < 20; level++) deep = {deeper: deep};
        const masked = JSON.stringify(maskSecrets({bytes: Buffer.alloc(5000), text: 'x'.repeat(10_000), deep, list: Array.from({length: 1000}, (_, index) => index)}));
        expect(masked.length).toBeLessThan(1500);
        expect(masked).toContain('<5000 bytes>');
        expect(masked).toContain('(10000 characters)');
        expect(masked).toContain('… 970 more');
    });
});

describe('the traffic ring', () => {
    it("keeps a device's entries of the last minutes, newest first, masked", () => {
        let now = 0;
        const traffic = new DeviceTraffic({capacity: 10, maxAgeMs: 60_000, now: () => now});
        traffic.record('a', 'in', {temperature: 21});
        now = 30_000;
        traffic.record('b', 'out', {on: true});
        traffic.record('a', 'out', {set: 1, token: 'abc'});
        expect(traffic.recent('a')).toEqual([
            {deviceId: 'a', time: 30_000, direction: 'out', summary: '{"set":1,"token":"***"}'},
            {deviceId: 'a', time: 0, direction: 'in', summary: '{"temperature":21}'},
        ]);
        now = 61_000;
        expect(traffic.recent('a').map((entry) => entry.direction)).toEqual(['out']);
    });

    it('holds at most its capacity, whatever the fleet sends', () => {
        const traffic = new DeviceTraffic({capacity: 5});
        for (let index = 0; index < 1000; index++) traffic.record(index % 2 ? 'odd' : 'even', 'in', {index});
        expect(traffic.recent('odd').map((entry) => entry.summary)).toEqual(['{"index":999}', '{"index":997}', '{"index":995}']);
        expect(traffic.recent('even')).toHaveLength(2);
    });

    it('forgets a removed device', () => {
        const traffic = new DeviceTraffic({capacity: 5});
        traffic.record('a', 'in', 1);
        traffic.record('b', 'in', 2);
        traffic.forget('a');
        expect(traffic.recent('a')).toEqual([]);
        expect(traffic.recent('b')).toHaveLength(1);
    });
});
