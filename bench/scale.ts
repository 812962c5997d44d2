/**
 * Constant cost per device (issue 8): for each family and fleet size, one bridge process, one
 * simulator process holding the whole fleet, Mosquitto as Home Assistant's broker, an echo client
 * for the plain-broker baseline, and this process as "HA".
 *
 * `npm run bench -- scale [--devices 200,2000] [--families icomen,miio] [--window 30] [--commands 1000] [--heartbeat-s 30] [--miio-poll-s 30] [--cpu-prof dir] [--diagnostics dir]`
 * prints one JSON line. Per family and size: seconds until all devices are online in HA (watched on
 * HA's broker), the icomen balancer's slowest answer during that storm, bridge CPU per device per
 * minute at steady state (over `--window` seconds, less the idle bridge's own, read once its
 * start-up traffic to HA is over), RSS per device (above the idle bridge), command p50/p99 next to
 * the broker echo measured in alternating rounds with them, how HA's broker restarting without
 * persistence is lived through (seconds from its port returning until the bridge is online on it,
 * and until every device's availability, state and discovery are there again), the bridge restarted
 * while the devices stay up (seconds until all are online again; icomen: the balancer's slowest
 * answer meanwhile, while the plugs reconnect straight to the session port as real plugs do),
 * seconds until all are offline after the simulator is killed, and seconds the bridge takes to stop
 * (SIGTERM) in the middle of a reconnect storm. For miIO also the hellos the bridge left unanswered
 * in the first minute after the devices started and after it (the minute is waited out; read from
 * the bridge's diagnostics, so a count is up to 10 s late and lands in the later bucket). Per
 * family: CPU per device at the largest size over the smallest (null, with a note, when the
 * devices' CPU is lost in the idle bridge's own).
 */
