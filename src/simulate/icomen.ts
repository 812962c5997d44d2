/**
 * Simulated icomen / smart2connect plugs for tests, demos and benchmarks. Each one behaves as the
 * protocol note describes a real plug: 0x41 on the load balancer, then straight to the session
 * address it was given, 0x42 + 0x44 there, a 0x61 heartbeat every `heartbeatMs`, answers to 0x02,
 * obeys 0x01 (switches, then echoes the new state), reports a local button press with 0x06, and
 * reconnects to the session address (never the balancer) when the link drops.
 */
import net from 'node:net';

import {
    Command,
    type CounterPolicy,
    DEFAULT_KEY,
    echoCounters,
    FrameCodec,
    FrameSplitter,
    type IcomenFrame,
    IcomenCodecError,
    macHex,
    parseChangeServer,
    parseKeyAnswer,
    parseSwitchState,
    powerData,
    VENDOR_ALDI,
    VENDOR_LIDL,
    type VendorBytes,
} from '../families/icomen/codec.js';
import {createLogger, type Logger} from '../util/logger.js';

export interface IcomenPlugsOptions {
    count: number;
    /** Where the load balancer listens. */
    host?: string;
    /** The load balancer port (7531). */
    port?: number;
    heartbeatMs?: number;
    /** Wait before reconnecting to the session address after the link dropped. */
    reconnectDelayMs?: number;
    /** Added to the plug index in the generated MACs, so two simulators do not share plugs. */
    macOffset?: number;
    /** Initial relay state of every plug. */
    initiallyOn?: boolean;
    logger?: Logger;
}

export type StateCause = 'remote' | 'local';
type StateListener = (on: boolean, cause: StateCause) => void;

/** The vendor bytes alternate so both brands are exercised: even plugs ALDI, odd ones Lidl. */
function vendorFor(index: number): VendorBytes {
    return index % 2 === 0 ? VENDOR_ALDI : VENDOR_LIDL;
}

/** ALDI plugs seen in the wild start with 00:95:69, Silvercrest ones with ac:cf:23. */
export function simulatedPlugMac(index: number): Buffer {
    const prefix = index % 2 === 0 ? [0x00, 0x95, 0x69] : [0xac, 0xcf, 0x23];
    return Buffer.from([...prefix, (index >>> 16) & 0xff, (index >>> 8) & 0xff, index & 0xff]);
}

export class SimulatedIcomenPlug {
    readonly mac: string;
    readonly vendor: VendorBytes;
    private readonly macBytes: Buffer;
    private relayOn: boolean;
    private socket: net.Socket | null = null;
    private codec: FrameCodec | null = null;
    /** One counter sequence for the plug's whole life, across connections. */
    private readonly counters: CounterPolicy = echoCounters();
    private sessionAddress: {address: string; port: number} | null = null;
    private heartbeat: NodeJS.Timeout | null = null;
    private reconnectTimer: NodeJS.Timeout | null = null;
    private stopped = false;
    private readonly stateListeners = new Set<StateListener>();
    private readyWaiters: (() => void)[] = [];
    private sessionReady = false;
    /** Which of the key and time answers the current session has had. */
    private readonly answered = new Set<'key' | 'time'>();
    /** Session connections established so far (1 after start, +1 per reconnect). */
    sessions = 0;

    constructor(
        index: number,
        private readonly options: Required<Omit<IcomenPlugsOptions, 'logger' | 'initiallyOn' | 'count' | 'macOffset'>> & {logger: Logger},
        initiallyOn: boolean,
    ) {
        this.macBytes = simulatedPlugMac(index);
        this.mac = macHex(this.macBytes);
        this.vendor = vendorFor(index);
        this.relayOn = initiallyOn;
    }

    get on(): boolean {
        return this.relayOn;
    }

    /** True while the session connection is up and its key and time were answered. */
    get connected(): boolean {
        return this.sessionReady;
    }

    /** Connects to the load balancer and follows its redirect; resolves once the session is ready. */
    start(): Promise<void> {
        const ready = this.waitUntilReady();
        this.connectBalancer();
        return ready;
    }

