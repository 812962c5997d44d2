/**
 * The miIO socket on UDP 8053 (protocol note miio.md §1, §3.4): checks every datagram before it may
 * touch a device's session, answers hellos with the time, echoes keepalives, and sends our own
 * requests with unique ids and a timeout to the address of the device's latest datagram.
 *
 * It knows packets and sessions, not the conversation: which answer a device request gets is the
 * cloud's business (cloud.ts), as Valetudo's MiioSocket leaves it to its Dummycloud.
 */
import dgram from 'node:dgram';
import {performance} from 'node:perf_hooks';

import {type FloodGuardSettings, floodGuardSettingsSchema} from '../../config/schema.js';
import type {FamilyEdge, FloodGuard} from '../../edge/index.js';
import {DeadlineWheel} from '../../util/deadline-wheel.js';
import {bindUdp} from '../../util/listen.js';
import type {Logger} from '../../util/logger.js';
import {isPlainObject} from '../../util/plain-object.js';
import {TokenBucket} from '../../util/token-bucket.js';
import {
    decryptPayload,
    encodeMessage,
    HEADER_LENGTH,
    hasValidChecksum,
    helloReply,
    HELLO_DID,
    isHello,
    type MiioDropReason,
    type MiioHeader,
    type MiioKeys,
    type MiioMessage,
    MiioPacketError,
    parsePayload,
    readHeader,
} from './codec.js';

/** Drop reasons beyond the codec's own. */
export type MiioSocketDropReason = MiioDropReason | 'replayed' | 'stale_stamp' | 'no_cloud_key' | 'malformed_message' | 'flooding';

export interface MiioSocketOptions {
    host: string;
    port: number;
    requestTimeoutMs: number;
    /** A device silent this long is overdue (`onOverdue`: ask whether it is still there); at most once per silence. */
    probeAfterMs: number;
    offlineAfterMs: number;
    maxDatagramBytes: number;
    helloRatePerSecond: number;
    /** Sessions for dids without a cloud key, at most (a flood of made-up dids must stay bounded). */
    maxKeylessSessions?: number;
    /** Per-device packet budget; default: the settings' defaults. */
    flood?: FloodGuardSettings;
    /** Where the budget's guard comes from: the edge's, so its counters reach the bridge's diagnostics. */
    floodGuard: FamilyEdge['floodGuard'];
}

/** How the socket tells the adapter what happened; every hook must not throw (they are guarded anyway). */
export interface MiioSocketHooks {
    /** The keys for a did, or null when no cloud key is known. Called for each packet: keep it a lookup. */
    keysFor(did: number): MiioKeys | null;
    /** A verified packet (or, for a did without key, any well-formed one) arrived. */
    onSeen(session: MiioSession): void;
    /** A did without a cloud key talks to us: show it, ask for the key. */
    onKeyMissing(session: MiioSession): void;
    /** A packet of this did failed a check. */
    onBadPacket(did: number, reason: MiioSocketDropReason, detail: string): void;
    onTimeout(session: MiioSession, method: string): void;
    /** No packet for `probeAfterMs` from a device with a key: a keepalive is overdue. */
    onOverdue(session: MiioSession): void;
    /** No packet for `offlineAfterMs`. */
    onSilent(session: MiioSession): void;
    onSent(session: MiioSession): void;
    /** A message decrypted from the device (`in`) or about to be encrypted for it (`out`); keepalives carry none. */
    onMessage(session: MiioSession, direction: 'in' | 'out', message: object): void;
    /** The first id to use for a did and the store for the id high-water mark (ids must never repeat, miio.md §3.4). */
    loadRequestId?(did: number): number | undefined;
    saveRequestId?(did: number, reservedUpTo: number): void;
}

/** A request from the device, with the id its answer must carry. */
export interface MiioDeviceRequest {
    id: number;
    method: string;
    params: unknown;
}

/** An error answer from the device (`{"error":{code,message}}`). */
export class MiioDeviceError extends Error {
    constructor(
        readonly code: number | null,
        message: string,
    ) {
        super(message);
        this.name = 'MiioDeviceError';
    }
}

