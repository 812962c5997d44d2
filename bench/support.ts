/**
 * What the process-per-role benchmarks share (performance.md §3.1): the bridge and simulators as
 * child processes, the echo client of the plain-broker baseline, the HA side's closed command loop
 * and its summary, and the bridge's CPU and memory read from /proc.
 */
import {type ChildProcess, spawn} from 'node:child_process';
import {readFileSync} from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import mqtt, {type MqttClient} from 'mqtt';

import {percentile} from './stats.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface Summary {
    p50: number;
    p99: number;
    max: number;
    over40ms: number;
}

export function summarise(samplesNs: bigint[]): Summary {
    const ms = samplesNs.map((ns) => Number(ns) / 1e6).sort((a, b) => a - b);
    const round = (value: number): number => Number(value.toFixed(3));
    return {p50: round(percentile(ms, 50)), p99: round(percentile(ms, 99)), max: round(ms.at(-1)!), over40ms: ms.filter((value) => value > 40).length};
}

export interface LoopStep {
    topic: string;
    payload: string;
    receiveTopic: string;
    accept: (payload: string) => boolean;
}

/** Publishes, waits for the answer that `accept`s, `warmup + count` times in a closed loop. */
export async function closedLoop(client: MqttClient, count: number, warmup: number, step: (i: number) => LoopStep): Promise<bigint[]> {
    const samples: bigint[] = [];
    let pending: {receiveTopic: string; accept: (payload: string) => boolean; resolve: () => void} | null = null;
    const onMessage = (topic: string, payload: Buffer): void => {
        if (topic === pending?.receiveTopic && pending.accept(payload.toString())) {
            const done = pending;
            pending = null;
            done.resolve();
        }
    };
    client.on('message', onMessage);
    const topics = new Set<string>();
    for (let i = 0; i < count + warmup; i++) {
        const {topic, payload, receiveTopic, accept} = step(i);
        if (!topics.has(receiveTopic)) {
            topics.add(receiveTopic);
            await client.subscribeAsync(receiveTopic, {qos: 0});
        }
        let timer: NodeJS.Timeout | undefined;
        const arrived = new Promise<void>((resolve, reject) => {
            pending = {receiveTopic, accept, resolve};
            // A lost answer must end the run with its reason, not hang it.
            timer = setTimeout(() => reject(new Error(`no answer on ${receiveTopic} to ${topic} = ${payload} within 10 s`)), 10_000);
        });
        const start = process.hrtime.bigint();
        client.publish(topic, payload, {qos: 0});
        await arrived;
        clearTimeout(timer);
        if (i >= warmup) samples.push(process.hrtime.bigint() - start);
    }
    client.off('message', onMessage);
    await client.unsubscribeAsync([...topics]);
    return samples;
}

/**
 * A baseline loop and the loop under test in alternating rounds, so that a noisy moment of a shared
 * machine falls on both rather than on one of them: their p99s are then comparable.
 */
export async function alternatingLoops(
    client: MqttClient,
    rounds: number,
    perRound: number,
    warmup: number,
    baseline: (i: number) => LoopStep,
    measured: (i: number) => LoopStep,
): Promise<{baseline: bigint[]; measured: bigint[]}> {
    const samples = {baseline: [] as bigint[], measured: [] as bigint[]};
    for (let round = 0; round < rounds; round++) {
        const roundWarmup = round === 0 ? warmup : 0;
        samples.baseline.push(...(await closedLoop(client, perRound, roundWarmup, baseline)));
        samples.measured.push(...(await closedLoop(client, perRound, roundWarmup, measured)));
    }
    return samples;
}

/** The plain round trip HA side → broker → echo client → broker → HA side. */
export function echoStep(i: number): LoopStep {
    return {topic: 'bench/ping', payload: String(i), receiveTopic: 'bench/pong', accept: (payload) => payload === String(i)};
}

/**
 * Switches the `switch` feature of `deviceIds[i % n]` ON and OFF from the HA side and waits for each
 * state. Each device alternates from OFF (the simulators' start), across every loop that reuses
 * the returned step: asking for the state a device already has would get no answer.
 */
export function switchStep(deviceIds: string[]): (i: number) => LoopStep {
    const on = new Map<string, boolean>();
    return (i) => {
        const deviceId = deviceIds[i % deviceIds.length]!;
        on.set(deviceId, !(on.get(deviceId) ?? false));
        const wanted = on.get(deviceId) ? 'ON' : 'OFF';
        return {
            topic: `fogbridge/${deviceId}/switch/set`,
            payload: wanted,
            receiveTopic: `fogbridge/${deviceId}/state`,
            accept: (payload) => (JSON.parse(payload) as {switch?: string}).switch === wanted,
        };
    };
}

export async function connect(url: string): Promise<MqttClient> {
    const client = await mqtt.connectAsync(url, {clientId: `bench-${Math.random().toString(16).slice(2)}`});
    (client.stream as {setNoDelay?: (on: boolean) => void}).setNoDelay?.(true);
    return client;
}

/** The memory settings `addon/run.sh` and `npm start` run the bridge with, so that the figures are the shipped ones. */
const SHIPPED_NODE_OPTIONS = ['--max-semi-space-size=2'];
const SHIPPED_ENV = {MALLOC_ARENA_MAX: '2'};

