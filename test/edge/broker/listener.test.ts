import {once} from 'node:events';
import net from 'node:net';

import type {MqttClient} from 'mqtt';
import {afterEach, describe, expect, it, vi} from 'vitest';

import {createBroker} from '../../../src/edge/broker/broker.js';
import {attachMqttConnection} from '../../../src/edge/broker/listener.js';
import {createLogger} from '../../../src/util/logger.js';
import {freePort, waitFor} from '../../support/net.js';
import {connectClient, connectPacket, encode, endClient, openRaw, type RawConnection, startTestBroker, type TestBroker} from './harness.js';

let running: TestBroker | undefined;
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
    vi.restoreAllMocks();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await running?.close();
    running = undefined;
});

async function start(options: Parameters<typeof startTestBroker>[0] = {}): Promise<TestBroker> {
    running = await startTestBroker(options);
    return running;
}

async function raw(port: number): Promise<RawConnection> {
    const connection = await openRaw(port);
    cleanups.push(() => void connection.socket.destroy());
    return connection;
}

async function client(port: number, clientId: string): Promise<MqttClient> {
    const connected = await connectClient(port, {clientId});
    cleanups.push(() => endClient(connected));
    return connected;
}

describe('attachMqttConnection', () => {
    it('turns Nagle off on the accepted socket and serves MQTT through the guard', async () => {
        const broker = await createBroker();
        const closes: Array<{clientId: string | null; reason: string | null}> = [];
        const server = net.createServer((socket) => {
            const setNoDelay = vi.spyOn(socket, 'setNoDelay');
            attachMqttConnection(broker, socket, {log: createLogger('test:attach'), onClose: ({clientId, reason}) => closes.push({clientId, reason})});
            accepted.push(setNoDelay);
        });
        const accepted: Array<ReturnType<typeof vi.spyOn>> = [];
        const port = await freePort();
        server.listen(port, '127.0.0.1');
        await once(server, 'listening');
        cleanups.push(
            () => new Promise<void>((resolve) => server.close(() => resolve())),
            () => new Promise<void>((resolve) => broker.close(() => resolve())),
        );

        const subscriber = await client(port, 'nodelay-check');
        await subscriber.subscribeAsync('nodelay/echo');
        const echoed = new Promise<Buffer>((resolve) => subscriber.once('message', (_topic, payload) => resolve(payload)));
        await subscriber.publishAsync('nodelay/echo', 'ping');
        expect((await echoed).toString()).toBe('ping');
        expect(accepted).toHaveLength(1);
        expect(accepted[0]).toHaveBeenCalledWith(true);

        await endClient(subscriber);
        await waitFor(() => closes.length === 1, 5000, 'onClose');
        expect(closes).toEqual([{clientId: 'nodelay-check', reason: null}]);
    });
});

describe('listenMqtt', () => {
    it('sets nodelay on every socket it accepts', async () => {
        const setNoDelay = vi.spyOn(net.Socket.prototype, 'setNoDelay');
        const broker = await start();
        await client(broker.port, 'nodelay-listener');
        const serverSide = setNoDelay.mock.contexts.filter((socket) => (socket as net.Socket).localPort === broker.port);
        expect(serverSide.length).toBeGreaterThanOrEqual(1);
        const calls = setNoDelay.mock.calls.filter((_, index) => (setNoDelay.mock.contexts[index] as net.Socket).localPort === broker.port);
        expect(calls.every((args) => args[0] === true)).toBe(true);
    });

    it('logs one line with the peer and reason for a protocol error, and closes only that socket', async () => {
        const broker = await start();
        const bystander = await client(broker.port, 'bystander');
        const offender = await raw(broker.port);
        const peer = `127.0.0.1:${offender.socket.localPort}`;
        offender.socket.write(encode(connectPacket('offender')));
        await waitFor(() => offender.packets.length > 0, 5000, 'CONNACK');
        // Packet type 15 is reserved in MQTT 3.1.1; mqtt-packet refuses it.
        offender.socket.write(Buffer.from([0xf0, 0x00]));
        await offender.closed;
        const lines = await waitFor(() => {
            const found = broker.logLines.filter((line) => line.message.includes(peer));
            return found.length > 0 ? found : null;
        });
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(broker.logLines.filter((line) => line.message.includes(peer))).toEqual(lines);
        expect(lines).toHaveLength(1);
        expect(lines[0]!.message).toMatch(/^mqtt:\d+ closed 127\.0\.0\.1:\d+ \(client offender\): .+/);
        expect(lines[0]!.level).toBe('warn');
        expect(bystander.connected).toBe(true);
    });

    it('survives a peer that resets in the middle of a CONNECT', async () => {
        const broker = await start();
        const quitter = await raw(broker.port);
        quitter.socket.write(encode(connectPacket('quitter')).subarray(0, 5));
        await new Promise((resolve) => setTimeout(resolve, 20));
        quitter.socket.resetAndDestroy();
        await quitter.closed;
        const steady = await client(broker.port, 'after-reset');
        expect(steady.connected).toBe(true);
    });

    it('refuses connections beyond maxConnections and logs the refusal', async () => {
        const broker = await start({maxConnections: 2});
        await client(broker.port, 'first');
        await client(broker.port, 'second');
        const third = await raw(broker.port);
        await third.closed;
        await waitFor(() => broker.logLines.find((line) => line.message.includes('2 connections open')));
    });
});