interface PendingRequest {
    method: string;
    resolve(result: unknown): void;
    reject(error: Error): void;
    timer: NodeJS.Timeout;
}

/** Ids are reserved in blocks so a restart continues above every id a device may remember. */
const ID_BLOCK = 1000;
const ID_LIMIT = 0x7fffffff;
/** Stamps this far behind the newest one are replays (Valetudo trusts a device stamp for 120 s). */
const STAMP_WINDOW_S = 120;
const RECENT_CHECKSUMS = 64;
/**
 * Hello answers per source address and port: a burst, then one per second, so one flooder cannot
 * use the whole budget. Keyed with the port because a thousand devices behind one NAT address
 * differ only there; a flooder rotating ports is held by the global rate, and hellos never create
 * a session or a device, so made-up sources cannot fill anything.
 */
const HELLO_BURST_PER_SOURCE = 4;
/** Sources tracked for hellos before the oldest are forgotten. */
const MAX_HELLO_SOURCES = 65_536;

export class MiioSession {
    address = '';
    port = 0;
    keys: MiioKeys | null = null;
    /** The newest device stamp and when it arrived: our stamps continue from it. */
    lastStamp = 0;
    lastStampAt = 0;
    /** Keepalives are echoed only when newer than the last echoed one (Valetudo drops replays so). */
    lastKeepaliveStamp = 0;
    /** On the monotonic clock (`performance.now()`): a wall-clock jump must not make devices silent, or keep them online. */
    lastPacketAt = 0;
    /** When the silence was last reported overdue (monotonic): once per silence. */
    overdueAt = 0;
    /** Waits in the socket's deadline wheel (added again at the next packet once it has left). */
    watched = false;
    /** A packet passed the checksum with the current key. */
    verified = false;
    silent = false;
    readonly pending = new Map<number, PendingRequest>();
    nextId = 1;
    reservedUpTo = 0;
    readonly recentChecksums: string[] = [];

    constructor(readonly did: number) {}
}

export class MiioSocket {
    private socket: dgram.Socket | null = null;
    private readonly sessions = new Map<number, MiioSession>();
    /** Sessions without a cloud key, counted so a flood of made-up dids never scans the sessions. */
    private keylessSessions = 0;
    private readonly floodSettings: FloodGuardSettings;
    private flood: FloodGuard | null = null;
    private sweepTimer: NodeJS.Timeout | null = null;
    private silence: DeadlineWheel<MiioSession> | null = null;
    private readonly helloBucket: TokenBucket;
    private readonly helloBuckets = new Map<string, TokenBucket>();
    /** Counts of what could not be tied to a device (hellos, garbage, floods). */
    readonly stats = {hellos: 0, hellosUnanswered: 0, unattributed: 0};

    constructor(
        private readonly options: MiioSocketOptions,
        private readonly hooks: MiioSocketHooks,
        /** Answers the device's requests (the cloud conversation); guarded like the hooks. */
        private readonly onRequest: (session: MiioSession, request: MiioDeviceRequest) => void,
        private readonly log: Logger,
    ) {
        this.helloBucket = new TokenBucket(options.helloRatePerSecond, options.helloRatePerSecond, Date.now());
        this.floodSettings = options.flood ?? floodGuardSettingsSchema.parse(undefined);
    }

    async start(): Promise<void> {
        // A storm of a few thousand devices arrives at once; the kernel holds it while we catch up.
        const socket = dgram.createSocket({type: 'udp4', recvBufferSize: 4 << 20});
        this.flood = this.options.floodGuard(this.floodSettings, 'miIO device', this.log);
        socket.on('message', (datagram, remote) => {
            try {
                this.handleDatagram(datagram, remote);
            } catch (error) {
                // A bug must not take the listener down with it.
                this.log.limited('error', 'handler', `datagram from ${remote.address}:${remote.port} failed: ${(error as Error).stack ?? String(error)}`);
            }
        });
        await bindUdp(socket, {host: this.options.host, port: this.options.port, log: this.log, label: 'UDP'});
        this.socket = socket;
        // Silence is noticed within a slot of its deadline; a slot of a second keeps "gone" within 20 s of a 15-s keepalive.
        const slotMs = Math.min(1000, this.options.probeAfterMs / 4, this.options.offlineAfterMs / 4);
        this.silence = new DeadlineWheel(slotMs, performance.now());
        this.sweepTimer = setInterval(() => this.sweep(), slotMs);
        this.sweepTimer.unref();
        this.log.info(`miIO cloud listening on udp ${this.options.host}:${this.port}`);
    }

