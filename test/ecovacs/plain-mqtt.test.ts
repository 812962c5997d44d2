/**
 * The opt-in plain device MQTT port (`edge.mqttPlainPort`): an Ecovacs bot that speaks plain MQTT
 * comes online in Home Assistant through it, a client claiming to be a RainMaker node is refused
 * there (RainMaker requires a client certificate), and the port stays closed unless set.
 */
import mqtt from 'mqtt';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {ecovacsDeviceId} from '../../src/families/ecovacs/adapter.js';
import {ecovacsFamily} from '../../src/families/ecovacs/index.js';
import {rainmakerFamily} from '../../src/families/rainmaker/index.js';
import {type EcovacsBots, startEcovacsBots} from '../../src/simulate/ecovacs.js';
import {type TestBridge, startTestBridge} from '../support/bridge.js';
import {HaTestClient} from '../support/ha-client.js';
import {freePort} from '../support/net.js';

describe('plain device MQTT', () => {
    let bridge: TestBridge;
    let ha: HaTestClient;
    let bots: EcovacsBots;

    beforeAll(async () => {
        bridge = await startTestBridge({families: [ecovacsFamily, rainmakerFamily], settings: {edge: {mqttPlainPort: await freePort()}, ecovacs: {maps: {enabled: false}}}});
        ha = await HaTestClient.connect(bridge.haUrl);
        bots = await startEcovacsBots({url: `mqtt://127.0.0.1:${bridge.settings.edge.mqttPlainPort!}`, count: 1, tickMs: 200});
    });

    afterAll(async () => {
        await bots?.stop();
        await ha?.close();
        await bridge?.dispose();
    });

    it('brings an Ecovacs bot online in Home Assistant', async () => {
        const id = ecovacsDeviceId(bots.bots[0]!.endpoint.id);
        await ha.waitForDiscovery(id);
        await ha.waitForAvailability(id, 'online');
    });

    it('refuses a RainMaker node id without a certificate', async () => {
        const attempt = mqtt.connectAsync(`mqtt://127.0.0.1:${bridge.settings.edge.mqttPlainPort!}`, {clientId: '7CDFA1000101', reconnectPeriod: 0, connectTimeout: 5000});
        await expect(attempt).rejects.toThrow(/Not authorized|Bad username or password|refused/i);
    });
});

describe('plain device MQTT by default', () => {
    it('is off unless set', async () => {
        const bridge = await startTestBridge({families: [ecovacsFamily], settings: {ecovacs: {maps: {enabled: false}}}});
        try {
            expect(bridge.settings.edge.mqttPlainPort).toBeNull();
        } finally {
            await bridge.dispose();
        }
    });
});
