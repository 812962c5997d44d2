/**
 * The family's service with its XMPP server, simulated XMPP bots that find it through `lookup.do`,
 * and a real third-party XMPP client (@xmpp/client) playing the app with the JIDs and PLAIN payload
 * of §3.2: commands relayed both ways, pushes reaching the app, the adapter following the bot, and
 * a formerly bound bot obeying after fogbridge's `AddUser`.
 */
import {mkdtempSync} from 'node:fs';
import http from 'node:http';
import {tmpdir} from 'node:os';
import path from 'node:path';

import {client, type Element, xml, type XmppClient} from '@xmpp/client';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {EventBus} from '../../src/core/bus.js';
import type {VacuumState} from '../../src/core/device.js';
import {DeviceRegistry} from '../../src/core/registry.js';
import {CommandRouter} from '../../src/core/router.js';
import {ecovacsDeviceId} from '../../src/families/ecovacs/adapter.js';
import {EcovacsService} from '../../src/families/ecovacs/service.js';
import {ecovacsSettingsSchema} from '../../src/families/ecovacs/settings.js';
import {startXmppBots, type XmppBots} from '../../src/simulate/ecovacs-xmpp.js';
import {freePort, waitFor} from '../support/net.js';

let service: EcovacsService;
let registry: DeviceRegistry;
let router: CommandRouter;
let lookupServer: http.Server;
let lookupUrl: string;
let bots: XmppBots;
let formerlyBound: XmppBots;
let app: XmppClient;
const appReceived: Element[] = [];

beforeAll(async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'fogbridge-ecovacs-xmpp-'));
    registry = new DeviceRegistry({file: path.join(dataDir, 'registry.json'), bus: new EventBus()});
    await registry.load();
    router = new CommandRouter(registry);
    const settings = ecovacsSettingsSchema.parse({xmppHost: '127.0.0.1', xmppPort: await freePort(), advertiseAddress: '127.0.0.1', relayTimeoutMs: 2000});
    service = new EcovacsService({settings, registry, router, dataDir}, {publish: () => {}});
    await service.start();
    // The edge's plain HTTP port stands in as a bare http server over the same REST table.
    lookupServer = http.createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
            const url = new URL(request.url ?? '/', 'http://localhost');
            void service
                .handleHttp({method: request.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: request.headers, body: Buffer.concat(chunks)})
                .then((answer) => response.writeHead(answer.status, answer.headers).end(answer.body));
        });
    });
    await new Promise<void>((resolve) => lookupServer.listen(0, '127.0.0.1', resolve));
    lookupUrl = `http://127.0.0.1:${(lookupServer.address() as {port: number}).port}/lookup.do`;
    bots = await startXmppBots({lookupUrl, count: 1, tickMs: 60_000});
    // The server offers no STARTTLS here (the app would check our certificate); @xmpp/client takes PLAIN over clear text only when told to.
    app = client({
        service: `xmpp://127.0.0.1:${settings.xmppPort}`,
        domain: 'ecouser.net',
        resource: 'IOSF53D07BA',
        credentials: (authenticate) => authenticate({username: 'fuid_tmpuser', password: '0/IOSF53D07BA/us_898802fd'}, 'PLAIN'),
    });
    app.on('stanza', (stanza: Element) => appReceived.push(stanza));
    app.on('error', () => {});
    await app.start();
});

afterAll(async () => {
    await app?.stop().catch(() => {});
    await bots?.stop();
    await formerlyBound?.stop();
    await service?.stop();
    await new Promise((resolve) => lookupServer?.close(resolve));
});

const vacuum = (did: string) => registry.get(ecovacsDeviceId(did))?.state.vacuum as VacuumState | undefined;
const cleanIq = (id: string, to: string) =>
    xml('iq', {type: 'set', id, to}, xml('query', {xmlns: 'com:ctl'}, xml('ctl', {td: 'Clean', id: '72107787'}, xml('clean', {type: 'auto', speed: 'standard'}))));