    get port(): number {
        return this.socket ? this.socket.address().port : this.options.port;
    }

    async stop(): Promise<void> {
        if (this.sweepTimer) clearInterval(this.sweepTimer);
        this.sweepTimer = null;
        this.silence = null;
        for (const session of this.sessions.values()) {
            session.watched = false;
            for (const [id, pending] of session.pending) {
                clearTimeout(pending.timer);
                pending.reject(new Error('the miIO server stopped'));
                session.pending.delete(id);
            }
        }
        const socket = this.socket;
        this.socket = null;
        this.flood?.close();
        this.flood = null;
        if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
    }

    session(did: number): MiioSession | undefined {
        return this.sessions.get(did);
    }

    /** Sends `{id, method, params}` to the device and resolves with its `result`. */
    request(did: number, method: string, params: unknown, timeoutMs = this.options.requestTimeoutMs): Promise<unknown> {
        const session = this.sessions.get(did);
        if (!session || !session.address) return Promise.reject(new Error(`device ${did} has not connected yet`));
        if (!session.keys) return Promise.reject(new Error(`device ${did} has no cloud key`));
        const id = this.allocateId(session);
        return new Promise<unknown>((resolve, reject) => {
            const timer = setTimeout(() => {
                session.pending.delete(id);
                this.guard(() => this.hooks.onTimeout(session, method));
                reject(new Error(`${method} (id ${id}) got no answer within ${timeoutMs} ms`));
            }, timeoutMs);
            session.pending.set(id, {method, resolve, reject, timer});
            this.sendMessage(session, {id, method, params});
        });
    }

    /** Sends a message that wants no answer (our answers to the device's requests). */
    sendMessage(session: MiioSession, message: object): void {
        if (!session.keys) return;
        // NUL-terminated, as devices themselves send (miio.md §1.3).
        const packet = encodeMessage(session.keys, message, {did: session.did, stamp: this.stampFor(session), nulTerminated: true});
        this.guard(() => this.hooks.onMessage(session, 'out', message));
        this.send(session, packet);
    }

    private allocateId(session: MiioSession): number {
        if (session.nextId >= ID_LIMIT) session.nextId = 1;
        if (session.nextId >= session.reservedUpTo) {
            session.reservedUpTo = Math.min(ID_LIMIT, session.nextId + ID_BLOCK);
            this.guard(() => this.hooks.saveRequestId?.(session.did, session.reservedUpTo));
        }
        return session.nextId++;
    }

