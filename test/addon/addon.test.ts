import {spawn} from 'node:child_process';
import {chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';

import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {parse} from 'yaml';

import {loadSettings, settingsSchema} from '../../src/settings.js';

const ADDON = path.resolve('addon');
const config = parse(readFileSync(path.join(ADDON, 'config.yaml'), 'utf8')) as Record<string, unknown>;
const options = config.options as Record<string, unknown>;
const schema = config.schema as Record<string, unknown>;
const LANGUAGES = ['en', 'de'];
const translations = Object.fromEntries(LANGUAGES.map((language) => [language, parse(readFileSync(path.join(ADDON, 'translations', `${language}.yaml`), 'utf8')) as {configuration: Record<string, {name?: string; description?: string}>; network: Record<string, string>}]));

/** Whether `value` is what the Supervisor's option type (`int(1,10)`, `list(a|b)`, `match(…)`, `str?`) accepts. */
function fitsType(type: string, value: unknown): boolean {
    const plain = type.replace(/\?$/, '');
    const [, kind, argument] = /^(\w+)(?:\((.*)\))?$/.exec(plain) ?? [];
    switch (kind) {
        case 'str':
        case 'password':
            return typeof value === 'string';
        case 'bool':
            return typeof value === 'boolean';
        case 'url':
            return typeof value === 'string' && URL.canParse(value);
        case 'port':
            return Number.isInteger(value) && (value as number) > 0 && (value as number) < 65536;
        case 'int': {
            const [min, max] = (argument ?? ',').split(',').map((bound) => (bound === '' ? undefined : Number(bound)));
            return Number.isInteger(value) && (min === undefined || (value as number) >= min) && (max === undefined || (value as number) <= max);
        }
        case 'list':
            return typeof value === 'string' && argument!.split('|').includes(value);
        case 'match':
            return typeof value === 'string' && new RegExp(argument!).test(value);
        default:
            throw new Error(`unknown option type ${type}`);
    }
}

describe('add-on config.yaml', () => {
    it('has the keys the Supervisor requires, and the version of package.json', () => {
        const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {version: string};
        for (const key of ['name', 'version', 'slug', 'description', 'arch']) expect(config, key).toHaveProperty(key);
        expect(config.version).toBe(pkg.version);
        expect(config.slug).toMatch(/^[a-z0-9_]+$/);
        expect(config.arch).toEqual(['aarch64', 'amd64']);
        expect(config).toMatchObject({ingress: true, ingress_port: 8099, init: false, backup: 'hot', services: ['mqtt:need'], startup: 'application'});
        expect(config.panel_icon).toMatch(/^mdi:[a-z-]+$/);
        // Only the capability the balancer thread's priority needs, one that costs no security rating.
        expect(config.privileged).toEqual(['SYS_NICE']);
        expect(readFileSync(path.join(ADDON, 'Dockerfile'), 'utf8')).toContain(`io.hass.version="${pkg.version}"`);
    });

    it('maps every device-facing port of the default settings, each described in config and every language', () => {
        const defaults = settingsSchema.parse({});
        const devicePorts = [
            `${defaults.icomen.balancerPort}/tcp`,
            `${defaults.icomen.sessionPort}/tcp`,
            `${defaults.miio.port}/udp`,
            `${defaults.miio.gslb.port}/tcp`,
            `${defaults.miio.maps.port}/tcp`,
            `${defaults.edge.mqttTlsPort}/tcp`,
            `${defaults.edge.tlsPort}/tcp`,
            `${defaults.ecovacs.restPort}/tcp`,
            `${defaults.ecovacs.xmppPort}/tcp`,
            `${defaults.rainmaker.claimPort}/tcp`,
            `${defaults.rainmaker.otaPort}/tcp`,
        ];
        const ports = config.ports as Record<string, number | null>;
        expect(Object.keys(ports).sort()).toEqual([...devicePorts].sort());
        for (const port of Object.keys(ports)) {
            expect((config.ports_description as Record<string, string>)[port], port).toBeTruthy();
            for (const language of LANGUAGES) expect(translations[language]!.network[port], `${language}: ${port}`).toBeTruthy();
        }
    });

    it('gives every option a schema type its default fits; optional ones have no default', () => {
        for (const [key, value] of Object.entries(options)) {
            const type = schema[key];
            expect(type, `schema for ${key}`).toBeDefined();
            if (Array.isArray(type)) {
                expect(Array.isArray(value), key).toBe(true);
                continue;
            }
            expect(String(type), key).not.toMatch(/\?$/);
            expect(fitsType(String(type), value), `${key}: ${JSON.stringify(value)} as ${type}`).toBe(true);
        }
        for (const [key, type] of Object.entries(schema)) {
            if (Array.isArray(type)) {
                for (const fieldType of Object.values(type[0] as Record<string, string>)) expect(() => fitsType(fieldType, ''), `${key}: ${fieldType}`).not.toThrow();
                continue;
            }
            if (!String(type).endsWith('?')) expect(options, `default for required ${key}`).toHaveProperty(key);
        }
    });

    it.each(LANGUAGES)('%s translates every option with a name and a description', (language) => {
        const configuration = translations[language]!.configuration;
        expect(Object.keys(configuration).sort()).toEqual(Object.keys(schema).sort());
        for (const [key, text] of Object.entries(configuration)) {
            expect(text.name, `${language}: ${key}`).toBeTruthy();
            expect(text.description, `${language}: ${key}`).toBeTruthy();
        }
    });
});

/** Runs the real addon/run.sh under the bashio stub; the "bridge" it execs prints the environment it was given. */
function runAddon(
    work: string,
    addonOptions: object,
    services: object | null,
    addonInfo: object | null = ADDON_INFO,
): Promise<{code: number | null; env: Record<string, string>; memory: {execArgv: string[]; mallocArenas?: string}; stderr: string}> {
    const data = path.join(work, 'data');
    mkdirSync(data, {recursive: true});
    writeFileSync(path.join(data, 'options.json'), JSON.stringify(addonOptions));
    const bin = path.join(work, 'bin');
    mkdirSync(bin, {recursive: true});
    copyFileSync('test/addon/bashio-stub.sh', path.join(bin, 'bashio'));
    chmodSync(path.join(bin, 'bashio'), 0o755);
    const bridge = path.join(work, 'print-env.mjs');
    writeFileSync(
        bridge,
        `process.stdout.write(JSON.stringify({argv: process.argv.slice(2), env: Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith('FOGBRIDGE_'))), memory: {execArgv: process.execArgv, mallocArenas: process.env.MALLOC_ARENA_MAX}}));`,
    );
    const env: NodeJS.ProcessEnv = {
        PATH: `${bin}:${path.dirname(process.execPath)}:/usr/bin:/bin`,
        HOSTNAME: 'a0d7b954-fogbridge',
        ADDON_DATA_DIR: data,
        ADDON_BRIDGE: bridge,
    };
    if (services) {
        env.FAKE_SUPERVISOR_SERVICES = path.join(work, 'services.json');
        writeFileSync(env.FAKE_SUPERVISOR_SERVICES, JSON.stringify(services));
    }
    if (addonInfo) {
        env.FAKE_SUPERVISOR_ADDON_INFO = path.join(work, 'addon-info.json');
        writeFileSync(env.FAKE_SUPERVISOR_ADDON_INFO, JSON.stringify(addonInfo));
    }
    return new Promise((resolve) => {
        const child = spawn('bashio', [path.join(ADDON, 'run.sh')], {env, stdio: ['ignore', 'pipe', 'pipe']});
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.on('close', (code) => {
            const printed = stdout
                ? (JSON.parse(stdout) as {argv: string[]; env: Record<string, string>; memory: {execArgv: string[]; mallocArenas?: string}})
                : {argv: [], env: {}, memory: {execArgv: []}};
            expect(printed.argv).toEqual(code === 0 ? ['run'] : []);
            resolve({code, env: printed.env, memory: printed.memory, stderr});
        });
    });
}

/** Part of what the Supervisor says about the add-on itself; its slug carries the repository's prefix, the container's name another. */
const ADDON_INFO = {name: 'fogbridge', slug: 'local_fogbridge', hostname: 'local-fogbridge', ingress: true, ingress_entry: '/api/hassio_ingress/Zx1', ingress_url: '/api/hassio_ingress/Zx1/', ingress_port: 8099};

const MOSQUITTO_SERVICE = {mqtt: {addon: 'core_mosquitto', host: 'core-mosquitto', port: 1883, ssl: false, protocol: '3.1.1', username: 'addons', password: 'generated-secret'}};

describe('add-on run.sh', () => {
    let work: string;
    beforeEach(() => {
        work = mkdtempSync(path.join(tmpdir(), 'fogbridge-addon-'));
    });
    afterEach(() => rmSync(work, {recursive: true, force: true}));

    it('starts the bridge with the options and the Supervisor MQTT service, and the settings load', async () => {
        const {code, env, memory, stderr} = await runAddon(
            work,
            {...options, ecovacs_enabled: false, language: 'de', advertise_address: '192.168.1.10', miio_devices: [{did: 277000001, key: 'AbCdEfGh12345678', name: 'Robot'}]},
            MOSQUITTO_SERVICE,
        );
        expect(stderr).toBe('');
        expect(code).toBe(0);
        // The settings the per-device memory figures were measured with (README "Performance").
        expect(memory).toEqual({execArgv: ['--max-semi-space-size=2'], mallocArenas: '2'});
        const data = path.join(work, 'data');
        expect(env).toEqual({
            FOGBRIDGE_DATA_DIR: data,
            FOGBRIDGE_LOG_LEVEL: 'info',
            FOGBRIDGE_LANGUAGE: 'de',
            FOGBRIDGE_WEB_HOST: '0.0.0.0',
            FOGBRIDGE_WEB_PORT: '8099',
            FOGBRIDGE_WEB_INGRESS_ONLY: 'true',
            FOGBRIDGE_WEB_EXTERNAL_URL: 'homeassistant://hassio/ingress/local_fogbridge',
            FOGBRIDGE_HA_MQTT_URL: 'mqtt://core-mosquitto:1883',
            FOGBRIDGE_HA_MQTT_USERNAME: 'addons',
            FOGBRIDGE_HA_MQTT_PASSWORD: 'generated-secret',
            FOGBRIDGE_ICOMEN_ENABLED: 'true',
            FOGBRIDGE_MIIO_ENABLED: 'true',
            FOGBRIDGE_RAINMAKER_ENABLED: 'true',
            FOGBRIDGE_ECOVACS_ENABLED: 'false',
            FOGBRIDGE_ICOMEN_ADVERTISE_ADDRESS: '192.168.1.10',
            FOGBRIDGE_MIIO_ADVERTISE_ADDRESS: '192.168.1.10',
            FOGBRIDGE_ECOVACS_ADVERTISE_ADDRESS: '192.168.1.10',
            FOGBRIDGE_ICOMEN_COMPAT_TOPICS: 'false',
            FOGBRIDGE_MIIO_DEVICES: '[{"did":277000001,"key":"AbCdEfGh12345678","name":"Robot"}]',
            FOGBRIDGE_RAINMAKER_MQTT_HOST: 'fogbridge.local',
        });
        const settings = loadSettings({env});
        expect(settings).toMatchObject({
            dataDir: data,
            language: 'de',
            web: {host: '0.0.0.0', port: 8099, ingressOnly: true},
            ha: {mqtt: {url: 'mqtt://core-mosquitto:1883', username: 'addons'}},
            ecovacs: {enabled: false},
            miio: {devices: [{did: 277000001, key: 'AbCdEfGh12345678', name: 'Robot'}]},
        });
    });

    it('takes the MQTT options over the service, mqtts when the service says ssl, and runs without any service', async () => {
        const own = await runAddon(work, {...options, mqtt_url: 'mqtt://broker.lan:1883', mqtt_username: 'me', mqtt_password: 'mine'}, MOSQUITTO_SERVICE);
        expect(own.env).toMatchObject({FOGBRIDGE_HA_MQTT_URL: 'mqtt://broker.lan:1883', FOGBRIDGE_HA_MQTT_USERNAME: 'me', FOGBRIDGE_HA_MQTT_PASSWORD: 'mine'});
        expect(own.env).not.toHaveProperty('FOGBRIDGE_ICOMEN_ADVERTISE_ADDRESS');

        const tls = await runAddon(work, options, {mqtt: {...MOSQUITTO_SERVICE.mqtt, ssl: true, port: 8883}});
        expect(tls.env.FOGBRIDGE_HA_MQTT_URL).toBe('mqtts://core-mosquitto:8883');

        const none = await runAddon(work, options, null, null);
        expect(none.code).toBe(0);
        expect(none.stderr).toContain('no MQTT broker');
        expect(none.env).not.toHaveProperty('FOGBRIDGE_HA_MQTT_URL');
        expect(() => loadSettings({env: none.env})).not.toThrow();
        // Without the add-on's slug, no link rather than a guessed one.
        expect(none.stderr).toContain('did not say this add-on\'s slug');
        expect(none.env).not.toHaveProperty('FOGBRIDGE_WEB_EXTERNAL_URL');
    });
});