/** `fogbridge <args>` in a process of its own; simulators log every switch, which would only cost time here. */
export function fogbridge(args: string[], options: {stderr?: 'inherit' | 'ignore'; nodeOptions?: string[]} = {}): ChildProcess {
    const shipped = args[0] === 'run';
    // tsx first: a TypeScript module in `nodeOptions` (`--import x.ts`) needs it.
    const nodeOptions = ['--import', 'tsx', ...(shipped ? SHIPPED_NODE_OPTIONS : []), ...(options.nodeOptions ?? [])];
    return spawn(process.execPath, [...nodeOptions, path.join(root, 'src/cli.ts'), ...args], {
        cwd: root,
        env: shipped ? {...process.env, ...SHIPPED_ENV} : process.env,
        stdio: ['ignore', 'ignore', options.stderr ?? 'inherit'],
    });
}

/** The echo client of the baseline, in a process of its own like the bridge: `<bench> --echo <url>`. */
export async function runEcho(url: string): Promise<void> {
    const echo = await connect(url);
    echo.on('message', (_topic, payload) => echo.publish('bench/pong', payload, {qos: 0}));
    await echo.subscribeAsync('bench/ping', {qos: 0});
    process.stdout.write('ready\n');
}

export async function startEcho(benchFile: string, url: string): Promise<ChildProcess> {
    const echo = spawn(process.execPath, ['--import', 'tsx', benchFile, '--echo', url], {stdio: ['ignore', 'pipe', 'inherit']});
    await new Promise((resolve) => echo.stdout!.once('data', resolve));
    return echo;
}

/** Every device's availability topic, as the bridge publishes it. */
export const AVAILABILITY_TOPICS = 'fogbridge/+/availability';

/**
 * Watches the topics of one filter whose `+` is a device id, and tells when every one of
 * `deviceIds` has last said a payload (or anything at all): the moment Home Assistant shows them so.
 * Each message costs the same at any fleet size: this process shares the machine with the bridge,
 * and a scan of the fleet per message (a 10,000-device storm is 10,000 messages) would take cores
 * from what it measures.
 */
export class DeviceTopicWatch {
    private readonly latest = new Map<string, string>();
    private waiter: {ids: Set<string>; payload: string | undefined; missing: Set<string>; resolve: () => void} | null = null;

    private constructor(ha: MqttClient, filter: string) {
        const levels = filter.split('/');
        const idLevel = levels.indexOf('+');
        ha.on('message', (topic, payload) => {
            const parts = topic.split('/');
            if (parts.length !== levels.length || !levels.every((level, index) => level === '+' || level === parts[index])) return;
            const id = parts[idLevel]!;
            const said = payload.toString();
            this.latest.set(id, said);
            const waiter = this.waiter;
            if (!waiter?.ids.has(id)) return;
            if (waiter.payload === undefined || said === waiter.payload) waiter.missing.delete(id);
            else waiter.missing.add(id);
            this.check();
        });
    }

    /** `filter`: a topic filter with one `+`, the device id's level. */
    static async start(ha: MqttClient, filter: string): Promise<DeviceTopicWatch> {
        const watch = new DeviceTopicWatch(ha, filter);
        await ha.subscribeAsync(filter, {qos: 0});
        return watch;
    }

    /** How many of the devices being waited for have said it so far (0 while nothing is waited for). */
    get reached(): number {
        return this.waiter ? this.waiter.ids.size - this.waiter.missing.size : 0;
    }

    /** Forgets what every device said: `until` then waits for each to say it again. */
    forget(): void {
        this.latest.clear();
    }

    /** Resolves once each of `ids` has last said `payload` (without one: said anything). */
    until(ids: string[], payload: string | undefined, timeoutMs: number): Promise<void> {
        return new Promise((resolve, reject) => {
            const missing = new Set(ids.filter((id) => !this.latest.has(id) || (payload !== undefined && this.latest.get(id) !== payload)));
            const timer = setTimeout(() => {
                this.waiter = null;
                reject(new Error(`${missing.size} of ${ids.length} devices not ${payload ?? 'heard'} after ${timeoutMs} ms`));
            }, timeoutMs);
            this.waiter = {
                ids: new Set(ids),
                payload,
                missing,
                resolve: () => {
                    clearTimeout(timer);
                    resolve();
                },
            };
            this.check();
        });
    }

    private check(): void {
        const waiter = this.waiter;
        if (!waiter || waiter.missing.size > 0) return;
        this.waiter = null;
        waiter.resolve();
    }
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime are fields 14 and 15 of stat; after the command name they are the 12th and 13th.
    return (Number(fields[11]) + Number(fields[12])) / 100;
}

export function rssBytes(pid: number): number {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : Number.NaN;
}

export function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

export function argument(name: string, fallback: string): string {
    const index = process.argv.indexOf(`--${name}`);
    return index > 0 && process.argv[index + 1] !== undefined ? process.argv[index + 1]! : fallback;
}

/** Sends SIGTERM and resolves with the seconds until the process exited (SIGKILL after `limitMs`). */
export async function stopProcess(child: ChildProcess, limitMs = 10_000): Promise<number> {
    if (child.exitCode !== null || child.signalCode !== null) return 0;
    const start = Date.now();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    await exited;
    clearTimeout(timer);
    return (Date.now() - start) / 1000;
}