    /** Resolves at the next moment the session is ready (at once if it is). */
    waitUntilReady(): Promise<void> {
        if (this.sessionReady) return Promise.resolve();
        return new Promise((resolve) => this.readyWaiters.push(resolve));
    }

    /** The button on the plug: toggles the relay and reports it with 0x06. */
    press(): void {
        this.setRelay(!this.relayOn, 'local');
        this.sendRequest(Command.report, powerData(this.relayOn));
    }

    onStateChange(listener: StateListener): () => void {
        this.stateListeners.add(listener);
        return () => this.stateListeners.delete(listener);
    }

    /** Resolves when the relay is in `on` (at once if it already is). */
    waitForState(on: boolean, timeoutMs = 5000): Promise<void> {
        if (this.relayOn === on) return Promise.resolve();
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                unsubscribe();
                reject(new Error(`plug ${this.mac} did not switch ${on ? 'on' : 'off'} within ${timeoutMs} ms`));
            }, timeoutMs);
            const unsubscribe = this.onStateChange((state) => {
                if (state !== on) return;
                clearTimeout(timer);
                unsubscribe();
                resolve();
            });
        });
    }

    /** Drops the link as a Wi-Fi hiccup would; the plug reconnects to the session address. */
    dropConnection(): void {
        this.socket?.destroy();
    }

    async stop(): Promise<void> {
        this.stopped = true;
        if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
        this.stopHeartbeat();
        const socket = this.socket;
        if (!socket || socket.destroyed) return;
        await new Promise<void>((resolve) => {
            socket.once('close', () => resolve());
            socket.destroy();
        });
    }

    private get log(): Logger {
        return this.options.logger;
    }

    private connectBalancer(): void {
        this.open(this.options.host, this.options.port, 'balancer', () => this.sendRequest(Command.changeServer));
    }

    private connectSession(): void {
        const target = this.sessionAddress!;
        this.open(target.address, target.port, 'session', () => {
            this.sessions++;
            this.answered.clear();
            this.sendRequest(Command.key);
            this.sendRequest(Command.time);
            this.startHeartbeat();
        });
    }

    private open(host: string, port: number, stage: 'balancer' | 'session', onConnect: () => void): void {
        if (this.stopped) return;
        const socket = net.connect({host, port});
        socket.setNoDelay(true);
        const codec = new FrameCodec({key: DEFAULT_KEY, mac: this.macBytes, vendor: this.vendor, counters: this.counters});
        this.socket = socket;
        this.codec = codec;
        const splitter = new FrameSplitter();
        let handedOver = false;
        socket.on('connect', () => {
            this.log.debug(() => `plug ${this.mac}: connected to the ${stage} at ${host}:${port}`);
            onConnect();
        });
        socket.on('data', (chunk: Buffer) => {
            if (socket !== this.socket) return;
            try {
                splitter.push(chunk, (frame) => {
                    // Whatever follows the redirect on the balancer link is no longer listened to.
                    if (handedOver) return;
                    handedOver = this.handle(codec.decode(frame), stage);
                });
                // The plug leaves the balancer once redirected and never asks it again.
                if (handedOver) socket.end();
            } catch (error) {
                const what = error instanceof IcomenCodecError ? 'bad frame' : 'handling a frame failed';
                this.log.warn(`plug ${this.mac}: ${what} from the ${stage}: ${(error as Error).message}; dropping the connection`);
                socket.destroy();
            }
        });
        socket.on('error', (error) => {
            this.log.limited('warn', `${this.mac}:${stage}`, `plug ${this.mac}: ${stage} at ${host}:${port}: ${error.message}`);
        });
        socket.on('close', () => {
            if (socket !== this.socket) return;
            this.socket = null;
            this.codec = null;
            this.sessionReady = false;
            this.stopHeartbeat();
            if (this.stopped || handedOver) return;
            // Without a session address yet the plug must ask the balancer again; with one it never does.
            const next = this.sessionAddress ? (): void => this.connectSession() : (): void => this.connectBalancer();
            this.log.debug(() => `plug ${this.mac}: ${stage} link lost, reconnecting in ${this.options.reconnectDelayMs} ms`);
            this.reconnectTimer = setTimeout(next, this.options.reconnectDelayMs);
        });
    }

    /** Returns true when the frame handed the plug over to the session address. */
    private handle(frame: IcomenFrame, stage: 'balancer' | 'session'): boolean {
        switch (frame.command) {
            case Command.changeServer: {
                if (stage !== 'balancer') return false;
                this.sessionAddress = parseChangeServer(frame);
                this.log.debug(() => `plug ${this.mac}: redirected to ${this.sessionAddress!.address}:${this.sessionAddress!.port}`);
                this.connectSession();
                return true;
            }
            case Command.key:
                this.codec!.setKey(parseKeyAnswer(frame));
                this.markReadyIfComplete('key');
                return false;
            case Command.time:
                this.markReadyIfComplete('time');
                return false;
            case Command.heartbeat:
                return false;
            case Command.query:
                this.sendResponse(frame, Command.query, powerData(this.relayOn));
                return false;
            case Command.power: {
                const wanted = parseSwitchState(frame);
                if (wanted === null) {
                    this.log.warn(`plug ${this.mac}: 0x01 with neither on nor off ignored`);
                    return false;
                }
                this.setRelay(wanted, 'remote');
                this.sendResponse(frame, Command.power, powerData(this.relayOn));
                return false;
            }
            default:
                return false;
        }
    }

    private markReadyIfComplete(what: 'key' | 'time'): void {
        this.answered.add(what);
        if (this.sessionReady || !this.answered.has('key') || !this.answered.has('time')) return;
        this.answered.clear();
        this.sessionReady = true;
        const waiters = this.readyWaiters;
        this.readyWaiters = [];
        for (const resolve of waiters) resolve();
    }

    private setRelay(on: boolean, cause: StateCause): void {
        const changed = on !== this.relayOn;
        this.relayOn = on;
        if (changed) this.log.info(`plug ${this.mac}: relay ${on ? 'ON' : 'OFF'} (${cause === 'local' ? 'button pressed' : 'remote command'})`);
        for (const listener of [...this.stateListeners]) listener(on, cause);
    }

    private sendRequest(command: number, data?: Buffer): void {
        if (!this.codec || !this.socket || this.socket.destroyed) return;
        this.socket.write(this.codec.request(command, data).frame);
    }

    private sendResponse(to: IcomenFrame, command: number, data: Buffer): void {
        if (!this.codec || !this.socket || this.socket.destroyed) return;
        this.socket.write(this.codec.response(to, command, data).frame);
    }

    private startHeartbeat(): void {
        this.stopHeartbeat();
        this.heartbeat = setInterval(() => this.sendRequest(Command.heartbeat), this.options.heartbeatMs);
    }

    private stopHeartbeat(): void {
        if (this.heartbeat) clearInterval(this.heartbeat);
        this.heartbeat = null;
    }
}

/** Starts `count` plugs; resolves once each has its session up. */
export async function startIcomenPlugs(options: IcomenPlugsOptions): Promise<SimulatedIcomenPlug[]> {
    const resolved = {
        host: options.host ?? '127.0.0.1',
        port: options.port ?? 7531,
        heartbeatMs: options.heartbeatMs ?? 30_000,
        reconnectDelayMs: options.reconnectDelayMs ?? 1000,
        logger: options.logger ?? createLogger('simulate:icomen'),
    };
    const offset = options.macOffset ?? 0;
    const plugs = Array.from({length: options.count}, (_, index) => new SimulatedIcomenPlug(index + offset, resolved, options.initiallyOn ?? false));
    try {
        await Promise.all(plugs.map((plug) => plug.start()));
    } catch (error) {
        await Promise.all(plugs.map((plug) => plug.stop()));
        throw error;
    }
    return plugs;
}
