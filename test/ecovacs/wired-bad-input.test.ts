/**
 * Bad input on the wired Ecovacs paths (issue 9): the device MQTT port, the shared TLS port and
 * the plain REST port. Each is refused with a log line and its connection closed, while a bot
 * relayed through devmanager.do keeps answering within a second.
 */
import net from 'node:net';
import tls from 'node:tls';

import mqtt from 'mqtt';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {loadOrCreateCa} from '../../src/edge/tls/ca.js';
import {ecovacsDeviceId} from '../../src/families/ecovacs/adapter.js';
import {ecovacsFamily} from '../../src/families/ecovacs/index.js';
import {atrTopic, HELPER_ENDPOINT, p2pTopic} from '../../src/families/ecovacs/topics.js';
import {type EcovacsBots, startEcovacsBots} from '../../src/simulate/ecovacs.js';
import {setLogSink} from '../../src/util/logger.js';
import {type TestBridge, startTestBridge} from '../support/bridge.js';
import {devmanager, type EcovacsAuth, ecovacsLogin} from '../support/ecovacs-rest.js';
import {waitFor} from '../support/net.js';

let bridge: TestBridge;
let bots: EcovacsBots;
let auth: EcovacsAuth;
let caPem: string;
let restPort: number;
const logs: {namespace: string; message: string}[] = [];
/**
 * Each case comes from a loopback address of its own: the edge limits log lines per peer address,
 * and one case's line must not hide the next one's.
 */
let nextSource = 2;
function source(): string {
    return `127.0.0.${nextSource++}`;
}

beforeAll(async () => {
    setLogSink((_level, namespace, message) => logs.push({namespace, message}));
    bridge = await startTestBridge({families: [ecovacsFamily], settings: {logLevel: 'info'}});
    restPort = bridge.settings.ecovacs.restPort!;
    caPem = (await loadOrCreateCa(bridge.dataDir)).certPem;
    bots = await startEcovacsBots({url: `mqtts://127.0.0.1:${bridge.settings.edge.mqttTlsPort!}`, count: 1, tickMs: 60_000});
    auth = await ecovacsLogin(restPort);
    await waitFor(async () => (await devmanager(restPort, auth, bots.bots[0]!.endpoint, 'getBattery')).json.ret === 'ok', 5000, 'the bot answering');
});

afterAll(async () => {
    await bots?.stop();
    await bridge?.dispose();
    setLogSink(null);
});

/** The bot still answers a relayed command, within a second. */
async function botStillAnswers(): Promise<void> {
    const started = Date.now();
    const answer = await devmanager(restPort, auth, bots.bots[0]!.endpoint, 'getBattery');
    expect(answer.json).toMatchObject({ret: 'ok', resp: {body: {data: {value: expect.any(Number)}}}});
    expect(Date.now() - started).toBeLessThan(1000);
}

async function logged(pattern: RegExp, since: number): Promise<void> {
    await waitFor(() => logs.slice(since).some((line) => pattern.test(`[${line.namespace}] ${line.message}`)), 15_000, `a log line matching ${pattern}`);
}

/** Resolves when the server closes the socket; with what it wrote first. */
function closedBy(socket: net.Socket): Promise<string> {
    return new Promise((resolve) => {
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
        socket.on('error', () => {});
        socket.on('close', () => resolve(text));
    });
}

function plain(port: number): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
        const socket = net.connect({host: '127.0.0.1', port, localAddress: source()}, () => resolve(socket));
        socket.once('error', reject);
    });
}

function overTls(port: number, servername: string): Promise<tls.TLSSocket> {
    return new Promise((resolve, reject) => {
        const tcp = net.connect({host: '127.0.0.1', port, localAddress: source()});
        const socket = tls.connect({socket: tcp, servername, ca: caPem}, () => resolve(socket));
        socket.once('error', reject);
    });
}

/** An app-like client on the device broker (no ACLs between Ecovacs clients, §8.6). */
function appClient(clientId: string): Promise<mqtt.MqttClient> {
    return mqtt.connectAsync(`mqtts://127.0.0.1:${bridge.settings.edge.mqttTlsPort!}`, {
        clientId,
        username: 'app',
        password: 'token',
        ca: caPem,
        servername: 'mq-eu.ecouser.net',
        reconnectPeriod: 0,
        // mqtt.js hands its options to tls.connect, which takes a source address; its types do not say so.
        ...({localAddress: source()} as object),
    });
}

