import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {icomenFamily} from '../../src/families/icomen/index.js';
import {type SimulatedIcomenPlug, startIcomenPlugs} from '../../src/simulate/icomen.js';
import {type TestBridge, startTestBridge} from '../support/bridge.js';
import {HaTestClient} from '../support/ha-client.js';
import {type MosquittoInstance, startMosquitto} from '../support/mosquitto.js';
import {quietLogger} from './harness.js';

/** Simulated plugs → the bridge's icomen listeners → a real Mosquitto → a client that behaves like HA. */
describe('icomen end to end', () => {
    let mosquitto: MosquittoInstance;
    let bridge: TestBridge;
    let ha: HaTestClient;
    let plugs: SimulatedIcomenPlug[] = [];

    beforeAll(async () => {
        mosquitto = await startMosquitto();
        bridge = await startTestBridge({families: [icomenFamily], haUrl: mosquitto.url, settings: {icomen: {compatTopics: true}}});
        ha = await HaTestClient.connect(mosquitto.url);
        await ha.client.subscribeAsync('icomen/#', {qos: 1});
        plugs = await startIcomenPlugs({count: 2, port: bridge.settings.icomen.balancerPort, logger: quietLogger()});
    });

    afterAll(async () => {
        await Promise.all(plugs.map((plug) => plug.stop()));
        await ha?.close();
        await bridge?.dispose();
        await mosquitto?.stop();
    });

    it('announces each plug as a valid outlet switch, online, with its state', async () => {
        for (const plug of plugs) {
            const id = `icomen-${plug.mac}`;
            const discovery = await ha.waitForDiscovery(id);
            const components = Object.values(discovery.cmps);
            expect(components).toHaveLength(1);
            expect(components[0]).toMatchObject({p: 'switch', device_class: 'outlet'});
            await ha.waitForAvailability(id, 'online');
            await ha.waitForState(id, (state) => state.switch === 'OFF');
        }
        ha.assertDiscoveryValid();
    });

    it('switches from a Home Assistant command, and from the button on the plug', async () => {
        const plug = plugs[0]!;
        const id = `icomen-${plug.mac}`;
        await ha.command(id, 'switch', 'ON');
        await plug.waitForState(true);
        await ha.waitForState(id, (state) => state.switch === 'ON');

        plug.press();
        await ha.waitForState(id, (state) => state.switch === 'OFF');
    });

    it('serves the legacy icomen-mqtt-bridge topics', async () => {
        const plug = plugs[1]!;
        const since = Date.now();
        await ha.publish(`icomen/cmnd/${plug.mac}/POWER`, 'ON');
        await plug.waitForState(true);
        await ha.waitFor((message) => message.topic === `icomen/stat/${plug.mac}/POWER` && message.payload === 'ON', {since, what: 'stat POWER ON'});
        await ha.waitFor((message) => message.topic === `icomen/raw/${plug.mac}/SEND` && /^01 40accf2300000110 00[0-9a-f]{4}c111715001 0000ffff04040404$/.test(message.payload), {
            since,
            what: 'the raw SEND of the POWER command',
        });
        // The state topic is retained: a client that subscribes later still gets it.
        const late = await HaTestClient.connect(mosquitto.url);
        try {
            await late.client.subscribeAsync(`icomen/stat/${plug.mac}/POWER`, {qos: 1});
            const retained = await late.waitFor((message) => message.topic === `icomen/stat/${plug.mac}/POWER`, {what: 'the retained stat'});
            expect([retained.payload, retained.retain]).toEqual(['ON', true]);
        } finally {
            await late.close();
        }
        await ha.waitForState(`icomen-${plug.mac}`, (state) => state.switch === 'ON');
    });

    it('re-publishes everything when Home Assistant comes online, and reports a stopped plug offline', async () => {
        const plug = plugs[0]!;
        const id = `icomen-${plug.mac}`;
        const since = Date.now();
        await ha.birth();
        await ha.waitForDiscovery(id, {since});
        await ha.waitForAvailability(id, 'online', {since});
        await ha.waitForState(id, (state) => state.switch === 'OFF', {since});

        await plug.stop();
        await ha.waitForAvailability(id, 'offline', {since});
        ha.assertDiscoveryValid();
    });
});