describe('XMPP bots through the family service', () => {
    it('a bot that looked up and logged in is read into the normalised vacuum', async () => {
        const bot = bots.bots[0]!;
        await waitFor(() => registry.get(ecovacsDeviceId(bot.did))?.state.main_brush_left !== undefined, 5000, 'the consumables');
        const device = registry.get(ecovacsDeviceId(bot.did))!;
        expect(device.link.online).toBe(true);
        expect(device.features.find((feature) => feature.id === 'vacuum')).toMatchObject({fanSpeeds: ['standard', 'strong']});
        expect(device.features.map((feature) => feature.id)).toEqual(expect.arrayContaining(['battery', 'charging', 'error', 'main_brush_reset', 'side_brush_left', 'filter_left', 'event']));
        expect(device.state).toMatchObject({battery: 80, charging: true, vacuum: {activity: 'docked', fanSpeed: 'standard'}, main_brush_left: 95, side_brush_left: 60, filter_left: 40, error: 'none'});
    });

    it('relays the app\'s Clean to the bot and its CleanReport push back to the app', async () => {
        const bot = bots.bots[0]!;
        await app.send(cleanIq('7', bot.jid));
        await waitFor(() => appReceived.some((stanza) => stanza.attrs.id === '7' && stanza.attrs.type === 'result'), 5000, 'the reply to Clean');
        const report = await waitFor(() => appReceived.find((stanza) => stanza.getChild('query', 'com:ctl')?.getChild('ctl')?.attrs.td === 'CleanReport'), 5000, 'the CleanReport push');
        expect(report.attrs.from).toBe(bot.jid);
        expect(report.getChild('query', 'com:ctl')!.getChild('ctl')!.getChild('clean')!.attrs).toMatchObject({type: 'auto', st: 's'});
        expect(bot.phase).toBe('cleaning');
        // The adapter heard the push too.
        await waitFor(() => vacuum(bot.did)?.activity === 'cleaning', 5000, 'the vacuum cleaning');
    });

    it('turns HA commands into XML: fan speed, return to base, consumable reset', async () => {
        const bot = bots.bots[0]!;
        const id = ecovacsDeviceId(bot.did);
        await router.route(id, 'vacuum', {kind: 'vacuum', action: 'set_fan_speed', fanSpeed: 'strong'});
        await waitFor(() => vacuum(bot.did)?.fanSpeed === 'strong', 5000, 'fan speed strong');
        expect(bot.speed).toBe('strong');
        await router.route(id, 'vacuum', {kind: 'vacuum', action: 'return_to_base'});
        expect(bot.phase).toBe('returning');
        await waitFor(() => vacuum(bot.did)?.activity === 'returning', 5000, 'returning');
        await router.route(id, 'filter_reset', {kind: 'button', action: 'press'});
        await waitFor(() => registry.get(id)?.state.filter_left === 100, 5000, 'the filter reset');
        expect(bot.received).toEqual(expect.arrayContaining(['SetCleanSpeed', 'Charge', 'ResetLifeSpan']));
    });

    it('answers the app at once when the bot is offline', async () => {
        await app.send(cleanIq('8', 'E0000000000000000000@126.ecorobot.net/atom'));
        const error = await waitFor(() => appReceived.find((stanza) => stanza.attrs.id === '8'), 5000, 'the error');
        expect(error.attrs.type).toBe('error');
        expect(error.getChild('error')?.attrs.code).toBe('404');
    });

    it('a formerly bound bot (errno 103) obeys after fogbridge adds the user as its admin', async () => {
        formerlyBound = await startXmppBots({lookupUrl, count: 1, firstSerial: 3001, cls: '159', formerAdmin: 'realowner@ecouser.net', tickMs: 60_000});
        const bot = formerlyBound.bots[0]!;
        // Its own getters went through the 103 dance already: the state is there, every part of it.
        await waitFor(() => registry.get(ecovacsDeviceId(bot.did))?.state.main_brush_left === 95, 5000, 'the state of the formerly bound bot');
        expect(registry.get(ecovacsDeviceId(bot.did))!.state).toMatchObject({battery: 80, charging: true, error: 'none'});
        expect(bot.users.has('fogbridge@ecouser.net')).toBe(true);
        // The app is refused too, at first: fogbridge adds it and asks again, the app sees only the answer.
        await app.send(cleanIq('9', bot.jid));
        const reply = await waitFor(() => appReceived.find((stanza) => stanza.attrs.id === '9'), 5000, 'the reply to the app');
        expect(reply.getChild('query', 'com:ctl')?.getChild('ctl')?.attrs.ret).toBe('ok');
        expect(bot.users.has('fuid_tmpuser@ecouser.net')).toBe(true);
        expect(bot.phase).toBe('cleaning');
        expect(bot.received).toEqual(expect.arrayContaining(['AddUser', 'SetAC']));
    });
});
