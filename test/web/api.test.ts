import {X509Certificate} from 'node:crypto';
import {readFileSync} from 'node:fs';
import path from 'node:path';
import {Readable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {gunzipSync} from 'node:zlib';

import * as tar from 'tar';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import WebSocket from 'ws';

import type {PublicDevice} from '../../src/core/device.js';
import {caFiles} from '../../src/edge/tls/ca.js';
import {SetupRefused} from '../../src/core/setup.js';
import {ecovacsFamily} from '../../src/families/ecovacs/index.js';
import {readClaimIndex} from '../../src/families/rainmaker/claim.js';
import {rainmakerFamily} from '../../src/families/rainmaker/index.js';
import {approveMacAction} from '../../src/families/rainmaker/onboarding.js';
import {getLogLevel, setLogLevel, subscribeToLog} from '../../src/util/logger.js';
import {isAllowedPeer} from '../../src/web/index.js';
import {type TestBridge, startTestBridge} from '../support/bridge.js';
import {type FakeFamily, createFakeFamily} from '../support/fake-family.js';
import {freePort, waitFor} from '../support/net.js';

const SECRET = 'VerySecretToken42';

describe('web UI server', () => {
    let bridge: TestBridge;
    let fake: FakeFamily;
    let base: string;
    let deviceId: string;

    beforeAll(async () => {
        fake = createFakeFamily();
        const port = await freePort();
        bridge = await startTestBridge({families: [fake], settings: {web: {enabled: true, port}}});
        base = `http://127.0.0.1:${port}`;
        deviceId = fake.addDevice('api01');
        bridge.registry.setSecret(deviceId, 'token', SECRET);
    });

    afterAll(async () => {
        await bridge?.dispose();
    });

    const call = async (method: string, path: string, body?: string, contentType = 'application/json'): Promise<{status: number; json: Record<string, unknown>; text: string}> => {
        const response = await fetch(`${base}${path}`, {method, body, headers: body === undefined ? {} : {'Content-Type': contentType}});
        const text = await response.text();
        let json: Record<string, unknown> = {};
        try {
            json = JSON.parse(text) as Record<string, unknown>;
        } catch {
            // Not JSON: the static files.
        }
        return {status: response.status, json, text};
    };

    it('lists devices and one device, never with secrets or family-private details', async () => {
        const list = await call('GET', '/api/devices');
        expect(list.status).toBe(200);
        expect((list.json as unknown as PublicDevice[]).map((device) => device.id)).toEqual([deviceId]);
        const one = await call('GET', `/api/devices/${deviceId}`);
        expect(one.json).toMatchObject({id: deviceId, family: 'ecovacs', state: {relay: false}});
        for (const text of [list.text, one.text]) {
            expect(text).not.toContain(SECRET);
            expect(text).not.toContain('"secrets"');
            expect(text).not.toContain('"extra"');
        }
    });

    it('sends a command through the router; the device carries it out', async () => {
        const answer = await call('POST', `/api/devices/${deviceId}/features/relay`, JSON.stringify({kind: 'switch', on: true, smuggled: 'ignored'}));
        expect(answer.status).toBe(202);
        await waitFor(() => bridge.registry.get(deviceId)!.state.relay === true, 2000, 'relay on');
        expect(fake.commands.at(-1)).toEqual({deviceId, featureId: 'relay', action: 'set', value: true});
    });

    it('refuses commands that do not fit the feature, with the core\'s reason', async () => {
        const cases: [string, unknown, RegExp][] = [
            ['volume', {kind: 'number', value: 101}, /from 0 to 100/],
            ['relay', {kind: 'light', on: true}, /takes "kind": "switch"/],
            ['relay', {kind: 'switch', on: 'yes'}, /true or false/],
            ['battery', {kind: 'sensor'}, /takes no command/],
            ['nothing', {kind: 'switch', on: true}, /no feature "nothing"/],
            ['relay', [1, 2], /JSON object/],
        ];
        const before = fake.commands.length;
        for (const [feature, body, reason] of cases) {
            const answer = await call('POST', `/api/devices/${deviceId}/features/${feature}`, JSON.stringify(body));
            expect(answer.status, JSON.stringify(body)).toBe(422);
            expect(answer.json.error).toMatch(reason);
        }
        expect(fake.commands.length).toBe(before);
    });

    it('answers bad requests with a 4xx and a reason', async () => {
        const huge = JSON.stringify({kind: 'switch', on: true, padding: 'x'.repeat(100_000)});
        const cases: [string, string, string | undefined, number, RegExp, string?][] = [
            ['POST', `/api/devices/${deviceId}/features/relay`, '{"kind": "switch", ', 400, /not valid JSON/],
            ['POST', `/api/devices/${deviceId}/features/relay`, '{"kind":"switch","on":true}', 415, /application\/json/, 'text/plain'],
            ['POST', `/api/devices/${deviceId}/features/relay`, huge, 413, /larger than/],
            ['GET', '/api/devices/nobody', undefined, 404, /unknown device nobody/],
            ['GET', '/api/devices/%E0%A4%A', undefined, 400, /malformed URL/],
            ['GET', '/api/whatever', undefined, 404, /no such endpoint/],
            ['POST', '/api/devices', '{}', 405, /only GET/],
            ['PUT', `/api/devices/${deviceId}/name`, '{"name": ""}', 400, /1 to 64 characters/],
            ['PUT', `/api/devices/${deviceId}/name`, '"Kitchen"', 400, /1 to 64 characters/],
            ['GET', '/api/dns?format=bind&address=192.168.1.2', undefined, 400, /format must be one of/],
            ['GET', '/api/dns?format=dnsmasq&address=192.168.1', undefined, 400, /IPv4 address/],
            ['GET', '/api/dns?format=hosts&address=192.168.1.2&family=nobody', undefined, 400, /unknown family/],
        ];
        for (const [method, path, body, status, reason, contentType] of cases) {
            const answer = await call(method, path, body, contentType);
            expect(answer.status, `${method} ${path}`).toBe(status);
            expect(answer.json.error, `${method} ${path}`).toMatch(reason);
        }
        // The server is still there.
        expect((await call('GET', '/api/health')).status).toBe(200);
    });

    it('reports what the device edge held back (floods, unanswered hellos) in the health', async () => {
        expect((await call('GET', '/api/health')).json).toMatchObject({flood: {dropped: 0, flooding: 0}, hellosUnanswered: 0});
    });

    it('renames a device; the adapter describing it again keeps the user\'s name', async () => {
        const answer = await call('PUT', `/api/devices/${deviceId}/name`, JSON.stringify({name: '  Kitchen sink  '}));
        expect(answer.status).toBe(200);
        expect(bridge.registry.get(deviceId)!.facts.name).toBe('Kitchen sink');
        const device = bridge.registry.get(deviceId)!;
        bridge.registry.upsert({id: deviceId, family: device.family, facts: {...device.facts, name: 'Fake api01', firmware: '2.0'}, features: device.features});
        expect(bridge.registry.get(deviceId)!.facts).toMatchObject({name: 'Kitchen sink', firmware: '2.0'});
    });

    it('serves the page with a <base> for the ingress path, ignoring one that is not a path', async () => {
        const page = async (ingressPath?: string): Promise<Response> => fetch(`${base}/`, {headers: ingressPath ? {'X-Ingress-Path': ingressPath} : {}});
        const ingress = await (await page('/api/hassio_ingress/abc123')).text();
        expect(ingress).toContain('<base href="/api/hassio_ingress/abc123/">');
        const hostile = await (await page('"><script>alert(1)</script>')).text();
        expect(hostile).not.toContain('<base');
        expect(hostile).not.toContain('alert');
        const plain = await page();
        expect(plain.headers.get('content-security-policy')).toMatch(/script-src 'self' 'sha256-/);
        for (const file of ['/app.js', '/style.css', '/vendor/preact.mjs', '/vendor/hooks.mjs', '/vendor/htm.mjs', '/translations.json']) {
            expect((await fetch(`${base}${file}`)).status, file).toBe(200);
        }
        expect((await fetch(`${base}/../package.json`)).status).toBe(404);
        expect((await fetch(`${base}/vendor/../../src/web/index.ts`)).status).toBe(404);
    });

    it('pushes a snapshot and then every change over the WebSocket; refuses another site\'s page', async () => {
        const socket = new WebSocket(`${base.replace('http', 'ws')}/ws`);
        const messages: {type: string; [key: string]: unknown}[] = [];
        socket.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString()) as {type: string}));
        await waitFor(() => messages.length > 0, 3000, 'snapshot');
        expect(messages[0]).toMatchObject({type: 'snapshot', devices: [{id: deviceId}], health: {homeAssistant: {connected: true}}});
        expect(JSON.stringify(messages[0])).not.toContain(SECRET);
        await call('POST', `/api/devices/${deviceId}/features/mode`, JSON.stringify({kind: 'select', option: 'normal'}));
        await waitFor(() => messages.some((message) => message.type === 'state' && (message.state as Record<string, unknown>).mode === 'normal'), 3000, 'state pushed');
        socket.close();

        const foreign = new WebSocket(`${base.replace('http', 'ws')}/ws`, {headers: {Origin: 'http://evil.example'}});
        const refused = await new Promise<string>((resolve) => {
            foreign.on('unexpected-response', (_request, response) => resolve(String(response.statusCode)));
            foreign.on('open', () => resolve('open'));
            foreign.on('error', () => resolve('error'));
        });
        expect(refused).toBe('403');
    });

    it("serves a device's decoded messages masked, and pushes new ones to the page that watches it", async () => {
        bridge.registry.noteTraffic(deviceId, 'in', {method: 'props', params: {power: 'on', token: SECRET}});
        const recent = await call('GET', `/api/devices/${deviceId}/messages`);
        expect(recent.status).toBe(200);
        expect(recent.json).toEqual([expect.objectContaining({deviceId, direction: 'in', summary: '{"method":"props","params":{"power":"on","token":"***"}}'})]);
        expect(recent.text).not.toContain(SECRET);

        const socket = new WebSocket(`${base.replace('http', 'ws')}/ws`);
        const messages: {type: string; [key: string]: unknown}[] = [];
        socket.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString()) as {type: string}));
        await waitFor(() => messages.length > 0, 3000, 'snapshot');
        socket.send(JSON.stringify({watch: deviceId}));
        await waitFor(() => messages.find((message) => message.type === 'traffic' && message.replace === true), 3000, 'the recent messages');
        socket.send('not json');
        // Another device's message first: had it been pushed, it would arrive before the watched one.
        bridge.registry.noteTraffic(fake.addDevice('api02'), 'out', {method: 'not watched'});
        bridge.registry.noteTraffic(deviceId, 'out', {method: 'set_power', params: ['off']});
        const live = await waitFor(() => messages.find((message) => message.type === 'traffic' && !message.replace), 3000, 'the new message');
        expect(live).toMatchObject({deviceId, entries: [{direction: 'out', summary: '{"method":"set_power","params":["off"]}'}]});
        expect(JSON.stringify(messages)).not.toContain('not watched');
        socket.close();
    });

    it('removes an offline device, and refuses to remove one that is connected', async () => {
        const refused = await call('DELETE', `/api/devices/${deviceId}`);
        expect(refused.status).toBe(409);
        expect(refused.json.error).toMatch(/is connected/);
        bridge.registry.updateLink(deviceId, {online: false});
        const removed = await call('DELETE', `/api/devices/${deviceId}`);
        expect(removed.status).toBe(200);
        expect(bridge.registry.has(deviceId)).toBe(false);
    });

    it('downloads the data directory as one archive, the device and its secret in its registry', async () => {
        const kept = fake.addDevice('backup01');
        bridge.registry.setSecret(kept, 'token', SECRET);
        const response = await fetch(`${base}/api/backup`);
        expect(response.status).toBe(200);
        expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="fogbridge-backup-\d{4}-\d{2}-\d{2}\.tar\.gz"$/);
        expect(response.headers.get('cache-control')).toBe('no-store');
        const files = new Map<string, string>();
        await pipeline(
            Readable.fromWeb(response.body! as never),
            new tar.Parser({
                onReadEntry: (entry) => {
                    let text = '';
                    entry.on('data', (chunk: Buffer) => (text += chunk.toString()));
                    entry.on('end', () => files.set(path.normalize(entry.path), text));
                },
            }),
        );
        expect(files.get('registry.json')).toContain(kept);
        expect(files.get('registry.json')).toContain(SECRET);
        expect([...files.keys()].filter((file) => file.endsWith('.lock'))).toEqual([]);
        expect((await call('POST', '/api/backup')).status).toBe(405);
    });

    it('offers no CA certificate while no family needs TLS', async () => {
        expect((await call('GET', '/api/onboarding')).json).toMatchObject({caCertificate: false});
        const answer = await call('GET', '/api/ca.crt');
        expect(answer.status).toBe(404);
        expect(answer.json.error).toMatch(/no CA yet/);
    });
});

