/**
 * Ecovacs end to end: simulated MQTT bots → the device edge (8883, and 443 by SNI) → the family →
 * a real Mosquitto → a client that behaves like Home Assistant; and 443 shared at once by an
 * Ecovacs bot (SNI), a RainMaker node (ALPN) and an HTTPS client (SNI `portal-eu.ecouser.net`).
 */
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {LABEL_COLOUR, ROBOT_COLOUR, roomColour} from '../../src/core/vacuum-map.js';

import {loadOrCreateCa} from '../../src/edge/tls/ca.js';
import {ecovacsDeviceId} from '../../src/families/ecovacs/adapter.js';
import {ecovacsFamily} from '../../src/families/ecovacs/index.js';
import {claimNode} from '../../src/families/rainmaker/claim.js';
import {RainmakerAdapter} from '../../src/families/rainmaker/adapter.js';
import {rainmakerFamily} from '../../src/families/rainmaker/index.js';
import {type EcovacsBots, SIMULATED_CHARGER, SIMULATED_ROOM_OUTLINES, startEcovacsBots} from '../../src/simulate/ecovacs.js';
import {startRainmakerNodes} from '../../src/simulate/rainmaker.js';
import {type TestBridge, startTestBridge} from '../support/bridge.js';
import {readSimulatedMapPicture} from '../support/ecovacs-map.js';
import {HaTestClient} from '../support/ha-client.js';
import {type MosquittoInstance, startMosquitto} from '../support/mosquitto.js';
import {waitFor} from '../support/net.js';

const RAINMAKER_HOST = 'rainmaker.fogbridge.test';

