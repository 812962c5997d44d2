/**
 * One listener of the icomen cloud stand-in: the load balancer (7531) that redirects plugs to the
 * session port, or the session listener (7533) that keeps them connected and carries switch
 * commands. The adapter runs one of each, the balancer in a thread of its own.
 *
 * Both listeners run the same conversation, as the reference bridge does: a 0x41 arriving on the
 * session port gets the same redirect. One session connection per plug MAC is current; a newer one
 * replaces it. Nothing here knows the device registry: the adapter listens to the hooks.
 */
import net from 'node:net';

import type {FamilyEdge, FloodGuard} from '../../edge/index.js';
import {listen} from '../../util/listen.js';
import {createLogger, type Logger} from '../../util/logger.js';
import {
    changeServerData,
    Command,
    type CounterStyle,
    countersOf,
    DEFAULT_KEY,
    type EncodedFrame,
    FrameCodec,
    FrameSplitter,
    HEARTBEAT_ANSWER_DATA,
    type IcomenFrame,
    IcomenCodecError,
    keyData,
    macHex,
    parseSwitchState,
    powerData,
    timeData,
    unmapIpv4,
    type VendorBytes,
} from './codec.js';
import type {IcomenSettings} from './settings.js';


export type ListenerName = 'balancer' | 'session';

/** Room in the accept queue for a whole fleet reconnecting at once (the kernel caps it at somaxconn). */
const STORM_BACKLOG = 16_384;

export interface PlugIdentity {
    /** 12 lower-case hex digits. */
    mac: string;
    vendor: VendorBytes;
    /** The plug's IPv4 address (IPv4-mapped IPv6 unwrapped). */
    address: string;
    listener: ListenerName;
}

export type CloseKind = 'closed' | 'bad-input' | 'silent' | 'frame-timeout' | 'replaced' | 'refused' | 'flooding' | 'shutdown';

export interface IcomenServerHooks {
    /**
     * A connection's first valid frame identified the plug. On the session port this connection is
     * now the plug's current one; on the balancer the plug is only passing through. Returning false
     * refuses the plug: its connection is closed (the hook logs why).
     */
    plugConnected?(plug: PlugIdentity): boolean | void;
    /** Every valid frame received, after `plugConnected` for the first one. */
    frameReceived?(mac: string, frame: IcomenFrame, listener: ListenerName): void;
    /** Every frame sent, with the plaintext before encryption. */
    frameSent?(mac: string, sent: EncodedFrame, listener: ListenerName): void;
    /** From 0x02 replies, 0x06 reports and 0x01 echoes: true on, false off, null neither. */
    switchState?(mac: string, on: boolean | null, command: number): void;
    /** A connection was dropped for bad input; `mac` is null before the plug identified itself. */
    badInput?(mac: string | null, remote: string, reason: string): void;
    /** The plug's current connection closed and no newer one replaced it: the plug is unreachable. */
    plugDisconnected?(mac: string, kind: CloseKind, reason: string): void;
}

export interface IcomenServerOptions {
    settings: IcomenSettings;
    /** Which of the two listeners this server runs, on the port its settings name. */
    listener: ListenerName;
    /** The session port that 0x41 answers send plugs to; the session listener sends them to itself. */
    redirectPort?: number;
    /** Where the per-plug packet budget comes from: the edge's, so its counters reach the bridge's diagnostics. */
    floodGuard: FamilyEdge['floodGuard'];
    hooks?: IcomenServerHooks;
    /** One policy per connection; default: answers echo the request's counter. */
    counters?: CounterStyle;
    /** Unix seconds for 0x44 answers. */
    clock?: () => number;
    logger?: Logger;
}

/** Why a command could not be sent: the plug is not connected. */
export class PlugNotConnectedError extends Error {}

/** One TCP connection from a plug, on either listener. */
class PlugConnection {
    readonly splitter = new FrameSplitter();
    readonly codec: FrameCodec;
    readonly remote: string;
    readonly remoteAddress: string;
    mac: string | null = null;
    closed = false;
    lastCounter = 0;
    /** Frames answered while a chunk is being read; null outside. */
    outbox: Buffer[] | null = null;
    private frameTimer: NodeJS.Timeout | null = null;
    private silenceTimer: NodeJS.Timeout | null = null;

    constructor(
        readonly socket: net.Socket,
        counters: CounterStyle,
    ) {
        this.codec = new FrameCodec({key: DEFAULT_KEY, counters: countersOf(counters)});
        this.remoteAddress = unmapIpv4(socket.remoteAddress ?? '') ?? socket.remoteAddress ?? 'unknown';
        this.remote = `${this.remoteAddress}:${socket.remotePort ?? '?'}`;
    }

    /** How the log names this plug: its MAC once known, its address before. */
    get who(): string {
        return this.mac ? `plug ${this.mac} (${this.remote})` : `connection from ${this.remote}`;
    }

