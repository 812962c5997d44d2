import net from 'node:net';

import {afterEach, describe, expect, it, vi} from 'vitest';

import {ecovacsFamily} from '../../src/families/ecovacs/index.js';
import {type TestBridge, startTestBridge} from '../support/bridge.js';
import {freePort} from '../support/net.js';

/** The notes the web UI's onboarding page shows for Home Assistant's Ecovacs integration. */
async function notes(webPort: number): Promise<{label: string; value: string | boolean}[]> {
    const answer = await fetch(`http://127.0.0.1:${webPort}/api/notes?address=192.168.1.2&family=ecovacs`);
    expect(answer.status).toBe(200);
    return (await answer.json()) as {label: string; value: string | boolean}[];
}

describe('Ecovacs onboarding notes', () => {
    let bridge: TestBridge | null = null;
    afterEach(async () => {
        vi.restoreAllMocks();
        await bridge?.dispose();
        bridge = null;
    });

    it('give the MQTT port the edge bound: its fallback when the configured port was refused', async () => {
        const [webPort, refusedPort, fallbackPort] = [await freePort(), await freePort(), await freePort()];
        // As for a user without the right to bind 8883: tests may run as root, where every port binds.
        const listen = net.Server.prototype.listen;
        vi.spyOn(net.Server.prototype, 'listen').mockImplementation(function (this: net.Server, ...args: unknown[]) {
            if (args[0] !== refusedPort) return Reflect.apply(listen, this, args) as net.Server;
            process.nextTick(() => this.emit('error', Object.assign(new Error('listen EACCES'), {code: 'EACCES'})));
            return this;
        });
        bridge = await startTestBridge({
            families: [ecovacsFamily],
            settings: {web: {enabled: true, port: webPort}, edge: {mqttTlsPort: refusedPort, mqttTlsFallbackPort: fallbackPort}},
        });
        expect(await notes(webPort)).toEqual([
            {label: 'onboarding.note.ecovacs.restUrl', value: `http://192.168.1.2:${bridge.settings.ecovacs.restPort}`},
            {label: 'onboarding.note.ecovacs.mqttUrl', value: `mqtts://192.168.1.2:${fallbackPort}`},
            {label: 'onboarding.note.ecovacs.verifyMqttCertificate', value: false},
        ].map((note) => ({family: 'ecovacs', ...note})));
    });

    it('leave out a listener that is off', async () => {
        const webPort = await freePort();
        bridge = await startTestBridge({families: [ecovacsFamily], settings: {web: {enabled: true, port: webPort}, ecovacs: {restPort: null}, edge: {mqttTlsPort: null}}});
        expect(await notes(webPort)).toEqual([{family: 'ecovacs', label: 'onboarding.note.ecovacs.verifyMqttCertificate', value: false}]);
    });
});