    private handleDatagram(datagram: Buffer, remote: dgram.RemoteInfo): void {
        const from = `${remote.address}:${remote.port}`;
        if (datagram.length > this.options.maxDatagramBytes) {
            return this.drop(datagram, remote, 'oversized', `${datagram.length}-byte datagram exceeds ${this.options.maxDatagramBytes}`);
        }
        let header: MiioHeader;
        try {
            header = readHeader(datagram);
        } catch (error) {
            if (error instanceof MiioPacketError) return this.drop(datagram, remote, error.reason, error.message);
            throw error;
        }
        if (isHello(header)) return this.answerHello(remote);
        if (header.did === HELLO_DID || header.did === 0) {
            return this.drop(datagram, remote, 'malformed_message', `did 0x${header.did.toString(16)} in a non-hello packet`);
        }
        const keys = this.hooks.keysFor(header.did);
        if (!keys) return this.handleKeyless(datagram, header, remote);
        // A device in its back-off costs no checksum; only checked packets can put it there.
        if (this.flood?.dropIfCutOff(String(header.did))) return;
        if (!hasValidChecksum(datagram, keys)) {
            return this.drop(datagram, remote, 'bad_checksum', 'checksum does not match the cloud key (wrong key, or not from this device)');
        }
        const verdict = this.flood?.admit(String(header.did)) ?? 'pass';
        if (verdict !== 'pass') {
            if (verdict === 'cut-off') {
                this.countBad(header.did, 'flooding', `more than ${this.floodSettings.packetsPerSecond} packets/s for too long: ignored for ${this.floodSettings.backoffSeconds} s`);
            }
            return;
        }
        const session = this.sessionFor(header.did, keys);
        // Replays are refused before they can move the session's address or keep it online.
        const replay = this.replayProblem(session, header, datagram);
        if (replay) return this.countBad(session.did, replay[0], `${replay[1]} (from ${from})`);
        session.verified = true;
        this.accept(session, remote, header, datagram);
        if (header.length === HEADER_LENGTH) return this.send(session, datagram);

        let message: MiioMessage;
        try {
            const parsed = parsePayload(decryptPayload(datagram, keys));
            message = parsed.message;
            if (parsed.repairs.length > 0) {
                this.log.limited('info', `repair:${session.did}`, `device ${session.did}: repaired broken JSON (${parsed.repairs.join(', ')})`);
            }
        } catch (error) {
            if (error instanceof MiioPacketError) return this.countBad(session.did, error.reason, error.message);
            throw error;
        }
        this.guard(() => this.hooks.onMessage(session, 'in', message));
        if (typeof message.method === 'string') return this.handleRequest(session, message.method, message);
        if ('result' in message || 'error' in message) return this.handleReply(session, message);
        this.countBad(session.did, 'malformed_message', 'JSON without method, result or error');
    }

    /** Without a key: answer what needs no key (keepalive echo), show the device, ask for the key. */
    private handleKeyless(datagram: Buffer, header: MiioHeader, remote: dgram.RemoteInfo): void {
        let session = this.sessions.get(header.did);
        if (!session) {
            if (this.keylessSessions >= (this.options.maxKeylessSessions ?? 16)) {
                this.stats.unattributed++;
                this.log.limited('warn', 'keyless-cap', `packet from ${remote.address} for yet another unknown did ${header.did} dropped`);
                return;
            }
            session = this.sessionFor(header.did, null);
        }
        if (session.keys) {
            session.keys = null;
            this.keylessSessions++;
        }
        session.verified = false;
        if (header.length > HEADER_LENGTH) {
            if (!session.address) {
                session.address = remote.address;
                session.port = remote.port;
            }
            this.guard(() => this.hooks.onKeyMissing(session));
            return this.countBad(session.did, 'no_cloud_key', `device ${header.did} sent a request but no cloud key is configured for it`);
        }
        // A keepalive needs no key: the device signed it, we only echo it.
        const replay = this.replayProblem(session, header, datagram);
        if (replay) return this.countBad(session.did, replay[0], replay[1]);
        this.accept(session, remote, header, datagram);
        this.guard(() => this.hooks.onKeyMissing(session));
        this.send(session, datagram);
    }

    /**
     * Keepalives are echoed only when their stamp is newer than the last echoed one (Valetudo's rule);
     * a payload packet is a replay when its bytes were seen recently or its stamp is far behind.
     */
    private replayProblem(session: MiioSession, header: MiioHeader, datagram: Buffer): [MiioSocketDropReason, string] | null {
        if (header.length === HEADER_LENGTH) {
            if (header.stamp <= session.lastKeepaliveStamp) {
                return ['replayed', `keepalive stamp ${header.stamp} is not newer than ${session.lastKeepaliveStamp}: not echoed`];
            }
            return null;
        }
        if (session.recentChecksums.includes(datagram.toString('hex', 16, 32))) return ['replayed', 'a packet seen before was replayed'];
        if (session.lastStamp > 0 && header.stamp + STAMP_WINDOW_S < session.lastStamp) {
            return ['stale_stamp', `stamp ${header.stamp} is far behind ${session.lastStamp}`];
        }
        return null;
    }

