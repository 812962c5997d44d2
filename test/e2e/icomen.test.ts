import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {icomenFamily} from '../../src/families/icomen/index.js';
import {type SimulatedIcomenPlug, startIcomenPlugs} from '../../src/simulate/icomen.js';
import {type TestBridge, startTestBridge} from '../support/bridge.js';
import {HaTestClient} from '../support/ha-client.js';
import {type MosquittoInstance, startMosquitto} from '../support/mosquitto.js';

/**
 * The foundation's acceptance test: simulated plug → bridge → real Mosquitto → a client that
 * behaves like Home Assistant, and back.
 */
describe('icomen plug end to end through Mosquitto', () => {
    let mosquitto: MosquittoInstance;
    let bridge: TestBridge;
    let ha: HaTestClient;
    let plug: SimulatedIcomenPlug;

    beforeAll(async () => {
        mosquitto = await startMosquitto();
        bridge = await startTestBridge({families: [icomenFamily], haUrl: mosquitto.url});
        ha = await HaTestClient.connect(mosquitto.url);
        const plugs = await startIcomenPlugs({count: 1, host: '127.0.0.1', port: bridge.settings.icomen.balancerPort, reconnectDelayMs: 60_000});
        plug = plugs[0]!;
    });
    afterAll(async () => {
        await plug?.stop();
        await ha?.close();
        await bridge?.dispose();
        await mosquitto?.stop();
    });

    it('discovers the plug, switches it from Home Assistant and follows its state', async () => {
        const id = `icomen-${plug.mac}`;
        const discovery = await ha.waitForDiscovery(id);
        expect(discovery.cmps.switch).toMatchObject({p: 'switch', command_topic: `fogbridge/${id}/switch/set`, device_class: 'outlet', name: null});
        expect(discovery.dev).toMatchObject({identifiers: [`fogbridge_${id}`]});
        await ha.waitForAvailability(id, 'online');
        await ha.waitForState(id, (state) => state.switch === 'OFF');

        await ha.command(id, 'switch', 'ON');
        await plug.waitForState(true);
        await ha.waitForState(id, (state) => state.switch === 'ON');

        // The button on the plug itself: the 0x06 report reaches Home Assistant too.
        plug.press();
        await ha.waitForState(id, (state) => state.switch === 'OFF');

        const since = Date.now();
        await ha.birth();
        await ha.waitForDiscovery(id, {since});
        await ha.waitForState(id, (state) => state.switch === 'OFF', {since});

        await plug.stop();
        await ha.waitForAvailability(id, 'offline', {since});
        ha.assertDiscoveryValid();
    });
});
