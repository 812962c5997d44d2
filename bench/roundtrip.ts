/**
 * Command round trip, HA side → bridge → simulated device → state back to the HA side, against the
 * plain publish → echo client → receive round trip through the same Mosquitto in the same run.
 *
 * `npm run bench -- roundtrip [--commands 1000]` prints one JSON line per leg (icomen, miio; times
 * in ms), each next to the same baseline.
 */
import mqtt, {type MqttClient} from 'mqtt';

import {startBridge} from '../src/bridge.js';
import {loadSettings} from '../src/config/load.js';
import {icomenFamily} from '../src/families/icomen/index.js';
import {miioDeviceId} from '../src/families/miio/adapter.js';
import {miioFamily} from '../src/families/miio/index.js';
import {startIcomenPlugs} from '../src/simulate/icomen.js';
import {simulatedCloudKey, startMiioSimulator} from '../src/simulate/miio.js';
import {startMosquitto} from '../test/support/mosquitto.js';
import {freePort} from '../test/support/net.js';
import {percentile, printResult} from './stats.js';

const commandsArg = process.argv.indexOf('--commands');
const COMMANDS = commandsArg > 0 ? Number(process.argv[commandsArg + 1]) : 1000;
const WARMUP = 100;
const MIIO_PLUG_DID = 277_900_001;

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

/** Publishes on `send`, waits for the next message on `receive` that `accept`s, COMMANDS + WARMUP times. */
async function closedLoop(client: MqttClient, receiveTopic: string, step: (i: number) => {topic: string; payload: string; accept: (payload: string) => boolean}): Promise<bigint[]> {
    const samples: bigint[] = [];
    let pending: {accept: (payload: string) => boolean; resolve: () => void} | null = null;
    client.on('message', (topic, payload) => {
        if (topic === receiveTopic && pending?.accept(payload.toString())) {
            const done = pending;
            pending = null;
            done.resolve();
        }
    });
    await client.subscribeAsync(receiveTopic, {qos: 0});
    for (let i = 0; i < COMMANDS + WARMUP; i++) {
        const {topic, payload, accept} = step(i);
        const arrived = new Promise<void>((resolve) => (pending = {accept, resolve}));
        const start = process.hrtime.bigint();
        client.publish(topic, payload, {qos: 0});
        await arrived;
        if (i >= WARMUP) samples.push(process.hrtime.bigint() - start);
    }
    return samples;
}

/** Switches a device's `switch` feature ON and OFF from the HA side and waits for each state. */
async function switchLeg(ha: MqttClient, deviceId: string): Promise<Summary> {
    const samples = await closedLoop(ha, `fogbridge/${deviceId}/state`, (i) => {
        const wanted = i % 2 === 0 ? 'ON' : 'OFF';
        return {topic: `fogbridge/${deviceId}/switch/set`, payload: wanted, accept: (payload) => (JSON.parse(payload) as {switch?: string}).switch === wanted};
    });
    ha.removeAllListeners('message');
    await ha.unsubscribeAsync(`fogbridge/${deviceId}/state`);
    return summarise(samples);
}

async function connect(url: string): Promise<MqttClient> {
    const client = await mqtt.connectAsync(url, {clientId: `bench-${Math.random().toString(16).slice(2)}`});
    (client.stream as {setNoDelay?: (on: boolean) => void}).setNoDelay?.(true);
    return client;
}

const mosquitto = await startMosquitto();
try {
    // Baseline: HA → Mosquitto → echo client → Mosquitto → HA.
    const echo = await connect(mosquitto.url);
    await echo.subscribeAsync('bench/ping', {qos: 0});
    echo.on('message', (_topic, payload) => echo.publish('bench/pong', payload, {qos: 0}));
    const baselineClient = await connect(mosquitto.url);
    const baseline = summarise(await closedLoop(baselineClient, 'bench/pong', (i) => ({topic: 'bench/ping', payload: String(i), accept: (payload) => payload === String(i)})));
    await baselineClient.endAsync();
    await echo.endAsync();

    const legs: Record<string, Summary> = {};
    const dataDir = `/tmp/fogbridge-bench-${process.pid}`;
    const udpPort = await freePort();
    const settings = loadSettings({
        flags: {
            dataDir,
            logLevel: 'error',
            ha: {mqtt: {url: mosquitto.url}, deviceRatePerSecond: 10_000, deviceBurst: 100_000},
            icomen: {host: '127.0.0.1', balancerPort: await freePort(), sessionPort: await freePort()},
            miio: {host: '127.0.0.1', port: udpPort, gslb: {enabled: false}, devices: [{did: MIIO_PLUG_DID, key: simulatedCloudKey(MIIO_PLUG_DID)}]},
            rainmaker: {enabled: false},
        },
    });
    const bridge = await startBridge(settings, [icomenFamily, miioFamily]);
    const [plug] = await startIcomenPlugs({count: 1, host: '127.0.0.1', port: settings.icomen.balancerPort});
    const miio = await startMiioSimulator({model: 'chuangmi.plug.m1', host: '127.0.0.1', port: udpPort, didBase: MIIO_PLUG_DID});
    const ha = await connect(mosquitto.url);
    // The icomen leg: HA → Mosquitto → bridge → plug (TCP, AES) → bridge → Mosquitto → HA.
    legs.icomen = await switchLeg(ha, `icomen-${plug!.mac}`);
    // The miIO leg: the same over UDP 8053 (AES + MD5 per packet, an ack and a get_prop per command).
    legs.miio = await switchLeg(ha, miioDeviceId(MIIO_PLUG_DID));
    await ha.endAsync();
    await plug!.stop();
    await miio.stop();
    await bridge.stop();
    const {rmSync} = await import('node:fs');
    rmSync(dataDir, {recursive: true, force: true});

    for (const [leg, ms] of Object.entries(legs)) {
        printResult({
            bench: 'roundtrip',
            leg,
            commands: COMMANDS,
            ms,
            baselineMs: baseline,
            ratioP50: Number((ms.p50 / baseline.p50).toFixed(2)),
            ratioP99: Number((ms.p99 / baseline.p99).toFixed(2)),
            targets: {p99Ms: 2, ratioP99: 3},
        });
    }
} finally {
    await mosquitto.stop();
}