    /** A packet that passed every check: remember where the device is and what time it has. */
    private accept(session: MiioSession, remote: dgram.RemoteInfo, header: MiioHeader, datagram: Buffer): void {
        session.address = remote.address;
        session.port = remote.port;
        session.lastPacketAt = performance.now();
        session.silent = false;
        if (!session.watched) this.watchSilence(session, session.lastPacketAt);
        if (header.length === HEADER_LENGTH) {
            session.lastKeepaliveStamp = header.stamp;
        } else {
            session.recentChecksums.push(datagram.toString('hex', 16, 32));
            if (session.recentChecksums.length > RECENT_CHECKSUMS) session.recentChecksums.shift();
        }
        this.adoptStamp(session, header.stamp);
        this.guard(() => this.hooks.onSeen(session));
    }

    private adoptStamp(session: MiioSession, stamp: number): void {
        if (stamp > session.lastStamp) {
            session.lastStamp = stamp;
            session.lastStampAt = Date.now();
        }
    }

    /** Our stamp: the device's last one plus the seconds since (miio.md §1.5), else the time. */
    private stampFor(session: MiioSession): number {
        const now = Date.now();
        if (session.lastStamp > 0 && now - session.lastStampAt < STAMP_WINDOW_S * 1000) {
            return session.lastStamp + Math.floor((now - session.lastStampAt) / 1000);
        }
        return Math.floor(now / 1000);
    }

    private answerHello(remote: dgram.RemoteInfo): void {
        this.stats.hellos++;
        const now = Date.now();
        const rate = this.options.helloRatePerSecond;
        const source = `${remote.address}:${remote.port}`;
        let bucket = this.helloBuckets.get(source);
        if (!bucket) {
            if (this.helloBuckets.size >= MAX_HELLO_SOURCES) this.helloBuckets.clear();
            bucket = new TokenBucket(1, HELLO_BURST_PER_SOURCE, now);
            this.helloBuckets.set(source, bucket);
        }
        // Both budgets must allow it; a hello dropped for one must not spend the other's token.
        if (!this.helloBucket.canTake(now) || !bucket.canTake(now)) {
            this.stats.hellosUnanswered++;
            this.log.limited('warn', 'hello-flood', `hello flood (more than ${rate}/s, or from ${remote.address} repeatedly): dropping the excess`);
            return;
        }
        this.helloBucket.take(now);
        bucket.take(now);
        this.sendRaw(helloReply(Math.floor(now / 1000)), remote.port, remote.address);
    }

    private handleRequest(session: MiioSession, method: string, message: MiioMessage): void {
        const id = message.id;
        if (typeof id !== 'number' || !Number.isInteger(id)) {
            return this.countBad(session.did, 'malformed_message', `request ${method} without a numeric id`);
        }
        this.guard(() => this.onRequest(session, {id, method, params: message.params}));
    }

    private handleReply(session: MiioSession, message: MiioMessage): void {
        const id = message.id;
        const pending = typeof id === 'number' ? session.pending.get(id) : undefined;
        if (!pending) {
            // Stray results (`{"id":0,"result":"unknown_method"}` at start-up) get no answer.
            this.log.debug(() => `device ${session.did}: reply to unknown id ${JSON.stringify(id ?? null)} ignored`);
            return;
        }
        session.pending.delete(id as number);
        clearTimeout(pending.timer);
        if ('error' in message) {
            const error = isPlainObject(message.error) ? message.error : {};
            const code = typeof error.code === 'number' ? error.code : null;
            const text = typeof error.message === 'string' ? error.message : JSON.stringify(message.error);
            pending.reject(new MiioDeviceError(code, `${pending.method} failed on the device: ${text}${code === null ? '' : ` (${code})`}`));
            return;
        }
        pending.resolve(message.result);
    }

