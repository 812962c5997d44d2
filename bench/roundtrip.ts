/**
 * Command round trip: HA side → Mosquitto → bridge → simulated device → bridge → Mosquitto → HA
 * side, next to the plain round trip HA side → Mosquitto → echo client → Mosquitto → HA side
 * measured through the same broker in the same run. One process per role, as in
 * performance.md §3.1: Mosquitto, the bridge, each simulator, the echo client, and this process
 * as "HA".
 *
 * `npm run bench -- roundtrip [--commands 1000]` prints one JSON line: the baseline and each leg
 * (icomen, miio) with its ratios to the baseline; times in ms.
 */
import {type ChildProcess, spawn} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import mqtt, {type MqttClient} from 'mqtt';

import {miioDeviceId} from '../src/families/miio/adapter.js';
import {simulatedCloudKey} from '../src/simulate/miio.js';
import {startMosquitto} from '../test/support/mosquitto.js';
import {freePort} from '../test/support/net.js';
import {percentile, printResult} from './stats.js';

const commandsArg = process.argv.indexOf('--commands');
const COMMANDS = commandsArg > 0 ? Number(process.argv[commandsArg + 1]) : 1000;
const WARMUP = 200;
const MIIO_PLUG_DID = 277_900_001;
/** The first simulated icomen plug's MAC (src/simulate/icomen.ts numbers them from 00:95:69:00:00:00). */
const ICOMEN_PLUG_ID = 'icomen-009569000000';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Summary {
    p50: number;
    p99: number;
    max: number;
    over40ms: number;
}

function summarise(samplesNs: bigint[]): Summary {
    const ms = samplesNs.map((ns) => Number(ns) / 1e6).sort((a, b) => a - b);
    const round = (value: number): number => Number(value.toFixed(3));
    return {p50: round(percentile(ms, 50)), p99: round(percentile(ms, 99)), max: round(ms.at(-1)!), over40ms: ms.filter((value) => value > 40).length};
}

/** Publishes, waits for the answer that `accept`s, COMMANDS + WARMUP times in a closed loop. */
async function closedLoop(client: MqttClient, receiveTopic: string, step: (i: number) => {topic: string; payload: string; accept: (payload: string) => boolean}): Promise<bigint[]> {
    const samples: bigint[] = [];
    let pending: {accept: (payload: string) => boolean; resolve: () => void} | null = null;
    const onMessage = (topic: string, payload: Buffer): void => {
        if (topic === receiveTopic && pending?.accept(payload.toString())) {
            const done = pending;
            pending = null;
            done.resolve();
        }
    };
    client.on('message', onMessage);
    await client.subscribeAsync(receiveTopic, {qos: 0});
    for (let i = 0; i < COMMANDS + WARMUP; i++) {
        const {topic, payload, accept} = step(i);
        const arrived = new Promise<void>((resolve) => (pending = {accept, resolve}));
        const start = process.hrtime.bigint();
        client.publish(topic, payload, {qos: 0});
        await arrived;
        if (i >= WARMUP) samples.push(process.hrtime.bigint() - start);
    }
    client.off('message', onMessage);
    await client.unsubscribeAsync(receiveTopic);
    return samples;
}

/** Switches a device's `switch` feature ON and OFF from the HA side and waits for each state. */
async function switchLeg(ha: MqttClient, deviceId: string): Promise<Summary> {
    return summarise(
        await closedLoop(ha, `fogbridge/${deviceId}/state`, (i) => {
            const wanted = i % 2 === 0 ? 'ON' : 'OFF';
            return {topic: `fogbridge/${deviceId}/switch/set`, payload: wanted, accept: (payload) => (JSON.parse(payload) as {switch?: string}).switch === wanted};
        }),
    );
}

async function connect(url: string): Promise<MqttClient> {
    const client = await mqtt.connectAsync(url, {clientId: `bench-${Math.random().toString(16).slice(2)}`});
    (client.stream as {setNoDelay?: (on: boolean) => void}).setNoDelay?.(true);
    return client;
}

/** Simulators log every switch; their output would only cost time here. */
function fogbridge(args: string[], stderr: 'inherit' | 'ignore' = 'inherit'): ChildProcess {
    return spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli.ts'), ...args], {cwd: root, stdio: ['ignore', 'ignore', stderr]});
}