    /**
     * The frame timer runs while a frame is incomplete (or none has arrived yet) and restarts only
     * when a frame completes, so a plug trickling bytes cannot hold the connection open.
     */
    armFrameTimer(completedFrame: boolean, timeoutMs: number, onTimeout: () => void): void {
        const waiting = this.mac === null || this.splitter.bufferedBytes > 0;
        if (completedFrame && this.frameTimer) {
            clearTimeout(this.frameTimer);
            this.frameTimer = null;
        }
        if (waiting && !this.frameTimer && !this.closed) this.frameTimer = setTimeout(onTimeout, timeoutMs);
    }

    /** Restarted by every valid frame. */
    touchSilenceTimer(timeoutMs: number, onSilence: () => void): void {
        if (this.closed) return;
        if (this.silenceTimer) this.silenceTimer.refresh();
        else this.silenceTimer = setTimeout(onSilence, timeoutMs);
    }

    clearTimers(): void {
        if (this.frameTimer) clearTimeout(this.frameTimer);
        if (this.silenceTimer) clearTimeout(this.silenceTimer);
        this.frameTimer = null;
        this.silenceTimer = null;
    }
}

export class IcomenServer {
    private readonly settings: IcomenSettings;
    private readonly listener: ListenerName;
    private readonly hooks: IcomenServerHooks;
    private readonly counters: CounterStyle;
    private readonly clock: () => number;
    private readonly log: Logger;
    private server: net.Server | null = null;
    private readonly connections = new Set<PlugConnection>();
    /**
     * The current session connection of each plug, by MAC hex. Balancer connections never are: a
     * plug there is only asking where to go, so it is neither reachable for commands nor online.
     */
    private readonly plugs = new Map<string, PlugConnection>();
    private redirectPort: number;
    /** The address every 0x41 answer names, when the settings decide it; null: each connection's local one. */
    private readonly fixedAddress: string | null;
    private flood: FloodGuard | null = null;
    private readonly createFloodGuard: FamilyEdge['floodGuard'];

    constructor(options: IcomenServerOptions) {
        this.settings = options.settings;
        this.listener = options.listener;
        this.redirectPort = options.redirectPort ?? 0;
        this.fixedAddress = fixedAdvertisedAddress(options.settings);
        this.createFloodGuard = options.floodGuard;
        this.hooks = options.hooks ?? {};
        this.counters = options.counters ?? 'echo';
        this.clock = options.clock ?? (() => Date.now() / 1000);
        this.log = options.logger ?? createLogger('icomen:server');
    }

    /** Resolves with the port bound. */
    async start(): Promise<number> {
        const name = this.listener;
        this.flood = this.createFloodGuard(this.settings.flood, 'plug', this.log);
        const server = net.createServer((socket) => this.accept(socket));
        server.maxConnections = this.settings.maxConnections;
        server.on('drop', (data) => {
            this.log.limited('warn', `drop:${name}`, `${name}: refused a connection from ${data?.remoteAddress ?? 'unknown'}: maxConnections (${this.settings.maxConnections}) reached`);
        });
        this.server = server;
        let port: number;
        try {
            // Plugs reconnect all at once after a power cut or a bridge restart.
            port = await listen(server, {host: this.settings.host, port: name === 'balancer' ? this.settings.balancerPort : this.settings.sessionPort, log: this.log, label: name, backlog: STORM_BACKLOG});
        } catch (error) {
            await this.stop();
            throw new Error(`icomen: cannot listen on ${this.settings.host}: ${(error as Error).message}`);
        }
        if (name === 'session') this.redirectPort = port;
        this.log.info(name === 'balancer' ? `load balancer on ${this.settings.host}:${port}, sending plugs to port ${this.redirectPort}` : `session listener on ${this.settings.host}:${port}`);
        return port;
    }

    async stop(): Promise<void> {
        const server = this.server;
        this.server = null;
        const closing = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
        for (const connection of [...this.connections]) this.close(connection, 'shutdown', 'the bridge is stopping');
        await closing;
        this.flood?.close();
        this.flood = null;
    }

    isConnected(mac: string): boolean {
        return this.plugs.has(mac);
    }

    /** Sends 0x01 ON/OFF. The state changes only when the plug echoes or reports it. */
    sendPower(mac: string, on: boolean): void {
        const connection = this.requirePlug(mac);
        this.send(connection, connection.codec.request(Command.power, powerData(on)));
    }

    /** RequestRAW (type 0x40, next counter) or ResponseRAW (type 0x42, counter of the last frame received). */
    sendRaw(mac: string, command: number, data: Buffer, as: 'request' | 'response'): void {
        const connection = this.requirePlug(mac);
        const encoded =
            as === 'request' ? connection.codec.request(command, data) : connection.codec.response({counter: connection.lastCounter}, command, data);
        this.send(connection, encoded);
    }

