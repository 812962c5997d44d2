import type net from 'node:net';
import {Duplex} from 'node:stream';

import fc from 'fast-check';
import type {Packet} from 'mqtt-packet';
import {afterEach, describe, expect, it} from 'vitest';

import {DEFAULT_FRAMING_LIMITS, type FramingLimits, guardMqttStream} from '../../../src/edge/broker/framing-guard.js';
import {waitFor} from '../../support/net.js';
import {collectMessages, connectClient, connectPacket, drainedOrClosed, encode, endClient, openRaw, startTestBroker, type TestBroker, waitForLog} from './harness.js';

let running: TestBroker | undefined;
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await running?.close();
    running = undefined;
});

async function start(limits?: Partial<FramingLimits>): Promise<TestBroker> {
    running = await startTestBroker(limits ? {limits} : {});
    return running;
}

function publishPacket(topic: string, payload: Buffer): Packet {
    return {cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false};
}

describe('framing guard on a live listener', () => {
    it('closes a CONNECT claiming 268,435,455 bytes at the header, without buffering the 64 MiB that follow', async () => {
        const broker = await start();
        const raw = await openRaw(broker.port);
        const rssBefore = process.memoryUsage().rss;

        // Remaining length 0x0FFFFFFF, the largest MQTT allows, then junk from one reused buffer so
        // the sender itself allocates nothing while streaming.
        const junk = Buffer.alloc(64 * 1024, 0x41);
        const total = 64 * 1024 * 1024;
        let written = 0;
        raw.socket.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]));
        while (written < total && !raw.isClosed() && !raw.socket.destroyed) {
            const flushed = raw.socket.write(junk);
            written += junk.length;
            if (!flushed) await drainedOrClosed(raw.socket);
        }
        await raw.closed;

        const line = await waitForLog(broker, 'exceeds the 8192-byte cap before CONNACK');
        expect(line.level).toBe('warn');
        expect(line.message).toContain('127.0.0.1');
        expect(written).toBeLessThan(total);
        // Unguarded, aedes grew by ~68 MB on this input (performance.md finding 3).
        expect(process.memoryUsage().rss - rssBefore).toBeLessThan(24 * 1024 * 1024);
    });

    it('closes on a remaining length longer than 4 bytes (FF FF FF FF 01)', async () => {
        const broker = await start();
        const raw = await openRaw(broker.port);
        raw.socket.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x01]));
        await raw.closed;
        await waitForLog(broker, 'malformed remaining length');
    });

    it('closes a socket that sends no CONNECT within the timeout', async () => {
        const broker = await start({connectTimeoutMs: 300});
        const raw = await openRaw(broker.port);
        await raw.closed;
        await waitForLog(broker, 'no complete CONNECT within 300 ms');
        expect(raw.packets).toEqual([]);
    });

    it('closes a CONNECT trickling in a byte at a time at the timeout', async () => {
        const broker = await start({connectTimeoutMs: 500});
        const raw = await openRaw(broker.port);
        const connect = encode(connectPacket('slow-loris'));
        const trickle = setInterval(() => {
            if (!raw.socket.destroyed) raw.socket.write(connect.subarray(0, 1));
        }, 50);
        cleanups.push(() => clearInterval(trickle));
        await raw.closed;
        await waitForLog(broker, 'no complete CONNECT within 500 ms');
        expect(raw.packets).toEqual([]);
    });

    it('closes a client whose packet after CONNACK exceeds maxPacketBytes', async () => {
        const broker = await start({maxPacketBytes: 1024});
        const client = await connectClient(broker.port, {clientId: 'big-publisher'});
        cleanups.push(() => endClient(client));
        const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
        client.publish('big/topic', Buffer.alloc(2000, 1));
        await closed;
        const line = await waitForLog(broker, 'exceeds the 1024-byte cap');
        expect(line.message).toContain('client big-publisher');
        expect(line.message).not.toContain('before CONNACK');
    });

    it('passes many packets in one chunk, and the same bytes one byte per write, through aedes untouched', async () => {
        const broker = await start();
        const subscriber = await connectClient(broker.port, {clientId: 'subscriber'});
        cleanups.push(() => endClient(subscriber));
        await subscriber.subscribeAsync('split/#');

        const payloads = Array.from({length: 40}, (_, index) => Buffer.from(Array.from({length: 1 + index * 37}, (_, byte) => (byte * 7 + index) & 0xff)));
        const stream = (clientId: string): Buffer =>
            Buffer.concat([encode(connectPacket(clientId)), ...payloads.map((payload, index) => encode(publishPacket(`split/${index}`, payload)))]);

        const inOneChunk = collectMessages(subscriber, payloads.length);
        const batch = await openRaw(broker.port);
        cleanups.push(() => void batch.socket.destroy());
        batch.socket.write(stream('one-chunk'));
        const batchMessages = await inOneChunk;
        expect(batchMessages.map((message) => message.topic)).toEqual(payloads.map((_, index) => `split/${index}`));
        expect(batchMessages.map((message) => message.payload)).toEqual(payloads);

        const byteByByte = collectMessages(subscriber, payloads.length);
        const trickle = await openRaw(broker.port);
        cleanups.push(() => void trickle.socket.destroy());
        const bytes = stream('byte-by-byte');
        for (let offset = 0; offset < bytes.length; offset++) {
            if (!trickle.socket.write(bytes.subarray(offset, offset + 1))) await drainedOrClosed(trickle.socket);
        }
        const trickleMessages = await byteByByte;
        expect(trickleMessages.map((message) => message.payload)).toEqual(payloads);
        expect(trickle.isClosed()).toBe(false);
        expect(broker.logLines.filter((line) => line.level === 'warn')).toEqual([]);
    });

    it('keeps serving other clients while one peer misbehaves', async () => {
        const broker = await start({connectTimeoutMs: 3000});
        const slow = await openRaw(broker.port);
        cleanups.push(() => void slow.socket.destroy());
        slow.socket.write(Buffer.from([0x10, 0x20])); // a CONNECT header whose body never comes
        const flooder = await openRaw(broker.port);
        flooder.socket.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]));
        flooder.socket.write(Buffer.alloc(256 * 1024));

        const subscriber = await connectClient(broker.port, {clientId: 'steady-subscriber'});
        const publisher = await connectClient(broker.port, {clientId: 'steady-publisher'});
        cleanups.push(() => endClient(subscriber), () => endClient(publisher));
        await subscriber.subscribeAsync('steady/state', {qos: 1});
        const received = collectMessages(subscriber, 10);
        for (let index = 0; index < 10; index++) await publisher.publishAsync('steady/state', `${index}`, {qos: 1});
        expect((await received).map((message) => message.payload.toString())).toEqual(Array.from({length: 10}, (_, index) => `${index}`));

        await flooder.closed;
        expect(slow.isClosed()).toBe(false);
        expect(subscriber.connected && publisher.connected).toBe(true);
    });
});