import {type ChildProcess, spawn} from 'node:child_process';
import {appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import {setPriority, tmpdir} from 'node:os';
import {createInterface} from 'node:readline';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import type {MqttClient} from 'mqtt';

import {Command, DEFAULT_KEY, echoCounters, FrameCodec, macHex, VENDOR_ALDI} from '../src/families/icomen/codec.js';
import {deviceIdFor} from '../src/families/icomen/adapter.js';
import {miioDeviceId} from '../src/families/miio/adapter.js';
import {simulatedPlugMac} from '../src/simulate/icomen.js';
import {simulatedCloudKey} from '../src/simulate/miio.js';
import {type MosquittoInstance, startMosquitto} from '../test/support/mosquitto.js';
import {freePort} from '../test/support/net.js';
import {printResult} from './stats.js';
import {
    alternatingLoops,
    argument,
    AVAILABILITY_TOPICS,
    connect,
    cpuSeconds,
    DeviceTopicWatch,
    echoStep,
    fogbridge,
    rssBytes,
    runEcho,
    sleep,
    startEcho,
    stopProcess,
    type Summary,
    summarise,
    switchStep,
} from './support.js';

type FamilyName = 'icomen' | 'miio';

const SIZES = argument('devices', '200,2000').split(',').map(Number);
const FAMILIES = argument('families', 'icomen,miio').split(',') as FamilyName[];
const WINDOW_S = Number(argument('window', '30'));
/** Heartbeat (icomen) and keepalive (miIO) interval; shorter than the real 30 s / 15 s magnifies the per-packet cost over the noise. */
const HEARTBEAT_S = process.argv.includes('--heartbeat-s') ? Number(argument('heartbeat-s', '30')) : null;
/**
 * miIO's status poll interval: a poll left unanswered also shows a device offline, all devices at
 * the poll's phase, so a long one (3600) shows what the keepalive watch alone takes.
 */
const MIIO_POLL_S = process.argv.includes('--miio-poll-s') ? Number(argument('miio-poll-s', '30')) : null;
const COMMANDS = Number(argument('commands', '1000'));
/** The echo and the commands alternate in this many rounds of COMMANDS / ROUNDS each. */
const ROUNDS = 5;
const WARMUP = 50;
/** Devices the command loop cycles through, spread over the fleet. */
const COMMANDED_DEVICES = 20;
const MIIO_DID_BASE = 278_000_001;
/** Far above any simulated plug, so the probe never takes a simulated plug's MAC. */
const PROBE_PLUG_INDEX = 0xfffff0;
/** Past the start-up's compilation and first collections: when the idle bridge's memory is read. */
const START_UP_MS = 5000;
/**
 * V8's memory reducer runs full collections in every thread's heap some 8–20 s after start: the
 * idle CPU window waits them out, or they are counted as the idle bridge's cost (3–10 % of a core
 * where the truth is 0.1–0.2 %).
 */
const MEMORY_REDUCER_MS = 15_000;
/** HA's broker silent this long: the bridge's start-up replay is over. */
const QUIET_MS = 2000;
/** The bridge's own cost before any device connects, subtracted from the steady state's. */
const IDLE_WINDOW_MS = 10_000;
/** The cost at steady state, not the connect storm's tail (replays, device list). */
const SETTLE_MS = 5000;
/** The target: no hello left unanswered once the first minute of a storm is over. */
const HELLO_GRACE_MS = 60_000;
/** How often the bridge publishes its diagnostics when they changed (ha/bridge-device.ts), plus slack. */
const DIAGNOSTICS_LAG_MS = 12_000;
/** How long HA's broker stays away when it restarts: the bridge notices and is in its reconnect back-off. */
const BROKER_OUTAGE_MS = 1000;
const CPU_PROFILE_DIR = process.argv.includes('--cpu-prof') ? argument('cpu-prof', '') || path.join(tmpdir(), 'fogbridge-profiles') : null;
/** `--diagnostics <dir>`: the bridge's event-loop delay, the probes and its memory after GC per size (`bridge-diagnostics.ts`). */
const DIAGNOSTICS_DIR = process.argv.includes('--diagnostics') ? argument('diagnostics', '') || path.join(tmpdir(), 'fogbridge-diagnostics') : null;
if (DIAGNOSTICS_DIR) {
    mkdirSync(DIAGNOSTICS_DIR, {recursive: true});
    // Read by the preload in the bridge (the simulators inherit it and ignore it).
    process.env.FOGBRIDGE_DIAGNOSTICS_DIR = DIAGNOSTICS_DIR;
}

/** When the storm, the probes and the memory snapshots happened, to read beside the bridge's `loop.jsonl`. */
function diagnosticEvent(event: Record<string, unknown>): void {
    if (DIAGNOSTICS_DIR) appendFileSync(path.join(DIAGNOSTICS_DIR, 'events.jsonl'), `${JSON.stringify({at: Date.now(), ...event})}\n`);
}

/**
 * The kernel's count of connections dropped from a full accept queue (machine-wide): a plug whose
 * handshake's last ACK is dropped waits for the SYN-ACK to be sent again, after 1, 3, 7 s.
 */
function listenOverflows(): number {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((line) => line.startsWith('TcpExt:'));
    const [names, values] = lines.map((line) => line.split(/\s+/));
    return Number(values?.[names?.indexOf('ListenOverflows') ?? -1] ?? Number.NaN);
}

interface MemoryAfterGc {
    vmRssKb: number;
    heapUsed: number;
    heapTotal: number;
    external: number;
}

/** The bridge's memory after GC (and a heap snapshot with FOGBRIDGE_HEAP_SNAPSHOT=1), named `label`; null without `--diagnostics`. */
async function memorySnapshot(bridge: ChildProcess, label: string): Promise<MemoryAfterGc | null> {
    if (!DIAGNOSTICS_DIR) return null;
    writeFileSync(path.join(DIAGNOSTICS_DIR, 'label'), label);
    bridge.kill('SIGUSR2');
    while (!existsSync(path.join(DIAGNOSTICS_DIR, `done-${label}`))) await sleep(100);
    return JSON.parse(readFileSync(path.join(DIAGNOSTICS_DIR, `memory-${label}.json`), 'utf8')) as MemoryAfterGc;
}

/** What each device holds once the garbage is collected: the floor under `rssKbPerDevice`, by kind. */
function perDeviceAfterGc(idle: MemoryAfterGc, steady: MemoryAfterGc, devices: number): Record<string, number> {
    const kb = (bytes: number): number => Number((bytes / 1024 / devices).toFixed(2));
    return {
        rss: kb((steady.vmRssKb - idle.vmRssKb) * 1024),
        jsLive: kb(steady.heapUsed - idle.heapUsed),
        jsHeapCommitted: kb(steady.heapTotal - idle.heapTotal),
        external: kb(steady.external - idle.external),
    };
}

interface SizeResult {
    devices: number;
    onlineS: number;
    balancerMaxMs?: BalancerProbe;
    steadyCorePercent: number;
    idleCorePercent: number;
    cpuMsPerDevicePerMin: number;
    rssMb: number;
    rssKbPerDevice: number;
    /** With `--diagnostics`: KB per device after two full collections, RSS and its V8 parts. */
    afterGcKbPerDevice?: Record<string, number>;
    commandsMs: Summary;
    echoMs: Summary;
    ratioP99: number;
    haBrokerRestart: HaBrokerRestart;
    bridgeRestart: BridgeRestart;
    offlineS: number;
    stopDuringStormS: number;
    hellosUnanswered?: {firstMinute: number; afterFirstMinute: number; watchedAfterS: number};
}

/** Seconds from HA's broker listening again (restarted, nothing retained) until each is there again. */
interface HaBrokerRestart {
    bridgeOnlineS: number;
    allAvailableS: number;
    allStatesS: number;
    allDiscoveryS: number;
}

/** The bridge's broker for HA, which the restart phase replaces with a new one on the same port. */
interface HaBroker {
    instance: MosquittoInstance;
}

/**
 * Restarts HA's broker without persistence while the fleet is connected and times, as a fresh HA
 * client sees it, the bridge's reconnect and its replay of everything the broker lost. Resolves
 * with the new client, subscribed to the availability topics.
 */
async function restartHaBroker(broker: HaBroker, bridge: ChildProcess, ids: string[]): Promise<{ha: MqttClient; watch: DeviceTopicWatch; restart: HaBrokerRestart}> {
    const {port} = broker.instance;
    await broker.instance.stop();
    await sleep(BROKER_OUTAGE_MS);
    broker.instance = await startMosquitto({port});
    const back = Date.now();
    diagnosticEvent({haBrokerBack: port});
    const secondsSinceBack = (): number => Number(((Date.now() - back) / 1000).toFixed(2));
    const ha = await connect(broker.instance.url);
    const watch = await DeviceTopicWatch.start(ha, AVAILABILITY_TOPICS);
    const states = await DeviceTopicWatch.start(ha, 'fogbridge/+/state');
    const discovery = await DeviceTopicWatch.start(ha, 'homeassistant/device/+/config');
    await waitForBridge(ha, bridge);
    const bridgeOnlineS = secondsSinceBack();
    const [allAvailableS, allStatesS, allDiscoveryS] = await Promise.all(
        [watch.until(ids, 'online', 600_000), states.until(ids, undefined, 600_000), discovery.until(ids, undefined, 600_000)].map((done) => done.then(secondsSinceBack)),
    );
    await ha.unsubscribeAsync(['fogbridge/+/state', 'homeassistant/device/+/config']);
    return {ha, watch, restart: {bridgeOnlineS, allAvailableS: allAvailableS!, allStatesS: allStatesS!, allDiscoveryS: allDiscoveryS!}};
}

interface BridgeRestart {
    /** SIGTERM to exit, with every device connected. */
    stopS: number;
    /** From the new bridge's start until HA has heard every device say `online` again. */
    allOnlineS: number;
    /** icomen: while the plugs reconnect to the session port. */
    balancerMaxMs?: BalancerProbe;
}

/**
 * Restarts the bridge (SIGTERM, then the same settings and data directory) while the devices stay
 * up and reconnect on their own, and times until HA has heard every one say `online` again; with a
 * balancer port, probes the balancer meanwhile. Resolves with the new bridge.
 */
async function restartBridge(
    bridge: ChildProcess,
    startBridge: () => ChildProcess,
    watch: DeviceTopicWatch,
    ids: string[],
    balancerPort: number | null,
): Promise<{bridge: ChildProcess; restart: BridgeRestart}> {
    const stopS = await stopProcess(bridge, 30_000);
    // The availability said before the restart is no answer to it.
    watch.forget();
    const restarted = startBridge();
    const startedAt = Date.now();
    diagnosticEvent({bridgeRestarted: ids.length});
    const probes = balancerPort === null ? null : balancerProbes(balancerPort);
    await watch.until(ids, 'online', 600_000);
    const restart: BridgeRestart = {stopS, allOnlineS: (Date.now() - startedAt) / 1000};
    const balancerMaxMs = await probes?.stop();
    if (balancerMaxMs) restart.balancerMaxMs = balancerMaxMs;
    return {bridge: restarted, restart};
}

interface CountSeen {
    at: number;
    count: number;
}

/** `hellos_unanswered` from the bridge's diagnostics as HA receives them, with when each arrived. */
async function watchUnansweredHellos(ha: MqttClient): Promise<CountSeen[]> {
    const seen: CountSeen[] = [];
    ha.on('message', (topic, payload) => {
        if (topic !== 'fogbridge/bridge/diagnostics') return;
        const count = (JSON.parse(payload.toString()) as {hellos_unanswered?: unknown}).hellos_unanswered;
        if (typeof count === 'number') seen.push({at: Date.now(), count});
    });
    await ha.subscribeAsync('fogbridge/bridge/diagnostics', {qos: 0});
    return seen;
}

function countAt(seen: CountSeen[], time: number): number {
    return seen.filter((entry) => entry.at <= time).at(-1)?.count ?? 0;
}

function deviceIds(family: FamilyName, count: number): string[] {
    return Array.from({length: count}, (_, index) => (family === 'icomen' ? deviceIdFor(macHex(simulatedPlugMac(index))) : miioDeviceId(MIIO_DID_BASE + index)));
}

function bridgeSettings(family: FamilyName, size: number, haUrl: string, dataDir: string, ports: number[]): Record<string, unknown> {
    const settings: Record<string, unknown> = {
        dataDir,
        logLevel: 'warn',
        ha: {mqtt: {url: haUrl}},
        icomen: {enabled: false},
        miio: {enabled: false},
        rainmaker: {enabled: false},
        // Other engineers' runs on this machine hold the default ports.
        ecovacs: {enabled: false},
        web: {enabled: false},
    };
    if (family === 'icomen') {
        settings.icomen = {host: '127.0.0.1', balancerPort: ports[0], sessionPort: ports[1], maxPlugs: size + 1, maxConnections: 2 * size + 64};
    } else {
        const devices = Array.from({length: size}, (_, index) => ({did: MIIO_DID_BASE + index, key: simulatedCloudKey(MIIO_DID_BASE + index)}));
        settings.miio = {host: '127.0.0.1', port: ports[0], gslb: {enabled: false}, devices, ...(MIIO_POLL_S ? {pollIntervalSeconds: MIIO_POLL_S} : {})};
    }
    return settings;
}

function simulatorArgs(family: FamilyName, size: number, ports: number[]): string[] {
    if (family === 'icomen') {
        return ['simulate', 'icomen', '--count', String(size), '--port', String(ports[0]), ...(HEARTBEAT_S ? ['--heartbeat-ms', String(HEARTBEAT_S * 1000)] : [])];
    }
    return [
        'simulate', 'miio', '--model', 'chuangmi.plug.m1', '--count', String(size), '--did-base', String(MIIO_DID_BASE), '--port', String(ports[0]),
        ...(HEARTBEAT_S ? ['--keepalive-seconds', String(HEARTBEAT_S)] : []),
    ];
}

interface BalancerProbe {
    /** From the first SYN to the answer: includes the kernel's accept queue and SYN retries. */
    totalMs: number;
    /** From the established connection to the answer: the bridge's own share. */
    answerMs: number;
}

/** How long the icomen balancer takes to answer one 0x41, as a plug in a storm sees it. */
function probeBalancer(port: number): Promise<BalancerProbe> {
    const codec = new FrameCodec({key: DEFAULT_KEY, mac: simulatedPlugMac(PROBE_PLUG_INDEX), vendor: VENDOR_ALDI, counters: echoCounters()});
    return new Promise((resolve) => {
        const start = process.hrtime.bigint();
        let connected = start;
        const socket = net.connect({host: '127.0.0.1', port});
        socket.setNoDelay(true);
        const done = (): void => {
            socket.destroy();
            const now = process.hrtime.bigint();
            resolve({totalMs: Number(now - start) / 1e6, answerMs: Number(now - connected) / 1e6});
        };
        socket.setTimeout(30_000, done);
        socket.once('data', done);
        socket.once('error', done);
        socket.on('connect', () => {
            connected = process.hrtime.bigint();
            socket.write(codec.request(Command.changeServer).frame);
        });
    });
}

/** `--probe <port>`: probes every 250 ms and prints each result as a JSON line, until killed. */
async function runProbes(port: number): Promise<void> {
    // Ahead of the bridge, the simulators and the broker for the CPU: what it times is the bridge's
    // answer, not its own wait for a core (raising a priority needs root or CAP_SYS_NICE).
    try {
        setPriority(-10);
    } catch {
        process.stderr.write('balancer probe: cannot raise its priority (not root); its own waits for a core count in its figures\n');
    }
    for (;;) {
        // Stamped here: the bench process reads these lines late while HA's messages keep it busy.
        const startedAt = Date.now();
        process.stdout.write(`${JSON.stringify({startedAt, ...(await probeBalancer(port))})}\n`);
        await sleep(250);
    }
}

/**
 * The probes run in a process of their own: this one is busy reading every message HA gets, which
 * would delay the answers it times.
 */
function balancerProbes(port: number): {stop(): Promise<BalancerProbe>} {
    const slowest: BalancerProbe = {totalMs: 0, answerMs: 0};
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--probe', String(port)], {stdio: ['ignore', 'pipe', 'inherit']});
    createInterface({input: child.stdout!}).on('line', (line) => {
        const probe = JSON.parse(line) as BalancerProbe;
        diagnosticEvent({probe});
        slowest.totalMs = Math.max(slowest.totalMs, probe.totalMs);
        slowest.answerMs = Math.max(slowest.answerMs, probe.answerMs);
    });
    return {
        async stop() {
            await stopProcess(child);
            return {totalMs: Number(slowest.totalMs.toFixed(1)), answerMs: Number(slowest.answerMs.toFixed(1))};
        },
    };
}

/**
 * Resolves once HA's broker has carried nothing for `QUIET_MS`: the bridge's start-up replay of the
 * fleet it knows (paced at `ha.replayRatePerSecond`, so never silent that long while it runs) is
 * over. Resolves with the seconds until the last message.
 */
async function untilQuiet(ha: MqttClient): Promise<number> {
    const started = Date.now();
    let last = started;
    let onMessage = (): void => undefined;
    await new Promise<void>((resolve) => {
        const quiet = setTimeout(resolve, QUIET_MS);
        onMessage = (): void => {
            last = Date.now();
            quiet.refresh();
        };
        ha.on('message', onMessage);
        void ha.subscribeAsync('#', {qos: 0});
    });
    ha.off('message', onMessage);
    await ha.unsubscribeAsync('#');
    return (last - started) / 1000;
}

async function waitForBridge(ha: MqttClient, child: ChildProcess): Promise<void> {
    await new Promise<void>((resolve, reject) => {
        const onMessage = (topic: string, payload: Buffer): void => {
            if (topic !== 'fogbridge/bridge/state' || payload.toString() !== 'online') return;
            ha.off('message', onMessage);
            resolve();
        };
        ha.on('message', onMessage);
        child.once('exit', (code) => reject(new Error(`the bridge exited with ${code}`)));
        void ha.subscribeAsync('fogbridge/bridge/state', {qos: 0});
    });
    await ha.unsubscribeAsync('fogbridge/bridge/state');
}

async function runSize(family: FamilyName, size: number, broker: HaBroker): Promise<SizeResult> {
    const haUrl = broker.instance.url;
    const dataDir = mkdtempSync(path.join(tmpdir(), 'fogbridge-scale-'));
    const ports = [await freePort(), await freePort()];
    const settingsFile = path.join(dataDir, 'settings.json');
    writeFileSync(settingsFile, JSON.stringify(bridgeSettings(family, size, haUrl, path.join(dataDir, 'data'), ports)));
    const children: ChildProcess[] = [];
    let ha = await connect(haUrl);
    try {
        // Retained availability of an earlier size must not count as this one's.
        let watch = await DeviceTopicWatch.start(ha, AVAILABILITY_TOPICS);
        const hellosSeen = await watchUnansweredHellos(ha);
        // One directory per run: Node writes a profile per thread (tsx's loader has its own).
        const nodeOptions = CPU_PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', path.join(CPU_PROFILE_DIR, `bridge-${family}-${size}`)] : [];
        if (DIAGNOSTICS_DIR) nodeOptions.push('--import', path.join(path.dirname(fileURLToPath(import.meta.url)), 'bridge-diagnostics.ts'));
        const startBridge = (): ChildProcess => {
            const child = fogbridge(['run', '--config', settingsFile], {nodeOptions});
            children.push(child);
            return child;
        };
        let bridge = startBridge();
        await waitForBridge(ha, bridge);
        // Configured devices (miIO) are replayed to HA at start: the idle readings come after that.
        diagnosticEvent({startUpReplayS: await untilQuiet(ha), devices: size});
        await sleep(START_UP_MS);
        const idleRss = rssBytes(bridge.pid!);
        // After the reading: the forced collections would lower the idle figure, not the steady one.
        const idleAfterGc = await memorySnapshot(bridge, `${family}-${size}-idle`);
        await sleep(MEMORY_REDUCER_MS);
        const idleCpuStart = cpuSeconds(bridge.pid!);
        await sleep(IDLE_WINDOW_MS);
        const idleCpuPerSecond = (cpuSeconds(bridge.pid!) - idleCpuStart) / (IDLE_WINDOW_MS / 1000);

        const ids = deviceIds(family, size);
        const started = Date.now();
        const probes = family === 'icomen' ? balancerProbes(ports[0]!) : null;
        diagnosticEvent({storm: `${family}-${size}`, listenOverflows: listenOverflows()});
        let simulator = fogbridge(simulatorArgs(family, size, ports), {stderr: 'ignore'});
        children.push(simulator);
        const progress = DIAGNOSTICS_DIR ? setInterval(() => diagnosticEvent({onlineInHa: watch.reached}), 1000) : undefined;
        await watch.until(ids, 'online', 600_000).finally(() => clearInterval(progress));
        const onlineS = (Date.now() - started) / 1000;
        const balancerMaxMs = await probes?.stop();
        diagnosticEvent({online: `${family}-${size}`, listenOverflows: listenOverflows()});

        await sleep(SETTLE_MS);
        const cpuBefore = cpuSeconds(bridge.pid!);
        await sleep(WINDOW_S * 1000);
        const cpuUsed = cpuSeconds(bridge.pid!) - cpuBefore;
        const rss = rssBytes(bridge.pid!);
        const steadyAfterGc = await memorySnapshot(bridge, `${family}-${size}-steady`);

        const commanded = Array.from({length: COMMANDED_DEVICES}, (_, index) => ids[Math.floor((index * size) / COMMANDED_DEVICES)]!);
        const loops = await alternatingLoops(ha, ROUNDS, Math.ceil(COMMANDS / ROUNDS), WARMUP, echoStep, switchStep(commanded));
        const echoMs = summarise(loops.baseline);
        const commandsMs = summarise(loops.measured);

        let hellosUnanswered: SizeResult['hellosUnanswered'];
        if (family === 'miio') {
            await sleep(started + HELLO_GRACE_MS + DIAGNOSTICS_LAG_MS - Date.now());
            const firstMinute = countAt(hellosSeen, started + HELLO_GRACE_MS);
            hellosUnanswered = {firstMinute, afterFirstMinute: countAt(hellosSeen, Date.now()) - firstMinute, watchedAfterS: Math.round((Date.now() - started - HELLO_GRACE_MS) / 1000)};
        }

        await ha.endAsync(true);
        const restarted = await restartHaBroker(broker, bridge, ids);
        ({ha, watch} = restarted);

        const bridgeRestarted = await restartBridge(bridge, startBridge, watch, ids, family === 'icomen' ? ports[0]! : null);
        bridge = bridgeRestarted.bridge;

        const left = Date.now();
        simulator.kill('SIGKILL');
        await watch.until(ids, 'offline', 600_000);
        const offlineS = (Date.now() - left) / 1000;

        simulator = fogbridge(simulatorArgs(family, size, ports), {stderr: 'ignore'});
        children.push(simulator);
        await sleep(2000);
        const stopDuringStormS = await stopProcess(bridge, 30_000);

        return {
            devices: size,
            onlineS,
            ...(balancerMaxMs === undefined ? {} : {balancerMaxMs}),
            steadyCorePercent: Number(((cpuUsed / WINDOW_S) * 100).toFixed(2)),
            idleCorePercent: Number((idleCpuPerSecond * 100).toFixed(2)),
            // What the devices cost: the idle bridge's own timers are not a per-device cost.
            cpuMsPerDevicePerMin: Number((((cpuUsed - idleCpuPerSecond * WINDOW_S) * 1000) / size / (WINDOW_S / 60)).toFixed(4)),
            rssMb: Number((rss / 2 ** 20).toFixed(1)),
            rssKbPerDevice: Number(((rss - idleRss) / 1024 / size).toFixed(2)),
            ...(idleAfterGc && steadyAfterGc ? {afterGcKbPerDevice: perDeviceAfterGc(idleAfterGc, steadyAfterGc, size)} : {}),
            commandsMs,
            echoMs,
            ratioP99: Number((commandsMs.p99 / echoMs.p99).toFixed(2)),
            haBrokerRestart: restarted.restart,
            bridgeRestart: bridgeRestarted.restart,
            offlineS,
            stopDuringStormS,
            ...(hellosUnanswered ? {hellosUnanswered} : {}),
        };
    } finally {
        await Promise.all(children.map((child) => stopProcess(child, 30_000)));
        // The next size starts from a broker without this one's retained topics.
        await ha.endAsync();
        rmSync(dataDir, {recursive: true, force: true});
    }
}

if (process.argv.includes('--echo')) {
    await runEcho(argument('echo', ''));
} else if (process.argv.includes('--probe')) {
    await runProbes(Number(argument('probe', '0')));
} else {
    const results: Record<string, SizeResult[] | number | string | null> = {};
    for (const family of FAMILIES) {
        const perSize: SizeResult[] = [];
        for (const size of SIZES) {
            // A broker per size: nothing retained from the last one, no session state carried over.
            const broker: HaBroker = {instance: await startMosquitto()};
            const echo = await startEcho(fileURLToPath(import.meta.url), broker.instance.url);
            try {
                perSize.push(await runSize(family, size, broker));
            } finally {
                await stopProcess(echo);
                await broker.instance.stop();
            }
            process.stderr.write(`${family} ${size}: ${JSON.stringify(perSize.at(-1))}\n`);
        }
        results[family] = perSize;
        if (perSize.length > 1) {
            // A ratio of two figures lost in the idle bridge's own noise would read as a result.
            const measurable = perSize.every((result) => result.steadyCorePercent - result.idleCorePercent >= result.idleCorePercent);
            results[`${family}CpuRatioLargeToSmall`] = measurable ? Number((perSize.at(-1)!.cpuMsPerDevicePerMin / perSize[0]!.cpuMsPerDevicePerMin).toFixed(2)) : null;
            if (!measurable) results[`${family}CpuRatioNote`] = "the devices' CPU is below the idle bridge's own at some size: too small to divide; shorten the heartbeats (--heartbeat-s 5)";
            // V8 grows in steps: the slope between two sizes says more than one size's average (performance.md §3.2).
            const [small, large] = [perSize[0]!, perSize.at(-1)!];
            results[`${family}RssKbPerDeviceSlope`] = Number((((large.rssMb - small.rssMb) * 1024) / (large.devices - small.devices)).toFixed(2));
        }
    }
    printResult({
        bench: 'scale',
        windowS: WINDOW_S,
        heartbeatS: HEARTBEAT_S ?? 'default (icomen 30, miIO 15)',
        ...results,
        targets: {icomen10kOnlineS: 20, offlineS: 20, haBrokerRestart: {bridgeOnlineS: 1, allStatesS: 3}, balancerMs: 100, steadyCorePercentAt10k: 15, rssKbPerPlug: 8, miio1kOnlineS: 30, cpuRatio: 1.3, ratioP99: 3, stopS: 5},
    });
}