describe('Ecovacs MQTT paths', () => {
    it('closes a CONNECT that claims 256 MiB before buffering it', async () => {
        const since = logs.length;
        const socket = await overTls(bridge.settings.edge.mqttTlsPort!, 'mq-eu.ecouser.net');
        const closed = closedBy(socket);
        socket.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]));
        await botStillAnswers();
        await closed;
        await logged(/closed .*(announces|larger|bytes)/, since);
    });

    it('disconnects a client that publishes an oversized atr message; the bot is untouched', async () => {
        const since = logs.length;
        const client = await appClient('oversize@ecouser/res1');
        const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
        const bot = bots.bots[0]!.endpoint;
        client.publish(atrTopic({event: 'onBattery', bot, format: 'j'}), Buffer.alloc(600 * 1024, 0x20));
        await closed;
        await botStillAnswers();
        await logged(/closed .*oversize@ecouser\/res1/, since);
        await client.endAsync(true);
    });

    it('drops garbage and replies for request ids nobody asked for on the helper\'s reply topic, with one line each', async () => {
        const since = logs.length;
        const client = await appClient('garbage@ecouser/res2');
        const bot = bots.bots[0]!.endpoint;
        const reply = (requestId: string, payload: string): void =>
            void client.publish(p2pTopic({command: 'getBattery', from: bot, to: HELPER_ENDPOINT, direction: 'p', requestId, format: 'j'}), payload);
        reply('zzzz', '\u0000\u00ff{not json');
        reply('yyyy', JSON.stringify({body: {code: 0, data: {value: 1}}}));
        client.publish('iot/p2p/getBattery/garbage', 'x');
        await logged(/answers no request of ours/, since);
        await botStillAnswers();
        // A late reply is what a slow bot sends: it is dropped, and the bot (or app) keeps its link.
        expect(client.connected).toBe(true);
        await client.endAsync(true);
    });

    it('disconnects a client that publishes outside the Ecovacs topics', async () => {
        const since = logs.length;
        const client = await appClient('stray@ecouser/res3');
        const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
        client.publish('homeassistant/status', 'online');
        await closed;
        await logged(/not an Ecovacs topic/, since);
        await botStillAnswers();
    });

    it('answers errno 4200 for a bot nobody knows and for a known bot that is offline', async () => {
        const unknown = await devmanager(restPort, auth, {id: 'E0009999', cls: 'ls1ok3', resource: 'abcd'}, 'getBattery');
        expect(unknown.json).toMatchObject({ret: 'fail', errno: 4200});
        const late = await startEcovacsBots({url: `mqtts://127.0.0.1:${bridge.settings.edge.mqttTlsPort!}`, count: 1, firstIndex: 5, tickMs: 60_000});
        const endpoint = late.bots[0]!.endpoint;
        await waitFor(async () => (await devmanager(restPort, auth, endpoint, 'getBattery')).json.ret === 'ok', 5000, 'the second bot answering');
        await late.stop();
        await waitFor(() => bridge.registry.get(ecovacsDeviceId(endpoint.id))?.link.online === false, 5000, 'the second bot offline');
        expect((await devmanager(restPort, auth, endpoint, 'getBattery')).json).toMatchObject({ret: 'fail', errno: 4200});
        await botStillAnswers();
    });
});

describe('Ecovacs HTTP paths', () => {
    it('refuses a 1 MiB header, a 256 MiB Content-Length and an endless chunked body, closing each', async () => {
        const since = logs.length;
        const header = await plain(restPort);
        const headerClosed = closedBy(header);
        header.write(`GET /api/appsvr/app.do HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(1024 * 1024)}\r\n\r\n`);

        const huge = await plain(restPort);
        const hugeClosed = closedBy(huge);
        huge.write('POST /api/iot/devmanager.do HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 268435456\r\n\r\n{');

        const chunked = await plain(restPort);
        const chunkedClosed = closedBy(chunked);
        chunked.write('POST /api/iot/devmanager.do HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
        const chunk = `4000\r\n${'a'.repeat(0x4000)}\r\n`;
        const pump = setInterval(() => {
            if (!chunked.destroyed) chunked.write(chunk);
        }, 1);

        await botStillAnswers();
        try {
            expect(await headerClosed).toMatch(/^HTTP\/1\.1 4(00|31)/);
            expect(await hugeClosed).toMatch(/^HTTP\/1\.1 413/);
            expect(await chunkedClosed).toMatch(/^HTTP\/1\.1 413/);
        } finally {
            clearInterval(pump);
        }
        await logged(/Content-Length 268435456 is more than/, since);
        await logged(/body larger than/, since);
        await logged(/bad request from .*(Header|header|HPE_HEADER_OVERFLOW)/, since);
    });

    it('closes a request that never finishes its headers (slowloris) within 30 s', async () => {
        const since = logs.length;
        const slow = await plain(restPort);
        const slowClosed = closedBy(slow);
        slow.write('GET /api/appsvr/app.do HTTP/1.1\r\nHost: x\r\n');
        // A header line now and then, never the blank line that ends them.
        const drip = setInterval(() => {
            if (!slow.destroyed) slow.write('X-Drip: 1\r\n');
        }, 500);
        const started = Date.now();
        try {
            await botStillAnswers();
            await slowClosed;
        } finally {
            clearInterval(drip);
        }
        expect(Date.now() - started).toBeLessThan(30_000);
        await botStillAnswers();
        await logged(/bad request from/, since);
    }, 40_000);

    it('closes plain HTTP on the TLS port at once, and a ClientHello cut short within 30 s', async () => {
        const since = logs.length;
        const tlsPort = bridge.settings.edge.tlsPort!;
        const plainOnTls = await plain(tlsPort);
        const plainClosed = closedBy(plainOnTls);
        plainOnTls.write('GET / HTTP/1.1\r\nHost: portal-eu.ecouser.net\r\n\r\n');
        await plainClosed;
        await logged(/TLS handshake from .* failed/, since);

        const cut = await plain(tlsPort);
        const cutClosed = closedBy(cut);
        // A TLS record header announcing a 512-byte handshake, then only its first bytes.
        cut.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]));
        const started = Date.now();
        await botStillAnswers();
        await cutClosed;
        expect(Date.now() - started).toBeLessThan(30_000);
        await botStillAnswers();
    }, 40_000);
});
