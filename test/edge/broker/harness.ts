/** A broker on a free loopback port, clients for it, and the log lines it wrote. */

import {once} from 'node:events';
import net from 'node:net';

import type {Aedes} from 'aedes';
import mqtt, {type IClientOptions, type MqttClient} from 'mqtt';
import mqttPacket, {type IConnectPacket, type Packet} from 'mqtt-packet';

import {createBroker, type BrokerOptions} from '../../../src/edge/broker/broker.js';
import type {FramingLimits} from '../../../src/edge/broker/framing-guard.js';
import {listenMqtt} from '../../../src/edge/broker/listener.js';
import {createLogger, type LogLevel, setLogSink} from '../../../src/util/logger.js';
import {freePort, waitFor} from '../../support/net.js';

export interface LogLine {
    level: LogLevel;
    namespace: string;
    message: string;
}

export interface TestBroker {
    broker: Aedes;
    server: net.Server;
    port: number;
    logLines: LogLine[];
    close(): Promise<void>;
}

export async function startTestBroker(options: {broker?: BrokerOptions; limits?: Partial<FramingLimits>; maxConnections?: number} = {}): Promise<TestBroker> {
    const logLines: LogLine[] = [];
    setLogSink((level, namespace, message) => logLines.push({level, namespace, message}));
    const broker = await createBroker(options.broker);
    const port = await freePort();
    const server = await listenMqtt(broker, {
        host: '127.0.0.1',
        port,
        log: createLogger('test:broker'),
        ...(options.limits ? {limits: options.limits} : {}),
        ...(options.maxConnections === undefined ? {} : {maxConnections: options.maxConnections}),
    });
    // broker.close() ends only clients that completed CONNECT; the rest are ours to end.
    const sockets = new Set<net.Socket>();
    server.on('connection', (socket: net.Socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
    });
    return {
        broker,
        server,
        port,
        logLines,
        async close() {
            await new Promise<void>((resolve) => broker.close(() => resolve()));
            for (const socket of sockets) socket.destroy();
            await new Promise<void>((resolve) => server.close(() => resolve()));
            setLogSink(null);
        },
    };
}

/** Waits for a log line containing `text` and returns it. */
export async function waitForLog(broker: TestBroker, text: string): Promise<LogLine> {
    return waitFor(() => broker.logLines.find((line) => line.message.includes(text)), 5000, `a log line containing "${text}"`);
}

export async function connectClient(port: number, options: IClientOptions = {}): Promise<MqttClient> {
    const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {reconnectPeriod: 0, connectTimeout: 5000, keepalive: 60, ...options});
    await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
        client.once('close', () => reject(new Error('closed before CONNACK')));
    });
    return client;
}

/** A raw TCP connection that collects what the broker sends, decoded by mqtt-packet. */
export interface RawConnection {
    socket: net.Socket;
    packets: Packet[];
    closed: Promise<void>;
    isClosed(): boolean;
}

export async function openRaw(port: number): Promise<RawConnection> {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    const packets: Packet[] = [];
    const parser = mqttPacket.parser();
    parser.on('packet', (packet: Packet) => packets.push(packet));
    socket.on('data', (chunk: Buffer) => parser.parse(chunk));
    // A reset from the broker is expected in these tests.
    socket.on('error', () => {});
    let closed = false;
    // Not events.once: it rejects when 'error' (an expected reset) comes before 'close'.
    const closedPromise = new Promise<void>((resolve) =>
        socket.once('close', () => {
            closed = true;
            resolve();
        }),
    );
    await once(socket, 'connect');
    return {socket, packets, closed: closedPromise, isClosed: () => closed};
}

/** Resolves on 'drain' or 'close', whichever comes first; never rejects on a reset. */
export function drainedOrClosed(socket: net.Socket): Promise<void> {
    return new Promise((resolve) => {
        const done = (): void => {
            socket.off('drain', done);
            socket.off('close', done);
            resolve();
        };
        socket.once('drain', done);
        socket.once('close', done);
    });
}

export function encode(packet: Packet): Buffer {
    return mqttPacket.generate(packet);
}

export function connectPacket(clientId: string, clean = true): IConnectPacket {
    return {cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean, clientId, keepalive: 60};
}

/**
 * CONNECT with an empty client id and clean session off, which mqtt-packet (rightly) refuses to
 * generate: generate it with clean on, then clear the Clean Session bit (0x02) of the Connect
 * Flags byte, which follows the 2-byte fixed header, "\0\4MQTT" and the protocol level.
 */
export function emptyIdUncleanConnect(): Buffer {
    const bytes = encode(connectPacket('', true));
    const connectFlagsOffset = 2 + 6 + 1;
    bytes[connectFlagsOffset] = bytes[connectFlagsOffset]! & ~0x02;
    return bytes;
}

/** A raw connection that has been accepted (CONNACK 0). */
export async function openRawSession(port: number, clientId: string): Promise<RawConnection> {
    const raw = await openRaw(port);
    raw.socket.write(encode(connectPacket(clientId)));
    await waitFor(() => raw.packets.find((packet) => packet.cmd === 'connack'), 5000, `CONNACK for ${clientId}`);
    expectPacket(raw.packets[0], {cmd: 'connack', returnCode: 0});
    return raw;
}

function expectPacket(packet: Packet | undefined, expected: {cmd: string; returnCode: number}): void {
    if (packet?.cmd !== expected.cmd || (packet as {returnCode?: number}).returnCode !== expected.returnCode) {
        throw new Error(`expected ${JSON.stringify(expected)}, got ${JSON.stringify(packet)}`);
    }
}

/** Resolves with the next message on `topic`, or all `count` of them. */
export function collectMessages(client: MqttClient, count: number): Promise<Array<{topic: string; payload: Buffer}>> {
    const messages: Array<{topic: string; payload: Buffer}> = [];
    return new Promise((resolve) => {
        const onMessage = (topic: string, payload: Buffer): void => {
            messages.push({topic, payload});
            if (messages.length === count) {
                client.off('message', onMessage);
                resolve(messages);
            }
        };
        client.on('message', onMessage);
    });
}

export async function endClient(client: MqttClient): Promise<void> {
    await client.endAsync(true);
}
