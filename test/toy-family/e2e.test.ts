/**
 * A family from a folder of its own, registered in a test-local list and nowhere else, driven
 * end to end: a toy device on the device broker under the toy policy → valid discovery on a real
 * Mosquitto → an HA command reaching the device → its echo as state; the toy's HTTP route on the
 * shared TLS port and on its plain port; its TLS route chosen by SNI. RainMaker runs on the same
 * edge at the same time.
 */
import https from 'node:https';
import http from 'node:http';
import tls from 'node:tls';

import mqtt, {type MqttClient} from 'mqtt';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {loadOrCreateCa} from '../../src/edge/tls/ca.js';
import {ALL_FAMILIES} from '../../src/families/index.js';
import {type TestBridge, startTestBridge} from '../support/bridge.js';
import {HaTestClient} from '../support/ha-client.js';
import {type MosquittoInstance, startMosquitto} from '../support/mosquitto.js';
import {freePort} from '../support/net.js';
import {toyFamily} from './index.js';
import {TOY_TLS_GREETING} from './service.js';

const FAMILIES = [...ALL_FAMILIES, toyFamily];
const DEVICE_ID = 'toy-plug1';

function getText(url: string, options: https.RequestOptions = {}): Promise<{status: number; body: string}> {
    const client = url.startsWith('https:') ? https : http;
    return new Promise((resolve, reject) => {
        client
            .get(url, options, (response) => {
                let body = '';
                response.on('data', (chunk: Buffer) => (body += chunk.toString()));
                response.on('end', () => resolve({status: response.statusCode ?? 0, body}));
            })
            .on('error', reject);
    });
}

describe('a toy family from its own folder, end to end', () => {
    let mosquitto: MosquittoInstance;
    let bridge: TestBridge;
    let ha: HaTestClient;
    let device: MqttClient;
    let caPem: string;
    let toyHttpPort: number;
    const received: string[] = [];

    beforeAll(async () => {
        mosquitto = await startMosquitto();
        toyHttpPort = await freePort();
        bridge = await startTestBridge({
            families: FAMILIES,
            haUrl: mosquitto.url,
            // Ecovacs answers every path itself: off here, so that the router's own 404 shows.
            settings: {miio: {enabled: false}, icomen: {enabled: false}, ecovacs: {enabled: false}, toy: {httpPort: toyHttpPort}},
        });
        ha = await HaTestClient.connect(mosquitto.url);
        caPem = (await loadOrCreateCa(bridge.dataDir)).certPem;
        device = await mqtt.connectAsync({
            protocol: 'mqtts',
            host: '127.0.0.1',
            port: bridge.settings.edge.mqttTlsPort!,
            ca: caPem,
            clientId: 'toy-plug1',
            username: 'toy',
            password: 'toy-secret',
            reconnectPeriod: 0,
        });
        // The device echoes every command as its state, as a real switch reports what it did.
        device.on('message', (_topic, payload) => {
            received.push(payload.toString());
            device.publish('toy/plug1/state', payload.toString(), {qos: 1});
        });
        await device.subscribeAsync('toy/plug1/set', {qos: 1});
        await device.publishAsync('toy/plug1/state', 'OFF', {qos: 1});
    });

    afterAll(async () => {
        await device?.endAsync(true);
        await ha?.close();
        await bridge?.dispose();
        await mosquitto?.stop();
    });

    it('announces the toy device as a valid switch, online, with its state', async () => {
        const discovery = await ha.waitForDiscovery(DEVICE_ID);
        expect(Object.values(discovery.cmps).map((component) => component.p)).toEqual(['switch']);
        await ha.waitForAvailability(DEVICE_ID, 'online');
        await ha.waitForState(DEVICE_ID, (state) => state.switch === 'OFF');
        ha.assertDiscoveryValid();
    });

    it('takes an ON from Home Assistant to the device and its echo back as state', async () => {
        await ha.command(DEVICE_ID, 'switch', 'ON');
        await ha.waitForState(DEVICE_ID, (state) => state.switch === 'ON');
        expect(received).toEqual(['ON']);
    });

    it('answers its HTTP route on the shared TLS port and on its plain port, and 404 elsewhere', async () => {
        const tlsPort = bridge.settings.edge.tlsPort!;
        const overTls = await getText(`https://127.0.0.1:${tlsPort}/toy/hello`, {ca: caPem});
        expect(overTls).toEqual({status: 200, body: '{"hello":"toy"}'});
        const plain = await getText(`http://127.0.0.1:${toyHttpPort}/toy/hello`);
        expect(plain).toEqual({status: 200, body: '{"hello":"toy"}'});
        expect(await getText(`http://127.0.0.1:${toyHttpPort}/nothing/here`)).toEqual({status: 404, body: '{"error":"not found"}'});
    });

    it('chooses its TLS route by SNI, with a certificate that carries the toy\'s names', async () => {
        const answer = await new Promise<string>((resolve, reject) => {
            const socket = tls.connect({host: '127.0.0.1', port: bridge.settings.edge.tlsPort!, servername: 'device.toy.test', ca: caPem});
            let text = '';
            socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
            socket.on('end', () => resolve(text));
            socket.on('error', reject);
        });
        expect(answer).toBe(TOY_TLS_GREETING);
    });

    it('refuses a toy device with the wrong password', async () => {
        const error = await mqtt
            .connectAsync({protocol: 'mqtts', host: '127.0.0.1', port: bridge.settings.edge.mqttTlsPort!, ca: caPem, clientId: 'toy-plug2', username: 'toy', password: 'guess', reconnectPeriod: 0})
            .then(
                async (client) => {
                    await client.endAsync(true);
                    return null;
                },
                (failure: Error & {code?: number}) => failure,
            );
        expect(error?.code).toBe(5);
    });
});