    private requirePlug(mac: string): PlugConnection {
        const connection = this.plugs.get(mac);
        if (!connection) throw new PlugNotConnectedError(`plug ${mac} is not connected`);
        return connection;
    }

    private accept(socket: net.Socket): void {
        socket.setNoDelay(true);
        const connection = new PlugConnection(socket, this.counters);
        this.connections.add(connection);
        this.log.debug(() => `${this.listener}: ${connection.who} connected`);
        connection.armFrameTimer(false, this.frameTimeoutMs, () => this.frameTimeout(connection));
        socket.on('data', (chunk: Buffer) => this.receive(connection, chunk));
        socket.on('error', (error) => {
            this.log.debug(() => `${connection.who}: socket error: ${error.message}`);
        });
        socket.on('close', () => this.close(connection, 'closed', 'the plug closed the connection'));
    }

    private get frameTimeoutMs(): number {
        return this.settings.frameTimeoutSeconds * 1000;
    }

    private receive(connection: PlugConnection, chunk: Buffer): void {
        if (connection.closed) return;
        let completed = false;
        // The answers to one chunk's frames (key, time, query) leave in one write of one buffer: not
        // one write each, and not cork(), whose writev costs more (`npm run bench -- balancer-burst`).
        connection.outbox = [];
        try {
            connection.splitter.push(chunk, (frame) => {
                completed = true;
                if (!connection.closed && this.withinBudget(connection)) this.handleFrame(connection, frame);
            });
        } catch (error) {
            this.reject(connection, (error as Error).message);
            return;
        } finally {
            this.flushOutbox(connection);
        }
        connection.armFrameTimer(completed, this.frameTimeoutMs, () => this.frameTimeout(connection));
    }

    /** Before decryption: a flooding plug's excess costs no more than this. */
    private withinBudget(connection: PlugConnection): boolean {
        if (!connection.mac || !this.flood) return true;
        const verdict = this.flood.admit(connection.mac);
        if (verdict === 'cut-off') this.close(connection, 'flooding', `more than ${this.settings.flood.packetsPerSecond} frames/s for too long`);
        return verdict === 'pass';
    }

    /** Throws only IcomenCodecError (the plug's fault); a failing hook is our bug and is logged here. */
    private handleFrame(connection: PlugConnection, frame: Buffer): void {
        const decoded = connection.codec.decode(frame);
        try {
            this.converse(connection, decoded);
        } catch (error) {
            if (error instanceof IcomenCodecError) throw error;
            this.log.error(`${connection.who}: handling a 0x${decoded.command.toString(16)} frame failed: ${(error as Error).stack ?? String(error)}`);
        }
    }

    private converse(connection: PlugConnection, decoded: IcomenFrame): void {
        connection.lastCounter = decoded.counter;
        const first = connection.mac === null;
        if (first && !this.identify(connection, decoded)) return;
        const mac = connection.mac!;
        connection.touchSilenceTimer(this.settings.offlineAfterSeconds * 1000, () => this.silent(connection));
        // [BR] order: the 0x02 query goes out before the first frame is shown or answered.
        if (first) this.send(connection, connection.codec.request(Command.query));
        this.hooks.frameReceived?.(mac, decoded, this.listener);
        this.dispatch(connection, decoded);
    }

    /** False when the adapter refused the plug (its connection is then closed). */
    private identify(connection: PlugConnection, decoded: IcomenFrame): boolean {
        const mac = macHex(decoded.mac);
        const identity = {mac, vendor: decoded.vendor, address: connection.remoteAddress, listener: this.listener};
        if (this.flood?.isCutOff(mac)) {
            this.log.limited('warn', `cut-off:${mac}`, `plug ${mac} from ${connection.remote} refused: cut off for flooding`);
            this.close(connection, 'refused', 'cut off for flooding');
            return false;
        }
        if (this.hooks.plugConnected?.(identity) === false) {
            this.close(connection, 'refused', 'refused');
            return false;
        }
        connection.mac = mac;
        if (this.listener === 'session') {
            const previous = this.plugs.get(mac);
            this.plugs.set(mac, connection);
            if (previous && previous !== connection) this.close(previous, 'replaced', `replaced by a newer connection from ${connection.remote}`);
        }
        this.log.info(`plug ${mac} connected from ${connection.remote} to the ${this.listener} port`);
        return true;
    }

