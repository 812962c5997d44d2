import type {MqttClient} from 'mqtt';
import {afterEach, describe, expect, it} from 'vitest';

import type {BrokerOptions} from '../../../src/edge/broker/broker.js';
import {waitFor} from '../../support/net.js';
import {
    collectMessages,
    connectClient,
    connectPacket,
    emptyIdUncleanConnect,
    encode,
    endClient,
    openRaw,
    openRawSession,
    type RawConnection,
    startTestBroker,
    type TestBroker,
} from './harness.js';

let running: TestBroker | undefined;
const clients: MqttClient[] = [];
const raws: RawConnection[] = [];

afterEach(async () => {
    for (const raw of raws.splice(0)) raw.socket.destroy();
    await Promise.all(clients.splice(0).map(endClient));
    await running?.close();
    running = undefined;
});

async function start(options: BrokerOptions = {}): Promise<TestBroker> {
    running = await startTestBroker({broker: options});
    return running;
}

async function client(port: number, clientId: string): Promise<MqttClient> {
    const connected = await connectClient(port, {clientId});
    clients.push(connected);
    return connected;
}

/** Sends one CONNECT on a raw socket and returns the CONNACK return code, or null if closed without one. */
async function connackFor(port: number, connect: Buffer): Promise<{returnCode: number | null; raw: RawConnection}> {
    const raw = await openRaw(port);
    raws.push(raw);
    raw.socket.write(connect);
    await waitFor(() => raw.packets.length > 0 || raw.isClosed(), 5000, 'CONNACK or close');
    const connack = raw.packets[0];
    return {returnCode: connack?.cmd === 'connack' ? (connack.returnCode ?? null) : null, raw};
}

