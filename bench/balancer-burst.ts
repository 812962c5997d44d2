/**
 * The icomen load balancer under a burst: `--plugs` connections (default 10,000) opened at once by
 * a client process, each sending a 0x41 and timing its answer from the established connection (so
 * the wait in the kernel's accept queue counts, as it does for a plug).
 *
 * Baseline in the same run: a bare Node TCP server in a worker thread of its own at the same
 * priority, as ours runs (`threads/bare-tcp-server.ts`), that answers the first bytes of a
 * connection with a fixed 48-byte buffer: no frame parsing, no crypto, no timers, no registration.
 * It is the floor Node itself sets on this machine. Rounds alternate between the two (`--rounds`,
 * default 3); the line gives the median of each figure over the rounds and the ratio of the two
 * median slowest answers.
 *
 * `npm run bench -- balancer-burst [--plugs 10000] [--rounds 3]`
 */
import {spawn} from 'node:child_process';
import net from 'node:net';
import {createInterface} from 'node:readline';
import {fileURLToPath} from 'node:url';

import {BalancerThread} from '../src/families/icomen/balancer-thread.js';
import {Command, DEFAULT_KEY, echoCounters, FrameCodec, VENDOR_ALDI} from '../src/families/icomen/codec.js';
import {icomenSettingsSchema} from '../src/families/icomen/settings.js';
import {setLogLevel} from '../src/util/logger.js';
import {startThread} from '../src/util/thread.js';
import {simulatedPlugMac} from '../src/simulate/icomen.js';
import {freePort} from '../test/support/net.js';
import {median, printResult} from './stats.js';
import {argument, type Summary, summarise} from './support.js';

/** Answer times in ms. */
interface BurstResult extends Summary {
    answered: number;
    /** From the first connect to the last answer. */
    wallMs: number;
}

/** `--burst <port> <plugs>`: the client, in a process of its own so that it takes no core from the server's threads. */
async function runBurst(port: number, plugs: number): Promise<void> {
    // Encrypted before the first connect: the burst is then as tight as this process can make it.
    const requests = Array.from({length: plugs}, (_, index) =>
        new FrameCodec({key: DEFAULT_KEY, mac: simulatedPlugMac(index), vendor: VENDOR_ALDI, counters: echoCounters()}).request(Command.changeServer).frame,
    );
    const waits: bigint[] = [];
    let closed = 0;
    const started = process.hrtime.bigint();
    await new Promise<void>((resolve) => {
        for (const request of requests) {
            const socket = net.connect({host: '127.0.0.1', port});
            let connectedAt = 0n;
            socket.on('connect', () => {
                connectedAt = process.hrtime.bigint();
                socket.write(request);
            });
            socket.once('data', () => {
                waits.push(process.hrtime.bigint() - connectedAt);
                socket.end();
            });
            socket.on('error', () => undefined);
            socket.on('close', () => {
                if (++closed === plugs) resolve();
            });
        }
    });
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    const result: BurstResult = {answered: waits.length, ...summarise(waits), wallMs};
    process.stdout.write(`${JSON.stringify(result)}\n`);
}

function burst(port: number, plugs: number): Promise<BurstResult> {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--burst', String(port), String(plugs)], {stdio: ['ignore', 'pipe', 'inherit']});
    return new Promise((resolve, reject) => {
        createInterface({input: child.stdout!}).once('line', (line) => resolve(JSON.parse(line) as BurstResult));
        child.once('exit', (code) => reject(new Error(`the burst client exited with ${code}`)));
    });
}

async function startBare(): Promise<{port: number; stop(): Promise<void>}> {
    const worker = startThread('threads/bare-tcp-server', import.meta.url, {});
    const port = await new Promise<number>((resolve) => worker.once('message', resolve));
    return {
        port,
        stop: async () => {
            const exited = new Promise((resolve) => worker.once('exit', resolve));
            worker.postMessage('stop');
            await exited;
        },
    };
}

async function startOurs(plugs: number): Promise<{port: number; stop(): Promise<void>}> {
    // The session port is only named in the answers: nothing connects to it here.
    const sessionPort = await freePort();
    const settings = icomenSettingsSchema.parse({host: '127.0.0.1', balancerPort: await freePort(), sessionPort, maxConnections: plugs + 64, maxPlugs: plugs + 1});
    const balancer = new BalancerThread({settings, forwardFrames: false, hooks: {}});
    const port = await balancer.start(sessionPort);
    return {port, stop: () => balancer.stop()};
}

async function main(): Promise<void> {
    setLogLevel('warn');
    const plugs = Number(argument('plugs', '10000'));
    const rounds = Number(argument('rounds', '3'));
    const bare: BurstResult[] = [];
    const ours: BurstResult[] = [];
    for (let round = 0; round < rounds; round++) {
        const baseline = await startBare();
        bare.push(await burst(baseline.port, plugs));
        await baseline.stop();
        const balancer = await startOurs(plugs);
        ours.push(await burst(balancer.port, plugs));
        await balancer.stop();
    }
    const medians = (results: BurstResult[]): BurstResult => {
        const of = (key: keyof BurstResult): number => Number(median(results.map((result) => result[key])).toFixed(1));
        return {answered: of('answered'), p50: of('p50'), p99: of('p99'), max: of('max'), over40ms: of('over40ms'), wallMs: of('wallMs')};
    };
    const oursMedian = medians(ours);
    const bareMedian = medians(bare);
    printResult({
        bench: 'balancer-burst',
        plugs,
        rounds,
        ours: oursMedian,
        bareNodeServer: bareMedian,
        ratioMax: Number((oursMedian.max / bareMedian.max).toFixed(2)),
        oursMaxMsEachRound: ours.map((result) => Math.round(result.max)),
        bareMaxMsEachRound: bare.map((result) => Math.round(result.max)),
        targets: {maxMs: 100},
    });
}

if (process.argv.includes('--burst')) {
    const index = process.argv.indexOf('--burst');
    await runBurst(Number(process.argv[index + 1]), Number(process.argv[index + 2]));
    process.exit(0);
} else {
    await main();
}