/** A stand-in for an accepted socket: `push` is what arrives from the peer, `written` what we sent. */
function fakeSocket(): {socket: net.Socket; written: Buffer[]} {
    const written: Buffer[] = [];
    const duplex = new Duplex({
        read() {},
        write(chunk: Buffer, _encoding, callback) {
            written.push(chunk);
            callback();
        },
    });
    return {socket: duplex as unknown as net.Socket, written};
}

/** Feeds `chunks` to a guard as socket reads and collects what it hands on to aedes. */
async function drive(chunks: Buffer[], limits: FramingLimits = DEFAULT_FRAMING_LIMITS): Promise<{output: Buffer[]; rejections: string[]; destroyed: boolean}> {
    const {socket} = fakeSocket();
    const rejections: string[] = [];
    const guard = guardMqttStream(socket, limits, (reason) => rejections.push(reason));
    const output: Buffer[] = [];
    guard.on('data', (chunk: Buffer) => output.push(chunk));
    guard.on('error', () => {});
    for (const chunk of chunks) socket.emit('data', chunk);
    // A Readable hands pushed chunks to 'data' listeners on a later tick.
    await new Promise((resolve) => setImmediate(resolve));
    guard.destroy();
    return {output, rejections, destroyed: socket.destroyed};
}

const packetArbitrary: fc.Arbitrary<Packet> = fc.oneof(
    fc.record({topic: fc.stringMatching(/^[a-z0-9/]{1,40}$/), payload: fc.uint8Array({maxLength: 3000})}).map(({topic, payload}) => publishPacket(topic, Buffer.from(payload))),
    fc.constant<Packet>({cmd: 'pingreq'}),
    fc.integer({min: 1, max: 65535}).map<Packet>((messageId) => ({cmd: 'puback', messageId})),
    fc.record({messageId: fc.integer({min: 1, max: 65535}), topic: fc.stringMatching(/^[a-z+#/]{1,30}$/)}).map<Packet>(({messageId, topic}) => ({
        cmd: 'subscribe',
        messageId,
        subscriptions: [{topic, qos: 1}],
    })),
);

function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
    const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
    const chunks: Buffer[] = [];
    let start = 0;
    for (const point of [...points, bytes.length]) {
        if (point > start) chunks.push(bytes.subarray(start, point));
        start = point;
    }
    return chunks;
}