describe('Ecovacs end to end', () => {
    let mosquitto: MosquittoInstance;
    let bridge: TestBridge;
    let ha: HaTestClient;
    let bots: EcovacsBots;
    let caPem: string;

    beforeAll(async () => {
        mosquitto = await startMosquitto();
        bridge = await startTestBridge({families: [ecovacsFamily, rainmakerFamily], haUrl: mosquitto.url, settings: {rainmaker: {mqttHost: RAINMAKER_HOST}, ecovacs: {maps: {renderIntervalSeconds: 1, refreshIntervalSeconds: 2}}}});
        caPem = (await loadOrCreateCa(bridge.dataDir)).certPem;
        ha = await HaTestClient.connect(mosquitto.url);
        bots = await startEcovacsBots({url: `mqtts://127.0.0.1:${bridge.settings.edge.mqttTlsPort!}`, count: 1, tickMs: 100, ca: caPem, rejectUnauthorized: true, servername: 'mq-eu.ecouser.net'});
    });

    afterAll(async () => {
        await bots?.stop();
        await ha?.close();
        await bridge?.dispose();
        await mosquitto?.stop();
    });

    it('announces the bot as a valid vacuum, online and docked, with its battery', async () => {
        const id = ecovacsDeviceId(bots.bots[0]!.endpoint.id);
        const discovery = await ha.waitForDiscovery(id);
        expect(Object.values(discovery.cmps).map((component) => component.p)).toContain('vacuum');
        await ha.waitForAvailability(id, 'online');
        await ha.waitForState(id, (state) => (state.vacuum as {state?: string} | undefined)?.state === 'docked' && typeof state.battery === 'number');
        ha.assertDiscoveryValid();
    });

    it('draws the bot\'s map on the image entity: its rooms in their colours, the robot on its dock', async () => {
        const id = ecovacsDeviceId(bots.bots[0]!.endpoint.id);
        const imageTopic = `${ha.baseTopic}/${id}/map/image`;
        const message = await ha.waitFor((candidate) => candidate.topic === imageTopic && candidate.payload.length > 0, {what: 'the map picture'});
        await ha.waitForState(id, (state) => state.map_status === 'ok');
        const picture = readSimulatedMapPicture(message.payload);
        expect(picture.colourAt({x: -2500, y: -1500})).toEqual(roomColour(1));
        expect(picture.colourAt({x: 1500, y: -1500})).toEqual(roomColour(2));
        expect(picture.colourAt({x: 1500, y: 500})).toEqual(roomColour(3));
        expect(picture.colourAt(SIMULATED_CHARGER)).toEqual(ROBOT_COLOUR);
        // The rooms carry their names: label pixels over each room's rectangle.
        for (const outline of Object.values(SIMULATED_ROOM_OUTLINES)) expect(picture.colourWithin(outline, LABEL_COLOUR)).toBe(true);
        expect(bots.bots[0]!.received).toEqual(expect.arrayContaining(['getMajorMap', 'getMinorMap', 'getMapSubSet', 'getPos', 'getMapTrace']));
    });

    it('starts cleaning from Home Assistant; the bot\'s atr pushes move the state and drain the battery', async () => {
        const bot = bots.bots[0]!;
        const id = ecovacsDeviceId(bot.endpoint.id);
        const before = bot.battery;
        const since = Date.now();
        await ha.command(id, 'vacuum', 'start');
        await ha.waitForState(id, (state) => (state.vacuum as {state?: string}).state === 'cleaning', {since});
        expect(bot.received).toContain('clean');
        // Only the bot's onBattery pushes can say this within seconds: the battery poll is once a minute.
        await ha.waitForState(id, (state) => typeof state.battery === 'number' && state.battery < before, {since});
    });

    it('returns to the dock from Home Assistant', async () => {
        const id = ecovacsDeviceId(bots.bots[0]!.endpoint.id);
        const since = Date.now();
        await ha.command(id, 'vacuum', 'return_to_base');
        await ha.waitForState(id, (state) => (state.vacuum as {state?: string}).state === 'docked', {since});
        expect(bots.bots[0]!.received).toContain('charge');
    });

    it('shows the bot\'s rooms in HA, and a room clean from HA reaches the bot as spotArea with the room ids', async () => {
        const bot = bots.bots[0]!;
        const id = ecovacsDeviceId(bot.endpoint.id);
        const discovery = await ha.waitFor(
            (candidate) => candidate.topic === ha.discoveryTopic(id) && candidate.payload.includes('clean_segments_command_topic'),
            {what: 'discovery of the vacuum with its rooms'},
        );
        const segmentsTopic = (JSON.parse(discovery.payload) as {cmps: {vacuum: {clean_segments_command_topic: string}}}).cmps.vacuum.clean_segments_command_topic;
        const withRooms = await ha.waitForState(id, (state) => (state.vacuum as {segments?: unknown} | undefined)?.segments !== undefined);
        expect((withRooms.vacuum as {segments: unknown}).segments).toEqual({'0': 'Living Room', '1': 'Kitchen', '2': 'Workshop'});
        ha.assertDiscoveryValid();

        const since = Date.now();
        // As HA publishes it: a JSON list of segment id strings.
        await ha.publish(segmentsTopic, '["2","0"]');
        await ha.waitForState(id, (state) => (state.vacuum as {state?: string}).state === 'cleaning', {since});
        expect(bot.cleanedRooms).toEqual(['2', '0']);
        expect(bot.received).toContain('clean');
    });

    it('serves an Ecovacs bot by SNI, a RainMaker node by ALPN and HTTPS for portal-eu.ecouser.net on 443 at once', async () => {
        const tlsPort = bridge.settings.edge.tlsPort!;
        const ca = await loadOrCreateCa(bridge.dataDir);
        const [overTls, nodes, portal] = await Promise.all([
            startEcovacsBots({url: `mqtts://127.0.0.1:${tlsPort}`, count: 1, firstIndex: 1, tickMs: 100, ca: caPem, rejectUnauthorized: true, servername: 'jmq-ngiot-eu.dc.ww.ecouser.net'}),
            startRainmakerNodes({
                type: 'lightbulb',
                count: 1,
                host: '127.0.0.1',
                port: tlsPort,
                alpn: true,
                servername: RAINMAKER_HOST,
                macBase: '7CDFA1E00000',
                claim: (mac) => claimNode(bridge.dataDir, ca, {mac, mqttHost: RAINMAKER_HOST}),
                otaFetchDelayMs: null,
            }),
            httpsPost(tlsPort, 'portal-eu.ecouser.net', '/api/users/user.do', '{"todo":"FindBest","service":"EcoMsgNew"}', caPem),
        ]);
        try {
            expect(portal.status).toBe(200);
            expect(JSON.parse(portal.body)).toMatchObject({result: 'ok', port: bridge.settings.ecovacs.xmppPort});
            const second = overTls.bots[0]!;
            const id = ecovacsDeviceId(second.endpoint.id);
            await ha.waitForAvailability(id, 'online');
            await ha.command(id, 'vacuum', 'start');
            await ha.waitForState(id, (state) => (state.vacuum as {state?: string} | undefined)?.state === 'cleaning');
            await ha.waitForAvailability(RainmakerAdapter.deviceId(nodes.nodes[0]!.nodeId), 'online');
        } finally {
            await overTls.stop();
            await nodes.stop();
        }
    });

    it('offers XMPP bots STARTTLS with the edge\'s certificate, trusted through our CA for their server names', async () => {
        const socket = net.connect(bridge.settings.ecovacs.xmppPort, '127.0.0.1');
        let received = '';
        socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
        try {
            socket.write(`<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='126.ecorobot.net' version='1.0'>`);
            await waitFor(() => received.includes('</stream:features>'), 5000, 'the stream features');
            expect(received).toContain('<starttls xmlns="urn:ietf:params:xml:ns:xmpp-tls"/>');
            socket.write(`<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`);
            await waitFor(() => received.includes('<proceed'), 5000, 'the STARTTLS proceed');
            const secure = tls.connect({socket, servername: 'msg-eu.ecouser.net', ca: caPem});
            await new Promise<void>((resolve, reject) => {
                secure.once('secureConnect', resolve);
                secure.once('error', reject);
            });
            expect(secure.authorized).toBe(true);
            secure.destroy();
        } finally {
            socket.destroy();
        }
    });

    it('turns a bot unavailable when it stops', async () => {
        const id = ecovacsDeviceId(bots.bots[0]!.endpoint.id);
        const since = Date.now();
        await bots.stop();
        await ha.waitForAvailability(id, 'offline', {since});
    });
});

function httpsPost(port: number, servername: string, path: string, body: string, ca: string): Promise<{status: number; body: string}> {
    return new Promise((resolve, reject) => {
        const request = https.request({host: '127.0.0.1', port, servername, path, method: 'POST', ca, headers: {'content-type': 'application/json'}}, (response) => {
            let text = '';
            response.on('data', (chunk: Buffer) => (text += chunk.toString()));
            response.on('end', () => resolve({status: response.statusCode ?? 0, body: text}));
        });
        request.on('error', reject);
        request.end(body);
    });
}