    private sessionFor(did: number, keys: MiioKeys | null): MiioSession {
        let session = this.sessions.get(did);
        if (!session) {
            session = new MiioSession(did);
            const stored = this.hooks.loadRequestId?.(did);
            if (stored !== undefined && stored > 0 && stored < ID_LIMIT) session.nextId = stored;
            this.sessions.set(did, session);
            if (!keys) this.keylessSessions++;
        } else if (!session.keys !== !keys) {
            this.keylessSessions += keys ? -1 : 1;
        }
        if (session.keys !== keys) {
            session.keys = keys;
            session.verified = false;
        }
        return session;
    }

    /** Only the sessions whose deadline came are looked at: the cost follows departures, not the fleet. */
    private sweep(): void {
        const now = performance.now();
        for (const session of this.silence?.takeDue(now) ?? []) {
            session.watched = false;
            this.checkSilence(session, now);
        }
    }

    /**
     * The wheel is lazy (a packet does not move the session), so its entry must never be later than
     * the session's next deadline: an asked device is looked at again a probe interval on, in case a
     * packet meanwhile started a silence of its own.
     */
    private watchSilence(session: MiioSession, now: number): void {
        if (!this.silence) return;
        const {probeAfterMs, offlineAfterMs} = this.options;
        const asked = session.overdueAt >= session.lastPacketAt;
        const dueAt = Math.min(session.lastPacketAt + offlineAfterMs, (asked ? now : session.lastPacketAt) + probeAfterMs);
        session.watched = true;
        this.silence.add(session, dueAt);
    }

    /** Keepalives came (watched again for the next deadline), are overdue (asked once), or stopped (silent). */
    private checkSilence(session: MiioSession, now: number): void {
        const silentFor = now - session.lastPacketAt;
        if (silentFor >= this.options.offlineAfterMs) {
            // Left unwatched until its next packet.
            if (!session.silent) {
                session.silent = true;
                this.guard(() => this.hooks.onSilent(session));
            }
            return;
        }
        if (silentFor >= this.options.probeAfterMs && session.overdueAt < session.lastPacketAt) {
            session.overdueAt = now;
            if (session.keys && session.verified) this.guard(() => this.hooks.onOverdue(session));
        }
        this.watchSilence(session, now);
    }

    private send(session: MiioSession, packet: Buffer): void {
        this.sendRaw(packet, session.port, session.address);
        this.guard(() => this.hooks.onSent(session));
    }

    private sendRaw(packet: Buffer, port: number, address: string): void {
        const socket = this.socket;
        if (!socket) return;
        socket.send(packet, port, address, (error) => {
            if (error) this.log.limited('warn', `send:${address}`, `could not send to ${address}:${port}: ${error.message}`);
        });
    }

    /**
     * A refused datagram: counted against the device only when it comes from that device's current
     * address (so a spoofer cannot fill another device's counters), else as unattributed.
     */
    private drop(datagram: Buffer, remote: dgram.RemoteInfo, reason: MiioSocketDropReason, detail: string): void {
        const did = datagram.length >= 12 ? datagram.readUInt32BE(8) : null;
        const session = did === null ? undefined : this.sessions.get(did);
        const fromDevice = session !== undefined && session.address === remote.address;
        const knownDevice = did !== null && did !== HELLO_DID && this.hooks.keysFor(did) !== null;
        if (did !== null && (fromDevice || (knownDevice && !session))) {
            return this.countBad(did, reason, `${detail} (from ${remote.address}:${remote.port})`);
        }
        this.stats.unattributed++;
        this.log.limited('warn', `drop:${reason}`, `dropped datagram from ${remote.address}:${remote.port}: ${detail}`);
    }

    private countBad(did: number, reason: MiioSocketDropReason, detail: string): void {
        this.log.limited('warn', `bad:${did}:${reason}`, `device ${did}: ${reason}: ${detail}`);
        this.guard(() => this.hooks.onBadPacket(did, reason, detail));
    }

    private guard(action: () => void): void {
        try {
            action();
        } catch (error) {
            this.log.limited('error', 'hook', `miIO hook failed: ${(error as Error).stack ?? String(error)}`);
        }
    }
}