describe('onboarding with a family on the device edge', () => {
    let bridge: TestBridge;
    let base: string;

    beforeAll(async () => {
        const port = await freePort();
        bridge = await startTestBridge({families: [ecovacsFamily, rainmakerFamily], settings: {web: {enabled: true, port}}});
        base = `http://127.0.0.1:${port}`;
    });

    afterAll(async () => {
        await bridge?.dispose();
    });

    it('downloads the CA certificate, its public part only', async () => {
        expect(await (await fetch(`${base}/api/onboarding`)).json()).toMatchObject({caCertificate: true});
        const response = await fetch(`${base}/api/ca.crt`);
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toBe('application/x-pem-file');
        expect(response.headers.get('content-disposition')).toBe('attachment; filename="fogbridge-ca.crt"');
        const pem = await response.text();
        expect(pem).toBe(readFileSync(caFiles(bridge.dataDir).certFile, 'utf8'));
        expect(pem).toMatch(/^-----BEGIN CERTIFICATE-----/);
        expect(pem).not.toMatch(/PRIVATE KEY/);
        expect(new X509Certificate(pem).ca).toBe(true);
        expect((await fetch(`${base}/api/ca.crt`, {method: 'POST'})).status).toBe(405);
    });

    it('gives the values for Home Assistant\'s own Ecovacs integration in self-hosted mode, with the address filled in', async () => {
        const {settings} = bridge;
        const answer = await fetch(`${base}/api/notes?address=192.168.1.2&family=ecovacs`);
        expect(answer.status).toBe(200);
        expect(await answer.json()).toEqual([
            {family: 'ecovacs', label: 'onboarding.note.ecovacs.restUrl', value: `http://192.168.1.2:${settings.ecovacs.restPort}`},
            {family: 'ecovacs', label: 'onboarding.note.ecovacs.mqttUrl', value: `mqtts://192.168.1.2:${settings.edge.mqttTlsPort}`},
            {family: 'ecovacs', label: 'onboarding.note.ecovacs.verifyMqttCertificate', value: false},
        ]);
        expect(await (await fetch(`${base}/api/onboarding`)).json()).toMatchObject({families: expect.arrayContaining(['ecovacs'])});
        expect((await fetch(`${base}/api/notes?address=192.168.1`)).status).toBe(400);
        expect((await fetch(`${base}/api/notes?address=192.168.1.2&family=nobody`)).status).toBe(400);
    });

    it('approves a RainMaker MAC for self-claiming, as `fogbridge rainmaker approve` does, and says why it refuses one', async () => {
        const post = async (path: string, body: unknown): Promise<{status: number; json: Record<string, unknown>}> => {
            const response = await fetch(`${base}/api/${path}`, {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
            return {status: response.status, json: (await response.json()) as Record<string, unknown>};
        };
        expect(await (await fetch(`${base}/api/onboarding`)).json()).toMatchObject({
            actions: [
                {family: 'rainmaker', id: 'approveMac', fields: [{id: 'mac', secret: false}]},
                {family: 'rainmaker', id: 'claimNode', fields: [{id: 'claimMac', secret: false}]},
            ],
        });

        const refused = await post('actions/rainmaker/approveMac', {mac: '7C:DF:A1'});
        expect(refused).toMatchObject({status: 422, json: {error: expect.stringMatching(/not a MAC address/)}});
        expect(await post('actions/rainmaker/approveMac', {})).toMatchObject({status: 422, json: {error: 'mac is missing'}});
        expect(await post('actions/rainmaker/forgetEverything', {mac: '7C:DF:A1:B2:C3:D4'})).toMatchObject({status: 422, json: {error: expect.stringMatching(/no onboarding action "forgetEverything"/)}});
        expect((await readClaimIndex(bridge.dataDir)).approved).toEqual({});

        const approved = await post('actions/rainmaker/approveMac', {mac: '7c:df:a1:b2:c3:d4'});
        expect(approved).toEqual({status: 200, json: {done: 'MAC 7CDFA1B2C3D4 may now claim itself; its node id will be 7CDFA1B2C3D4'}});
        expect(Object.keys((await readClaimIndex(bridge.dataDir)).approved)).toEqual(['7CDFA1B2C3D4']);
        expect((await fetch(`${base}/api/actions/rainmaker/approveMac`)).status).toBe(405);
    });

    it("claims a RainMaker node and serves its factory files on request only, its private key never logged", async () => {
        const logged: string[] = [];
        const level = getLogLevel();
        setLogLevel('debug');
        const unsubscribe = subscribeToLog((line) => logged.push(line.message));
        try {
            const files = async (): Promise<unknown> => ((await (await fetch(`${base}/api/onboarding`)).json()) as {files: unknown}).files;
            expect(await files()).toEqual([{family: 'rainmaker', id: 'factoryFiles', items: []}]);
            const claimed = await fetch(`${base}/api/actions/rainmaker/claimNode`, {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({claimMac: '7c:df:a1:00:00:02'})});
            expect(claimed.status).toBe(200);
            expect(await files()).toEqual([{family: 'rainmaker', id: 'factoryFiles', items: ['7CDFA1000002']}]);

            const download = await fetch(`${base}/api/files/rainmaker/factoryFiles/7CDFA1000002`);
            expect(download.status).toBe(200);
            expect(download.headers.get('content-disposition')).toBe('attachment; filename="rainmaker-7CDFA1000002-factory.tar.gz"');
            expect(download.headers.get('cache-control')).toBe('no-store');
            const archive = Buffer.from(await download.arrayBuffer());
            expect(gunzipSync(archive).toString('latin1')).toContain('-----BEGIN PRIVATE KEY-----');

            // Approved for self-claiming only: the node makes its own key, there is nothing to download.
            for (const item of ['7CDFA1B2C3D4', '..', '..%2F..%2Ftls', 'nobody']) expect((await fetch(`${base}/api/files/rainmaker/factoryFiles/${item}`)).status, item).toBe(404);
            expect((await fetch(`${base}/api/files/rainmaker/nothing/7CDFA1000002`)).status).toBe(404);
            expect((await fetch(`${base}/api/files/rainmaker/factoryFiles/7CDFA1000002`, {method: 'POST'})).status).toBe(405);

            const key = readFileSync(path.join(bridge.dataDir, 'rainmaker', 'nodes', '7CDFA1000002', 'node.key'), 'utf8');
            const keyBody = key.split('\n')[1]!;
            expect(logged.some((line) => line.includes('7CDFA1000002 downloaded'))).toBe(true);
            expect(logged.join('\n')).not.toContain(keyBody);
        } finally {
            unsubscribe();
            setLogLevel(level);
        }
    });

    it('refuses to approve a MAC while the self-claim service is off', async () => {
        const section = {...bridge.settings.rainmaker, claimPort: null};
        await expect(approveMacAction(section, {dataDir: bridge.dataDir}).run({mac: '7CDFA1B2C3D5'})).rejects.toThrow(SetupRefused);
        expect((await readClaimIndex(bridge.dataDir)).approved).not.toHaveProperty('7CDFA1B2C3D5');
    });
});

describe('ingress only', () => {
    it('lets only the ingress proxy and loopback in', () => {
        for (const address of ['172.30.32.2', '::ffff:172.30.32.2', '127.0.0.1', '::1', '::ffff:127.0.0.1']) expect(isAllowedPeer(address, true), address).toBe(true);
        for (const address of ['172.30.32.1', '192.168.1.20', '::ffff:10.0.0.2', undefined]) expect(isAllowedPeer(address, true), String(address)).toBe(false);
        expect(isAllowedPeer('192.168.1.20', false)).toBe(true);
    });
});