describe('createBroker', () => {
    it('refuses an empty client id with clean session off with CONNACK 0x02 [MQTT-3.1.3-8], accepts it with clean on', async () => {
        const broker = await start();
        const refused = await connackFor(broker.port, emptyIdUncleanConnect());
        expect(refused.returnCode).toBe(2);
        await refused.raw.closed;

        const accepted = await connackFor(broker.port, encode(connectPacket('', true)));
        expect(accepted.returnCode).toBe(0);
        expect(accepted.raw.isClosed()).toBe(false);
    });

    it('refuses a client id over 128 bytes with CONNACK 0x02 and accepts exactly 128', async () => {
        const broker = await start();
        // 43 three-byte characters: 43 UTF-16 units, 129 UTF-8 bytes.
        const tooLong = await connackFor(broker.port, encode(connectPacket('€'.repeat(43))));
        expect(tooLong.returnCode).toBe(2);
        await tooLong.raw.closed;

        const longest = await connackFor(broker.port, encode(connectPacket('e'.repeat(128))));
        expect(longest.returnCode).toBe(0);
    });

    it('answers a subscription denied by authorizeSubscribe with 0x80 and keeps the client connected', async () => {
        const broker = await start({
            hooks: {
                authorizeSubscribe: (_client, subscription, callback) =>
                    subscription.topic === 'test/nosubscribe' ? callback(null, null) : callback(null, subscription),
            },
        });
        // Raw, because mqtt.js reports any 0x80 in a SUBACK as a failed subscribe call.
        const subscriber = await openRawSession(broker.port, 'denied-subscriber');
        raws.push(subscriber);
        subscriber.socket.write(
            encode({
                cmd: 'subscribe',
                messageId: 7,
                subscriptions: [
                    {topic: 'test/nosubscribe', qos: 1},
                    {topic: 'test/allowed', qos: 1},
                ],
            }),
        );
        const suback = await waitFor(() => subscriber.packets.find((packet) => packet.cmd === 'suback'), 5000, 'SUBACK');
        expect(suback).toMatchObject({messageId: 7, granted: [0x80, 1]});

        const publisher = await client(broker.port, 'publisher');
        await publisher.publishAsync('test/nosubscribe', 'not for you', {qos: 1});
        await publisher.publishAsync('test/allowed', 'hello', {qos: 1});
        subscriber.socket.write(encode({cmd: 'pingreq'}));
        await waitFor(() => subscriber.packets.find((packet) => packet.cmd === 'pingresp'), 5000, 'PINGRESP');
        const publishes = subscriber.packets.filter((packet) => packet.cmd === 'publish');
        expect(publishes.map((packet) => packet.cmd === 'publish' && packet.topic)).toEqual(['test/allowed']);
        expect(subscriber.isClosed()).toBe(false);
    });

    it('turns an error or a throw from authorizeSubscribe into 0x80 rather than a disconnect', async () => {
        const broker = await start({
            hooks: {
                authorizeSubscribe: (_client, subscription, callback) => {
                    if (subscription.topic === 'by/error') return callback(new Error('not yours'));
                    if (subscription.topic === 'by/throw') throw new Error('hook bug');
                    callback(null, subscription);
                },
            },
        });
        const subscriber = await openRawSession(broker.port, 'error-subscriber');
        raws.push(subscriber);
        subscriber.socket.write(
            encode({
                cmd: 'subscribe',
                messageId: 8,
                subscriptions: ['by/error', 'by/throw', 'fine'].map((topic) => ({topic, qos: 0 as const})),
            }),
        );
        const suback = await waitFor(() => subscriber.packets.find((packet) => packet.cmd === 'suback'), 5000, 'SUBACK');
        expect(suback).toMatchObject({granted: [0x80, 0x80, 0]});
        expect(subscriber.isClosed()).toBe(false);
        expect(broker.logLines.some((line) => line.message.includes('authorizeSubscribe hook threw'))).toBe(true);
    });

    it('runs its own checks before the caller hooks and lets the caller refuse after them', async () => {
        const seen: string[] = [];
        const broker = await start({
            hooks: {
                preConnect: (connecting, packet, callback) => {
                    seen.push(`preConnect ${packet.clientId}`);
                    callback(null, true);
                },
                authenticate: (connecting, username, _password, callback) => {
                    seen.push(`authenticate ${connecting.id}`);
                    if (username === 'intruder') return callback(Object.assign(new Error('bad credentials'), {returnCode: 4 as const}), null);
                    callback(null, true);
                },
            },
        });
        const refused = await connackFor(broker.port, emptyIdUncleanConnect());
        expect(refused.returnCode).toBe(2);
        // The default refusal never reaches the caller's hooks.
        expect(seen).toEqual([]);

        const raw = await openRaw(broker.port);
        raws.push(raw);
        raw.socket.write(encode({...connectPacket('with-password'), username: 'intruder', password: Buffer.from('x')}));
        await waitFor(() => raw.packets.length > 0, 5000, 'CONNACK');
        expect(raw.packets[0]).toMatchObject({cmd: 'connack', returnCode: 4});
        expect(seen).toEqual(['preConnect with-password', 'authenticate with-password']);
    });

    it('keeps running when a client subscribes or publishes to a topic of 100 levels', async () => {
        const broker = await start();
        const deepTopic = Array.from({length: 100}, (_, index) => `l${index}`).join('/');
        const subscriber = await client(broker.port, 'deep-subscriber');
        await expect(subscriber.subscribeAsync(deepTopic)).rejects.toThrow();
        const publisher = await client(broker.port, 'deep-publisher');
        publisher.publish(deepTopic, 'deep');
        await waitFor(() => !publisher.connected, 5000, 'the deep publisher to be closed');

        const steady = await client(broker.port, 'after-deep');
        await steady.subscribeAsync('after/deep');
        const received = collectMessages(steady, 1);
        await steady.publishAsync('after/deep', 'still here');
        expect((await received)[0]?.payload.toString()).toBe('still here');
    });

    it('caps topics at 16 levels', async () => {
        const broker = await start();
        const levels = (count: number): string => Array.from({length: count}, (_, index) => `l${index}`).join('/');
        const subscriber = await client(broker.port, 'levels');
        await expect(subscriber.subscribeAsync(levels(16))).resolves.toHaveLength(1);
        await expect(subscriber.subscribeAsync(levels(17))).rejects.toThrow();
    });

    it('accepts keepalive 0 or above the limit but reaps such a client once silent for 1.5 × the limit', async () => {
        const broker = await start({keepaliveLimit: 1});
        clients.push(await connectClient(broker.port, {clientId: 'slow-pinger', keepalive: 121}));
        const raw = await openRaw(broker.port);
        raw.socket.write(encode({...connectPacket('never-pinger'), keepalive: 0}));
        await raw.closed;
        expect(raw.packets[0]).toMatchObject({cmd: 'connack', returnCode: 0});
    });
});
