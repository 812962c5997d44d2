/**
 * The icomen load balancer in a thread of its own. Node 20 accepts one connection per listener per
 * turn of the event loop; on the bridge's main loop, busy with every session connection during a
 * storm of 10,000 plugs, a plug waited seconds for its redirect. The balancer thread's loop has
 * nothing else to do, so it answers within milliseconds whatever the main thread is doing.
 *
 * The thread runs an `IcomenServer` for the balancer listener; what its hooks hear comes back here
 * in order, in batches, and is handed to the same hooks as the session listener's. Registration is
 * therefore asynchronous: the balancer redirects every plug, and a plug refused for `maxPlugs` is
 * refused at the session port (the hook's log line names it either way).
 */
import type {Worker} from 'node:worker_threads';

import type {FloodStats} from '../../edge/index.js';
import {createLogger, getLogLevel, type Logger, type LogLevel, onLogLevelChange} from '../../util/logger.js';
import {startThread} from '../../util/thread.js';
import {type CounterStyle, IcomenFrame} from './codec.js';
import type {IcomenServerHooks, PlugIdentity} from './server.js';
import type {IcomenSettings} from './settings.js';

/** The namespace of the thread's log lines. */
export const BALANCER_LOG_NAMESPACE = 'icomen:balancer';
/**
 * The thread's nice value, ahead of the main thread for a core: a redirect costs little and lets a
 * plug go on, while the main thread's work in a storm (registrations, Home Assistant) can wait.
 */
export const BALANCER_PRIORITY = -10;

export interface BalancerWorkerData {
    settings: IcomenSettings;
    forwardFrames: boolean;
    redirectPort: number;
    counters: CounterStyle;
    logLevel: LogLevel;
}

/**
 * A hook call or a log line in the thread, as it crosses to the main thread. `plugDisconnected` never
 * comes: a balancer connection never becomes a plug's current one.
 */
export type BalancerEvent =
    | {hook: 'plugConnected'; plug: PlugIdentity}
    | {hook: 'frameReceived'; mac: string; frame: Uint8Array; plaintext: Uint8Array}
    | {hook: 'frameSent'; mac: string; frame: Uint8Array; plaintext: Uint8Array}
    | {hook: 'switchState'; mac: string; on: boolean | null; command: number}
    | {hook: 'badInput'; mac: string | null; remote: string; reason: string}
    | {hook: 'log'; level: LogLevel; namespace: string; message: string};

export type BalancerMessage =
    | {kind: 'listening'; port: number}
    | {kind: 'failed'; message: string}
    | {kind: 'events'; events: BalancerEvent[]}
    | {kind: 'flood'; stats: FloodStats};

/** Main to thread: a new log level, or stop listening, close every connection, and end. */
export type BalancerCommand = {kind: 'level'; level: LogLevel} | {kind: 'stop'};

export interface BalancerThreadOptions {
    settings: IcomenSettings;
    hooks: IcomenServerHooks;
    /** Whether the frames received and sent reach the hooks; registrations, switch states and log lines always do. */
    forwardFrames: boolean;
    counters?: CounterStyle;
}

/**
 * Events handed to the hooks per turn of the main loop: a storm's batch holds thousands of
 * registrations, and handled at once it would hold up every other device's traffic.
 */
const DELIVERY_SLICE = 200;
/** How long a stop may take before the thread is terminated. */
const STOP_TIMEOUT_MS = 3000;
/** How long after an unexpected end the thread starts again. */
const RESTART_DELAY_MS = 1000;