describe('framing guard scanner', () => {
    it('passes any split of valid traffic through unchanged, as the same Buffer objects', async () => {
        await fc.assert(
            fc.asyncProperty(fc.array(packetArbitrary, {maxLength: 20}), fc.array(fc.nat(), {maxLength: 30}), async (packets, cuts) => {
                const bytes = Buffer.concat([encode(connectPacket('prop')), ...packets.map(encode)]);
                const chunks = splitAt(bytes, cuts);
                const {output, rejections} = await drive(chunks);
                expect(rejections).toEqual([]);
                expect(output).toHaveLength(chunks.length);
                output.forEach((chunk, index) => expect(chunk).toBe(chunks[index]));
            }),
            {numRuns: 300},
        );
    });

    it('never throws on arbitrary bytes, and rejects at most once', async () => {
        await fc.assert(
            fc.asyncProperty(fc.uint8Array({maxLength: 2048}), fc.array(fc.nat(), {maxLength: 10}), async (bytes, cuts) => {
                const {rejections} = await drive(splitAt(Buffer.from(bytes), cuts), {...DEFAULT_FRAMING_LIMITS, preConnectMaxBytes: 512});
                expect(rejections.length).toBeLessThanOrEqual(1);
            }),
            {numRuns: 1000},
        );
    });

    it('applies the pre-CONNACK cap until the broker writes, then maxPacketBytes', async () => {
        const {socket, written} = fakeSocket();
        const rejections: string[] = [];
        const limits = {preConnectMaxBytes: 100, maxPacketBytes: 1000, connectTimeoutMs: 10_000};
        const guard = guardMqttStream(socket, limits, (reason) => rejections.push(reason));
        guard.on('data', () => {});
        guard.on('error', () => {});
        const midSize = encode(publishPacket('t', Buffer.alloc(500)));

        socket.emit('data', encode(connectPacket('caps')));
        guard.write(encode({cmd: 'connack', returnCode: 0, sessionPresent: false}));
        expect(written).toHaveLength(1);
        socket.emit('data', midSize);
        expect(rejections).toEqual([]);
        socket.emit('data', encode(publishPacket('t', Buffer.alloc(1000))));
        expect(rejections).toEqual(['packet type 3 of 1006 bytes exceeds the 1000-byte cap']);
        expect(socket.destroyed).toBe(true);

        const before = await drive([encode(connectPacket('caps')), midSize], limits);
        expect(before.rejections).toEqual(['packet type 3 of 506 bytes exceeds the 100-byte cap before CONNACK']);
        expect(before.destroyed).toBe(true);
    });

    it('holds aedes back while the socket is above its high-water mark', async () => {
        const {socket} = fakeSocket();
        const guard = guardMqttStream(socket, DEFAULT_FRAMING_LIMITS, () => {});
        let socketWriteReturns = false;
        const writeSpy = (chunk: Buffer): boolean => chunk.length >= 0 && socketWriteReturns;
        (socket as unknown as {write: typeof writeSpy}).write = writeSpy;
        expect(guard.write(Buffer.alloc(20_000))).toBe(false);
        let drained = false;
        guard.once('drain', () => (drained = true));
        await new Promise((resolve) => setImmediate(resolve));
        expect(drained).toBe(false);
        socketWriteReturns = true;
        socket.emit('drain');
        await waitFor(() => drained, 1000, 'drain on the guard');
        guard.destroy();
    });
});