/** The echo client of the baseline, in a process of its own like the bridge. */
async function runEcho(url: string): Promise<void> {
    const echo = await connect(url);
    echo.on('message', (_topic, payload) => echo.publish('bench/pong', payload, {qos: 0}));
    await echo.subscribeAsync('bench/ping', {qos: 0});
    process.stdout.write('ready\n');
}

async function waitForOnline(ha: MqttClient, deviceIds: string[]): Promise<void> {
    const waiting = new Set(deviceIds);
    const topics = deviceIds.map((id) => `fogbridge/${id}/availability`);
    await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`devices never came online: ${[...waiting].join(', ')}`)), 30_000);
        const onMessage = (topic: string, payload: Buffer): void => {
            const id = topic.split('/')[1]!;
            if (topics.includes(topic) && payload.toString() === 'online') waiting.delete(id);
            if (waiting.size === 0) {
                clearTimeout(timer);
                ha.off('message', onMessage);
                resolve();
            }
        };
        ha.on('message', onMessage);
        void ha.subscribeAsync(topics, {qos: 0});
    });
    await ha.unsubscribeAsync(topics);
}

if (process.argv.includes('--echo')) {
    await runEcho(process.argv[process.argv.indexOf('--echo') + 1]!);
} else {
    const mosquitto = await startMosquitto();
    const children: ChildProcess[] = [];
    const dataDir = mkdtempSync(path.join(tmpdir(), 'fogbridge-bench-'));
    try {
        const echo = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--echo', mosquitto.url], {stdio: ['ignore', 'pipe', 'inherit']});
        children.push(echo);
        await new Promise((resolve) => echo.stdout!.once('data', resolve));
        const ha = await connect(mosquitto.url);
        const baseline = summarise(await closedLoop(ha, 'bench/pong', (i) => ({topic: 'bench/ping', payload: String(i), accept: (payload) => payload === String(i)})));

        const [balancerPort, sessionPort, udpPort] = [await freePort(), await freePort(), await freePort()];
        children.push(
            fogbridge([
                'run',
                '--mqtt-url', mosquitto.url,
                '--data-dir', dataDir,
                '--log-level', 'error',
                '--ha.deviceRatePerSecond', '10000',
                '--ha.deviceBurst', '100000',
                '--icomen.host', '127.0.0.1',
                '--icomen.balancerPort', String(balancerPort),
                '--icomen.sessionPort', String(sessionPort),
                '--miio.host', '127.0.0.1',
                '--miio.port', String(udpPort),
                '--miio.gslb.enabled', 'false',
                '--miio.devices', JSON.stringify([{did: MIIO_PLUG_DID, key: simulatedCloudKey(MIIO_PLUG_DID)}]),
                '--rainmaker.enabled', 'false',
            ]),
        );
        const online = waitForOnline(ha, [ICOMEN_PLUG_ID, miioDeviceId(MIIO_PLUG_DID)]);
        // The simulators retry until the bridge listens.
        await new Promise((resolve) => setTimeout(resolve, 3000));
        children.push(fogbridge(['simulate', 'icomen', '--count', '1', '--port', String(balancerPort)], 'ignore'));
        children.push(fogbridge(['simulate', 'miio', '--model', 'chuangmi.plug.m1', '--did-base', String(MIIO_PLUG_DID), '--port', String(udpPort)], 'ignore'));
        await online;

        const legs = {icomen: await switchLeg(ha, ICOMEN_PLUG_ID), miio: await switchLeg(ha, miioDeviceId(MIIO_PLUG_DID))};
        await ha.endAsync();
        const ratios = (ms: Summary): {ms: Summary; ratioP50: number; ratioP99: number} => ({
            ms,
            ratioP50: Number((ms.p50 / baseline.p50).toFixed(2)),
            ratioP99: Number((ms.p99 / baseline.p99).toFixed(2)),
        });
        printResult({
            bench: 'roundtrip',
            commands: COMMANDS,
            baselineMs: baseline,
            legs: {icomen: ratios(legs.icomen), miio: ratios(legs.miio)},
            targets: {p99Ms: 2, ratioP99: 3},
        });
    } finally {
        for (const child of children) child.kill('SIGTERM');
        await Promise.all(children.map((child) => (child.exitCode === null ? new Promise((resolve) => child.once('exit', resolve)) : null)));
        await mosquitto.stop();
        rmSync(dataDir, {recursive: true, force: true});
    }
}
