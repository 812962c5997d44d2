import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';

import {afterEach, beforeEach, describe, expect, it} from 'vitest';

import {SettingsError, loadSettings, settingKeys} from '../../src/settings.js';

describe('settings', () => {
    let dir: string;
    beforeEach(() => {
        dir = mkdtempSync(path.join(tmpdir(), 'fogbridge-settings-'));
    });
    afterEach(() => rmSync(dir, {recursive: true, force: true}));

    it('needs no configuration: defaults give an embedded broker and the icomen listeners', () => {
        const settings = loadSettings();
        expect(settings.ha.mqtt.url).toBeNull();
        expect(settings.ha.embeddedBroker).toEqual({host: '127.0.0.1', port: 1883});
        expect(settings.icomen).toMatchObject({enabled: true, balancerPort: 7531, sessionPort: 7533});
        expect(settings.ha.discoveryPrefix).toBe('homeassistant');
        expect(settings.dataDir).toBe('./data');
    });

    it('applies file, then environment, then flags', () => {
        const file = path.join(dir, 'settings.yaml');
        writeFileSync(file, 'logLevel: debug\nicomen:\n  sessionPort: 17533\n  balancerPort: 17531\nha:\n  baseTopic: fromfile\n');
        const settings = loadSettings({
            file,
            env: {FOGBRIDGE_ICOMEN_SESSION_PORT: '27533', FOGBRIDGE_HA_MQTT_URL: 'mqtt://broker:1883', FOGBRIDGE_ICOMEN_COMPAT_TOPICS: 'true'},
            flags: {icomen: {sessionPort: 37533}},
        });
        expect(settings.logLevel).toBe('debug');
        expect(settings.icomen.balancerPort).toBe(17531);
        expect(settings.icomen.sessionPort).toBe(37533);
        expect(settings.icomen.compatTopics).toBe(true);
        expect(settings.ha.mqtt.url).toBe('mqtt://broker:1883');
        expect(settings.ha.baseTopic).toBe('fromfile');
    });

    it('reads JSON files too (the add-on options file)', () => {
        const file = path.join(dir, 'options.json');
        writeFileSync(file, JSON.stringify({ha: {mqtt: {url: 'mqtts://core-mosquitto:8883', username: 'addons'}}}));
        expect(loadSettings({file}).ha.mqtt).toMatchObject({url: 'mqtts://core-mosquitto:8883', username: 'addons'});
    });

    it('names the key, its source and the expected value when a setting is bad', () => {
        expect(() => loadSettings({env: {FOGBRIDGE_ICOMEN_SESSION_PORT: 'seventy'}})).toThrow(
            /invalid setting "icomen.sessionPort" \(from environment\): expected number, received string/,
        );
        expect(() => loadSettings({flags: {icomen: {balancerPort: 70000}}})).toThrow(/invalid setting "icomen.balancerPort" \(from command line\): Too big: expected number to be <=65535/);
        expect(() => loadSettings({flags: {logLevel: 'loud'}})).toThrow(/invalid setting "logLevel".*expected one of "error"\|"warn"\|"info"\|"debug"/);
        expect(() => loadSettings({flags: {ha: {mqtt: {url: 'http://x'}}}})).toThrow(/"ha.mqtt.url".*mqtt:\/\//);
    });

    it('refuses unknown keys so a typo cannot fall back to a default silently', () => {
        const file = path.join(dir, 'settings.yaml');
        writeFileSync(file, 'icomen:\n  sesionPort: 1\n');
        expect(() => loadSettings({file})).toThrow(SettingsError);
        expect(() => loadSettings({file})).toThrow(`unknown setting "icomen.sesionPort" (from file ${file})`);
    });

    it('refuses a misspelt environment variable of a settings section', () => {
        expect(() => loadSettings({env: {FOGBRIDGE_HA_MQTT_PASWORD: 'x'}})).toThrow('unknown setting "FOGBRIDGE_HA_MQTT_PASWORD" (from environment)');
        expect(loadSettings({env: {FOGBRIDGE_CONFIG: '/x.yaml', FOGBRIDGE_TEST_LOG_LEVEL: 'debug', FOGBRIDGE_HA_MQTT_PASSWORD: 'x'}}).ha.mqtt.password).toBe('x');
    });

    it('explains unreadable files', () => {
        const file = path.join(dir, 'broken.yaml');
        writeFileSync(file, 'icomen: [\n');
        expect(() => loadSettings({file})).toThrow(/is not valid YAML or JSON/);
        expect(() => loadSettings({file: path.join(dir, 'missing.yaml')})).toThrow(/cannot read settings file/);
    });

    it('derives one FOGBRIDGE_ variable per setting', () => {
        const names = settingKeys().map((key) => key.env);
        expect(names).toContain('FOGBRIDGE_HA_MQTT_URL');
        expect(names).toContain('FOGBRIDGE_ICOMEN_ADVERTISE_ADDRESS');
        expect(new Set(names).size).toBe(names.length);
    });
});

describe('the language setting', () => {
    it('is English unless set, top-level, and only a language there are translations for', () => {
        expect(loadSettings().language).toBe('en');
        expect(loadSettings({env: {FOGBRIDGE_LANGUAGE: 'de'}}).language).toBe('de');
        expect(() => loadSettings({flags: {language: 'fr'}})).toThrow(/invalid setting "language" \(from command line\)/);
    });
});