/** Structured clone hands Buffers over as plain Uint8Arrays. */
function buffer(bytes: Uint8Array): Buffer {
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export class BalancerThread {
    private readonly log = createLogger('icomen:adapter');
    private readonly loggers = new Map<string, Logger>();
    private worker: Worker | null = null;
    private floodStats: FloodStats = {dropped: 0, cutOffs: 0, flooding: 0};
    /** Where the balancer sends plugs, once started; null while stopped. */
    private redirectPort: number | null = null;
    private restartTimer: NodeJS.Timeout | null = null;
    /** Events received and not yet handed to the hooks, from `nextEvent` on, in the thread's order. */
    private backlog: BalancerEvent[] = [];
    private nextEvent = 0;
    private deliveryScheduled = false;

    constructor(private readonly options: BalancerThreadOptions) {}

    /** The flood guard's counters as the thread last reported them. */
    flood(): FloodStats {
        return this.floodStats;
    }

    /** Resolves with the port bound, once the thread listens; rejects with the reason it cannot. */
    async start(redirectPort: number): Promise<number> {
        this.redirectPort = redirectPort;
        try {
            return await this.spawn();
        } catch (error) {
            this.redirectPort = null;
            throw error;
        }
    }

    async stop(): Promise<void> {
        this.redirectPort = null;
        if (this.restartTimer) clearTimeout(this.restartTimer);
        this.restartTimer = null;
        const worker = this.worker;
        this.worker = null;
        if (!worker) return;
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        worker.postMessage({kind: 'stop'} satisfies BalancerCommand);
        const timeout = setTimeout(() => {
            this.log.warn(`the balancer thread did not stop within ${STOP_TIMEOUT_MS / 1000} s: terminating it`);
            void worker.terminate();
        }, STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timeout);
        // What the thread said before it ended is still news: registrations and log lines.
        this.deliverSlice(Number.POSITIVE_INFINITY);
    }

    private spawn(): Promise<number> {
        const data: BalancerWorkerData = {
            settings: this.options.settings,
            forwardFrames: this.options.forwardFrames,
            redirectPort: this.redirectPort!,
            counters: this.options.counters ?? 'echo',
            logLevel: getLogLevel(BALANCER_LOG_NAMESPACE),
        };
        const worker = startThread('balancer-worker', import.meta.url, {workerData: data});
        this.worker = worker;
        // Home Assistant can change the level while the bridge runs.
        const stopFollowingLevel = onLogLevelChange(() => worker.postMessage({kind: 'level', level: getLogLevel(BALANCER_LOG_NAMESPACE)} satisfies BalancerCommand));
        return new Promise<number>((resolve, reject) => {
            let listening = false;
            worker.on('message', (message: BalancerMessage) => {
                switch (message.kind) {
                    case 'listening':
                        listening = true;
                        resolve(message.port);
                        return;
                    case 'failed':
                        reject(new Error(message.message));
                        return;
                    case 'events':
                        for (const event of message.events) this.backlog.push(event);
                        this.scheduleDelivery();
                        return;
                    case 'flood':
                        this.floodStats = message.stats;
                }
            });
            worker.on('error', (error) => {
                this.log.error(`the balancer thread failed: ${error.stack ?? error.message}`);
                if (!listening) reject(error);
            });
            worker.on('exit', (code) => {
                stopFollowingLevel();
                if (this.worker === worker) this.worker = null;
                if (!listening) {
                    reject(new Error(`the balancer thread ended (code ${code}) before it listened`));
                    return;
                }
                if (this.redirectPort === null) return;
                this.log.error(`the balancer thread ended unexpectedly (code ${code}): starting it again in ${RESTART_DELAY_MS / 1000} s`);
                this.scheduleRestart();
            });
        });
    }

    private scheduleRestart(): void {
        this.restartTimer = setTimeout(() => {
            this.restartTimer = null;
            if (this.redirectPort === null) return;
            this.spawn().then(
                (port) => this.log.info(`the balancer thread listens again on port ${port}`),
                (error: Error) => {
                    this.log.limited('error', 'balancer-restart', `the balancer thread could not start again (${error.message}): trying every ${RESTART_DELAY_MS / 1000} s`);
                    if (this.redirectPort !== null) this.scheduleRestart();
                },
            );
        }, RESTART_DELAY_MS);
    }

    private scheduleDelivery(): void {
        if (this.deliveryScheduled) return;
        this.deliveryScheduled = true;
        setImmediate(() => {
            this.deliveryScheduled = false;
            this.deliverSlice(DELIVERY_SLICE);
            if (this.nextEvent < this.backlog.length) this.scheduleDelivery();
        });
    }

    private deliverSlice(count: number): void {
        const end = Math.min(this.backlog.length, this.nextEvent + count);
        while (this.nextEvent < end) this.deliver(this.backlog[this.nextEvent++]!);
        if (this.nextEvent === this.backlog.length) {
            this.backlog = [];
            this.nextEvent = 0;
        }
    }

    /** A failing hook is our bug: logged in full, and the next events still delivered. */
    private deliver(event: BalancerEvent): void {
        const hooks = this.options.hooks;
        try {
            switch (event.hook) {
                case 'log':
                    this.loggerFor(event.namespace)[event.level](event.message);
                    return;
                case 'plugConnected':
                    hooks.plugConnected?.(event.plug);
                    return;
                case 'frameReceived':
                    hooks.frameReceived?.(event.mac, new IcomenFrame(buffer(event.frame), buffer(event.plaintext)), 'balancer');
                    return;
                case 'frameSent':
                    hooks.frameSent?.(event.mac, {frame: buffer(event.frame), plaintext: buffer(event.plaintext)}, 'balancer');
                    return;
                case 'switchState':
                    hooks.switchState?.(event.mac, event.on, event.command);
                    return;
                case 'badInput':
                    hooks.badInput?.(event.mac, event.remote, event.reason);
            }
        } catch (error) {
            this.log.limited('error', `hook:${event.hook}`, `${event.hook} hook failed: ${(error as Error).stack ?? String(error)}`);
        }
    }

    private loggerFor(namespace: string): Logger {
        let logger = this.loggers.get(namespace);
        if (!logger) this.loggers.set(namespace, (logger = createLogger(namespace)));
        return logger;
    }
}