    private dispatch(connection: PlugConnection, frame: IcomenFrame): void {
        const codec = connection.codec;
        switch (frame.command) {
            case Command.changeServer: {
                const address = this.advertisedAddress(connection);
                if (!address) {
                    this.reject(
                        connection,
                        `cannot answer 0x41: the local address ${connection.socket.localAddress ?? '?'} is not IPv4; set icomen.advertiseAddress`,
                    );
                    return;
                }
                this.log.debug(() => `${connection.who}: redirecting to ${address}:${this.redirectPort}`);
                this.send(connection, codec.response(frame, Command.changeServer, changeServerData(address, this.redirectPort)));
                return;
            }
            case Command.key:
                // Handing out the default key keeps every later frame decodable after a restart.
                this.send(connection, codec.response(frame, Command.key, keyData(codec.key)));
                return;
            case Command.time:
                this.send(connection, codec.response(frame, Command.time, timeData(this.clock())));
                return;
            case Command.heartbeat:
                this.send(connection, codec.response(frame, Command.heartbeat, HEARTBEAT_ANSWER_DATA));
                return;
            case Command.power:
            case Command.query:
            case Command.report:
                this.hooks.switchState?.(connection.mac!, parseSwitchState(frame), frame.command);
                return;
            default:
                this.log.debug(() => `${connection.who}: command 0x${frame.command.toString(16)} ignored`);
        }
    }

    private advertisedAddress(connection: PlugConnection): string | null {
        return this.fixedAddress ?? unmapIpv4(connection.socket.localAddress ?? '');
    }

    private send(connection: PlugConnection, encoded: EncodedFrame): void {
        if (connection.closed || connection.socket.destroyed) return;
        if (connection.outbox) connection.outbox.push(encoded.frame);
        else connection.socket.write(encoded.frame);
        if (connection.mac) this.hooks.frameSent?.(connection.mac, encoded, this.listener);
    }

    private flushOutbox(connection: PlugConnection): void {
        const outbox = connection.outbox!;
        connection.outbox = null;
        if (outbox.length === 0 || connection.closed || connection.socket.destroyed) return;
        connection.socket.write(outbox.length === 1 ? outbox[0]! : Buffer.concat(outbox));
    }

    private reject(connection: PlugConnection, reason: string): void {
        this.log.limited('warn', `bad:${connection.mac ?? connection.remoteAddress}`, `${connection.who}: ${reason}; closing the connection`);
        this.callHook('badInput', () => this.hooks.badInput?.(connection.mac, connection.remote, reason));
        this.close(connection, 'bad-input', reason);
    }

    private frameTimeout(connection: PlugConnection): void {
        const buffered = connection.splitter.bufferedBytes;
        const reason =
            buffered > 0
                ? `incomplete frame (${buffered} bytes) for longer than ${this.settings.frameTimeoutSeconds} s`
                : `no frame within ${this.settings.frameTimeoutSeconds} s of connecting`;
        this.log.limited('warn', `timeout:${connection.mac ?? connection.remoteAddress}`, `${connection.who}: ${reason}; closing the connection`);
        this.close(connection, 'frame-timeout', reason);
    }

    private silent(connection: PlugConnection): void {
        const reason = `silent for longer than ${this.settings.offlineAfterSeconds} s`;
        if (this.plugs.get(connection.mac!) === connection) this.log.warn(`${connection.who}: ${reason}; marking it offline and closing the connection`);
        else this.log.debug(() => `${connection.who}: ${reason} on the ${this.listener} port; closing that connection`);
        this.close(connection, 'silent', reason);
    }

    /** Idempotent: the socket's own 'close' event comes back here. */
    private close(connection: PlugConnection, kind: CloseKind, reason: string): void {
        if (connection.closed) return;
        connection.closed = true;
        connection.clearTimers();
        this.connections.delete(connection);
        // Nothing still queued for a replaced, silent or misbehaving connection is worth waiting for.
        connection.socket.destroy();
        const mac = connection.mac;
        if (!mac || this.plugs.get(mac) !== connection) {
            this.log.debug(() => `${connection.who}: connection closed (${reason})`);
            return;
        }
        this.plugs.delete(mac);
        if (kind === 'closed') this.log.info(`${connection.who}: disconnected`);
        this.callHook('plugDisconnected', () => this.hooks.plugDisconnected?.(mac, kind, reason));
    }

    /**
     * For hooks run from socket events and timers, outside handleFrame's guard: a throw there would
     * be uncaught and end the process. A failing hook is our bug, so it is logged in full.
     */
    private callHook(name: keyof IcomenServerHooks, run: () => void): void {
        try {
            run();
        } catch (error) {
            this.log.limited('error', `hook:${name}`, `${name} hook failed: ${(error as Error).stack ?? String(error)}`);
        }
    }
}

function fixedAdvertisedAddress(settings: IcomenSettings): string | null {
    const configured = settings.advertiseAddress;
    if (configured && configured !== '0.0.0.0') return configured;
    // Listening on one IPv4 address, that is where every plug connected: no system call needed.
    if (net.isIPv4(settings.host) && settings.host !== '0.0.0.0') return settings.host;
    return null;
}
