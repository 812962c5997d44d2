/**
 * What the framing guard costs on the hot path: QoS 0 publish → aedes → subscriber through
 * `listenMqtt` (guard in front of aedes) against the same broker fed raw sockets, alternating
 * rounds in one process so both see the same noise.
 *
 *   npm run bench -- broker-guard [messages=20000] [rounds=5]
 */

import net from 'node:net';

import mqtt, {type MqttClient} from 'mqtt';

import {createBroker} from '../src/edge/broker/broker.js';
import {listenMqtt} from '../src/edge/broker/listener.js';
import {createLogger} from '../src/util/logger.js';
import {median, printResult} from './stats.js';

const messages = Number(process.argv[2] ?? 20_000);
const rounds = Number(process.argv[3] ?? 5);
const payload = Buffer.alloc(200, 0x61);

const broker = await createBroker();
const unguarded = net.createServer({noDelay: true}, (socket) => {
    socket.on('error', () => {});
    broker.handle(socket);
});
await new Promise<void>((resolve) => unguarded.listen(0, '127.0.0.1', resolve));
const guarded = await listenMqtt(broker, {host: '127.0.0.1', port: 0, log: createLogger('bench:broker')});

function portOf(server: net.Server): number {
    return (server.address() as net.AddressInfo).port;
}

async function connect(port: number, clientId: string): Promise<MqttClient> {
    const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {clientId, reconnectPeriod: 0, keepalive: 60});
    await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
    });
    return client;
}

interface RoundResult {
    messagesPerSecond: number;
    /** Process CPU (broker and both clients) per message: less sensitive to neighbours than wall time. */
    cpuMicrosPerMessage: number;
}

/** One publisher to one subscriber through the listener on `port`. */
async function measureRound(port: number, round: number): Promise<RoundResult> {
    const topic = `bench/${port}/${round}`;
    const subscriber = await connect(port, `sub-${port}-${round}`);
    const publisher = await connect(port, `pub-${port}-${round}`);
    await subscriber.subscribeAsync(topic);
    let received = 0;
    const allReceived = new Promise<void>((resolve) =>
        subscriber.on('message', () => {
            if (++received === messages) resolve();
        }),
    );
    const start = process.hrtime.bigint();
    const cpuStart = process.cpuUsage();
    for (let sent = 0; sent < messages; sent++) {
        // The callback fires once the packet is handed to the socket: a bounded burst, not a flood.
        if (sent % 500 === 499) await new Promise<void>((resolve) => publisher.publish(topic, payload, () => resolve()));
        else publisher.publish(topic, payload);
    }
    await allReceived;
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const cpu = process.cpuUsage(cpuStart);
    await Promise.all([subscriber.endAsync(true), publisher.endAsync(true)]);
    return {messagesPerSecond: messages / seconds, cpuMicrosPerMessage: (cpu.user + cpu.system) / messages};
}

// Warm-up of both paths, so neither round 0 pays for the JIT.
await measureRound(portOf(unguarded), -1);
await measureRound(portOf(guarded), -1);
const ours: RoundResult[] = [];
const baseline: RoundResult[] = [];
for (let round = 0; round < rounds; round++) {
    baseline.push(await measureRound(portOf(unguarded), round));
    ours.push(await measureRound(portOf(guarded), round));
}
const rate = (results: RoundResult[]): number => median(results.map((result) => result.messagesPerSecond));
const cpu = (results: RoundResult[]): number => median(results.map((result) => result.cpuMicrosPerMessage));
printResult({
    bench: 'broker-guard',
    messages,
    rounds,
    payloadBytes: payload.length,
    guardedMsgPerSecond: Math.round(rate(ours)),
    unguardedMsgPerSecond: Math.round(rate(baseline)),
    rateRatio: Number((rate(ours) / rate(baseline)).toFixed(3)),
    guardedCpuMicrosPerMsg: Number(cpu(ours).toFixed(2)),
    unguardedCpuMicrosPerMsg: Number(cpu(baseline).toFixed(2)),
    cpuRatio: Number((cpu(ours) / cpu(baseline)).toFixed(3)),
});

await new Promise<void>((resolve) => broker.close(() => resolve()));
unguarded.close();
guarded.close();
