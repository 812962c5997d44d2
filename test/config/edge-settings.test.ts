import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';

import {afterEach, beforeEach, describe, expect, it} from 'vitest';

import {SettingsError, loadSettings, settingKeys} from '../../src/settings.js';
import {setLogSink} from '../../src/util/logger.js';

describe('edge settings', () => {
    it('default to the documented ports and names', () => {
        expect(loadSettings().edge).toEqual({
            host: '0.0.0.0',
            mqttTlsPort: 8883,
            mqttTlsFallbackPort: 18883,
            mqttPlainPort: null,
            tlsPort: 443,
            tlsFallbackPort: 8443,
            maxConnections: 2048,
            serverCertHosts: ['localhost'],
            serverCertIps: ['127.0.0.1'],
            maxPacketBytes: 64 * 1024,
            keepaliveLimitSeconds: 300,
            flood: {packetsPerSecond: 100, burst: 200, cutOffAfterDrops: 500, backoffSeconds: 60},
        });
        expect(settingKeys().find((key) => key.path.join('.') === 'edge.mqttTlsPort')?.env).toBe('FOGBRIDGE_EDGE_MQTT_TLS_PORT');
    });

    it('turn a listener off with null and check every value', () => {
        expect(loadSettings({flags: {edge: {tlsPort: null}}}).edge.tlsPort).toBeNull();
        expect(() => loadSettings({flags: {edge: {mqttTlsPort: 0}}})).toThrow(/invalid setting "edge.mqttTlsPort" \(from command line\)/);
        expect(() => loadSettings({flags: {edge: {serverCertHosts: ['https://bridge.lan']}}})).toThrow(/edge.serverCertHosts.0/);
        expect(() => loadSettings({flags: {edge: {serverCertIps: ['bridge.lan']}}})).toThrow(/edge.serverCertIps.0/);
        expect(() => loadSettings({flags: {edge: {mqttPort: 8883}}})).toThrow(/unknown setting "edge.mqttPort"/);
        expect(() => loadSettings({env: {FOGBRIDGE_EDGE_TLS_PORTT: '1'}})).toThrow(SettingsError);
    });
});

describe('renamed settings', () => {
    let dir: string;
    const warnings: string[] = [];
    beforeEach(() => {
        dir = mkdtempSync(path.join(tmpdir(), 'fogbridge-renamed-'));
        warnings.length = 0;
        setLogSink((level, _namespace, message) => {
            if (level === 'warn') warnings.push(message);
        });
    });
    afterEach(() => {
        setLogSink(null);
        rmSync(dir, {recursive: true, force: true});
    });

    it('still work from the file, with one warning per key naming the new key', () => {
        const file = path.join(dir, 'settings.yaml');
        writeFileSync(file, 'rainmaker:\n  mqttPort: 18884\n  alpnPort: null\n  serverCertHosts: [bridge.lan]\n  mqttHost: rm.lan\n');
        const settings = loadSettings({file, flags: {rainmaker: {mqttPort: 18885}}});
        // The newer source still wins, as it would with the new key.
        expect(settings.edge.mqttTlsPort).toBe(18885);
        expect(settings.edge.tlsPort).toBeNull();
        expect(settings.edge.serverCertHosts).toEqual(['bridge.lan']);
        expect(settings.rainmaker.mqttHost).toBe('rm.lan');
        expect(warnings).toEqual([
            `setting "rainmaker.mqttPort" (from file ${file}) is deprecated: use "edge.mqttTlsPort"`,
            `setting "rainmaker.alpnPort" (from file ${file}) is deprecated: use "edge.tlsPort"`,
            `setting "rainmaker.serverCertHosts" (from file ${file}) is deprecated: use "edge.serverCertHosts"`,
        ]);
    });

    it('still work from the environment, typed as the new key', () => {
        const settings = loadSettings({env: {FOGBRIDGE_RAINMAKER_ALPN_FALLBACK_PORT: '9443', FOGBRIDGE_RAINMAKER_MAX_CONNECTIONS: '64'}});
        expect(settings.edge.tlsFallbackPort).toBe(9443);
        expect(settings.edge.maxConnections).toBe(64);
        expect(warnings).toEqual([
            'setting "rainmaker.alpnFallbackPort" (from environment) is deprecated: use "edge.tlsFallbackPort"',
            'setting "rainmaker.maxConnections" (from environment) is deprecated: use "edge.maxConnections"',
        ]);
    });

    it('give way to the new key set in the same place, and say so', () => {
        const settings = loadSettings({flags: {rainmaker: {mqttPort: 1111}, edge: {mqttTlsPort: 2222}}});
        expect(settings.edge.mqttTlsPort).toBe(2222);
        expect(warnings).toEqual(['setting "rainmaker.mqttPort" (from command line) is deprecated and ignored: "edge.mqttTlsPort" is set too']);
    });

    it('web.language, now the top-level language of the UI and the entity names, from the file or the environment', () => {
        const file = path.join(dir, 'settings.yaml');
        writeFileSync(file, 'web:\n  language: de\n  port: 8100\n');
        const settings = loadSettings({file});
        expect(settings.language).toBe('de');
        expect(settings.web).not.toHaveProperty('language');
        expect(settings.web.port).toBe(8100);
        expect(warnings).toEqual([`setting "web.language" (from file ${file}) is deprecated: use "language"`]);

        warnings.length = 0;
        expect(loadSettings({env: {FOGBRIDGE_WEB_LANGUAGE: 'de'}}).language).toBe('de');
        expect(warnings).toEqual(['setting "web.language" (from environment) is deprecated: use "language"']);
    });

    it('are refused when the value is bad, under the new key', () => {
        expect(() => loadSettings({flags: {rainmaker: {mqttPort: 70_000}}})).toThrow(/invalid setting "edge.mqttTlsPort" \(from command line\)/);
    });
});
