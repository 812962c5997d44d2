import {describe, expect, it} from 'vitest';

import {loadSettings} from '../../src/settings.js';

describe('miio settings', () => {
    it('has working defaults', () => {
        const {miio} = loadSettings({env: {}});
        expect(miio).toMatchObject({port: 8053, devices: [], offlineAfterSeconds: 60, requestTimeoutMs: 2000, gslb: {enabled: true, port: 80, fallbackPort: 8080, hosts: []}});
    });

    it('accepts a did as digits and a 16-character key', () => {
        const {miio} = loadSettings({env: {}, flags: {miio: {devices: [{did: '123456789', key: 'AbCdEfGh12345678', name: 'Robot'}]}}});
        expect(miio.devices).toEqual([{did: 123456789, key: 'AbCdEfGh12345678', name: 'Robot'}]);
    });

    it('refuses a 32-hex local token in place of the cloud key, saying what to use', () => {
        expect(() => loadSettings({env: {}, flags: {miio: {devices: [{did: 1, key: '00112233445566778899aabbccddeeff'}]}}})).toThrow(
            /miio\.devices\.0\.key.*local token.*key= value from the device's device\.conf/,
        );
    });

    it('refuses the hello did and a key of the wrong length', () => {
        expect(() => loadSettings({env: {}, flags: {miio: {devices: [{did: 0xffffffff, key: 'AbCdEfGh12345678'}]}}})).toThrow(/miio\.devices\.0\.did/);
        expect(() => loadSettings({env: {}, flags: {miio: {devices: [{did: 5, key: 'AbCdEfGh1234567'}]}}})).toThrow(/exactly 16 characters/);
    });

    it('takes its keys from the environment', () => {
        const {miio} = loadSettings({env: {FOGBRIDGE_MIIO_OFFLINE_AFTER_SECONDS: '90', FOGBRIDGE_MIIO_GSLB_PORT: '8081'}});
        expect(miio.offlineAfterSeconds).toBe(90);
        expect(miio.gslb.port).toBe(8081);
    });
});
