/**
 * Ecovacs XMPP bots end to end: simulated bots ask the bridge's real `lookup.do` on the plain REST
 * port, take STARTTLS on the family's XMPP server, and reach a real Mosquitto and a client that
 * behaves like Home Assistant as the same vacuum as an MQTT bot; a formerly bound bot (errno 103)
 * obeys once fogbridge has sent `AddUser` and `SetAC` as its admin.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {ecovacsDeviceId} from '../../src/families/ecovacs/adapter.js';
import {ecovacsFamily} from '../../src/families/ecovacs/index.js';
import {startXmppBots, type XmppBots} from '../../src/simulate/ecovacs-xmpp.js';
import {type TestBridge, startTestBridge} from '../support/bridge.js';
import {HaTestClient} from '../support/ha-client.js';
import {type MosquittoInstance, startMosquitto} from '../support/mosquitto.js';

const vacuumState = (state: Record<string, unknown>) => (state.vacuum as {state?: string} | undefined)?.state;

describe('Ecovacs XMPP bots end to end', () => {
    let mosquitto: MosquittoInstance;
    let bridge: TestBridge;
    let ha: HaTestClient;
    let bots: XmppBots;
    let formerlyBound: XmppBots | undefined;
    let lookupUrl: string;

    beforeAll(async () => {
        mosquitto = await startMosquitto();
        bridge = await startTestBridge({families: [ecovacsFamily], haUrl: mosquitto.url});
        ha = await HaTestClient.connect(mosquitto.url);
        lookupUrl = `http://127.0.0.1:${bridge.settings.ecovacs.restPort!}/lookup.do`;
        bots = await startXmppBots({lookupUrl, count: 1, cls: '126', startTls: true, tickMs: 100});
    });

    afterAll(async () => {
        await formerlyBound?.stop();
        await bots?.stop();
        await ha?.close();
        await bridge?.dispose();
        await mosquitto?.stop();
    });

    it('announces the bot found through lookup.do as a valid vacuum with the XML fan speeds, online and docked', async () => {
        const id = ecovacsDeviceId(bots.bots[0]!.did);
        const discovery = await ha.waitForDiscovery(id);
        const vacuum = Object.values(discovery.cmps).find((component) => component.p === 'vacuum');
        expect(vacuum?.fan_speed_list).toEqual(['standard', 'strong']);
        await ha.waitForAvailability(id, 'online');
        await ha.waitForState(id, (state) => vacuumState(state) === 'docked' && state.battery === 80);
        ha.assertDiscoveryValid();
    });

    it('says on the map status sensor that its map is not supported over XMPP, and offers no map picture', async () => {
        const id = ecovacsDeviceId(bots.bots[0]!.did);
        const discovery = await ha.waitForDiscovery(id);
        expect(Object.keys(discovery.cmps)).toContain('map_status');
        expect(Object.values(discovery.cmps).map((component) => component.p)).not.toContain('image');
        await ha.waitForState(id, (state) => state.map_status === 'not_supported_over_xmpp');
    });

    it('starts cleaning from Home Assistant; the bot\'s pushes move the state and drain the battery', async () => {
        const bot = bots.bots[0]!;
        const id = ecovacsDeviceId(bot.did);
        const before = bot.battery;
        const since = Date.now();
        await ha.command(id, 'vacuum', 'start');
        await ha.waitForState(id, (state) => vacuumState(state) === 'cleaning', {since});
        expect(bot.received).toContain('Clean');
        // Only the bot's BatteryInfo pushes can say this within seconds: the battery poll is once a minute.
        await ha.waitForState(id, (state) => typeof state.battery === 'number' && state.battery < before, {since});
    });

    it('returns to the dock from Home Assistant', async () => {
        const bot = bots.bots[0]!;
        const id = ecovacsDeviceId(bot.did);
        const since = Date.now();
        await ha.command(id, 'vacuum', 'return_to_base');
        await ha.waitForState(id, (state) => vacuumState(state) === 'docked', {since});
        expect(bot.received).toContain('Charge');
    });

    it('a formerly bound bot (errno 103) obeys after fogbridge\'s AddUser and SetAC: its state reaches Home Assistant', async () => {
        formerlyBound = await startXmppBots({lookupUrl, count: 1, firstSerial: 3001, cls: '159', startTls: true, formerAdmin: 'realowner@ecouser.net', tickMs: 100});
        const bot = formerlyBound.bots[0]!;
        const id = ecovacsDeviceId(bot.did);
        await ha.waitForAvailability(id, 'online');
        await ha.waitForState(id, (state) => state.main_brush_left === 95 && typeof state.battery === 'number');
        expect(bot.received).toEqual(expect.arrayContaining(['AddUser', 'SetAC']));
        const since = Date.now();
        await ha.command(id, 'vacuum', 'start');
        await ha.waitForState(id, (state) => vacuumState(state) === 'cleaning', {since});
        ha.assertDiscoveryValid();
    });

    it('turns a bot unavailable when it stops', async () => {
        const id = ecovacsDeviceId(bots.bots[0]!.did);
        const since = Date.now();
        await bots.stop();
        await ha.waitForAvailability(id, 'offline', {since});
    });

    // Last: it stops the bridge.
    it('a stop shows the bots still connected offline, so the next start does not show them online for a moment', async () => {
        const id = ecovacsDeviceId(formerlyBound!.bots[0]!.did);
        await ha.waitForAvailability(id, 'online');
        const since = Date.now();
        await bridge.dispose();
        await ha.waitForAvailability(id, 'offline', {since, timeoutMs: 5000});
    });
});
