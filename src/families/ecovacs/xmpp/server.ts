/**
 * The XMPP server older Ecovacs bots and app-side clients log in to (ecovacs.md §3): clear-text
 * start on 5223, STARTTLS offered and never forced, SASL PLAIN with any credentials, bind, session,
 * then `com:ctl` iqs relayed between clients and bots by the did / uid in `to`, with `from` always
 * ours to set. The family's own socket, not the shared edge's.
 *
 * Bad input ends one connection with a stream error and one log line. The clock limits: the stream
 * header within `headerTimeoutMs` of each (re)start, authentication within `authTimeoutMs` of the
 * connect (which also ends a STARTTLS that never sends its ClientHello), and an idle limit once
 * authenticated.
 */
import {randomBytes} from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';

import {listen} from '../../../util/listen.js';
import {createLogger, type Logger} from '../../../util/logger.js';
import {adminOfRefusal, grantCtls, PERMISSION_DENIED, readCtl} from './ctl-codec.js';
import {
    bareJid,
    BOT_RESOURCE,
    botDomain,
    classOfDomain,
    ctlIq,
    ctlOf,
    decodePlain,
    FEATURE_NOT_IMPLEMENTED,
    formatJid,
    iqError,
    isJidPart,
    type Jid,
    NS,
    parseJid,
    pingIq,
    RECIPIENT_UNAVAILABLE,
    SERVER_DOMAIN,
    STREAM_END,
    streamError,
    streamHeader,
} from './stanza-codec.js';
import {BYTES_PER_TURN, STREAM_LIMITS, type StreamEvent, StreamRefusal, type StreamLimits, xml, type XmlElement, XmppStreamParser} from './stream-codec.js';

export interface TlsMaterial {
    cert: string;
    key: string;
}

export interface XmppBotEvents {
    /** A bot bound its resource: it takes commands now. */
    botOnline(bot: {did: string; cls: string}): void;
    botOffline(did: string): void;
    /** Every `<ctl>` a bot sends that is not the answer to one of our own requests: its pushes, and its answers to clients. */
    botSaid(did: string, ctl: XmlElement): void;
}

export interface XmppServerOptions {
    host: string;
    port: number;
    /**
     * The server certificate for STARTTLS, read when the server starts (the edge issues it after the
     * families are created); null offers no STARTTLS.
     */
    tls: () => TlsMaterial | null;
    maxConnections: number;
    pingIntervalMs: number;
    /** How long our own requests (and clients' relayed ones, for the 103 retry) wait for a bot. */
    requestTimeoutMs: number;
    headerTimeoutMs?: number;
    authTimeoutMs?: number;
    /** Silence allowed after authentication; bots answer our pings, so a live one is never this quiet. */
    idleTimeoutMs?: number;
    limits?: StreamLimits;
    events: XmppBotEvents;
    logger?: Logger;
}

/** Who our own requests come from: a user JID, since a formerly bound bot grants users, not servers (§3.3). */
export const SERVER_USER_JID = `fogbridge@${SERVER_DOMAIN}/bridge`;
/** Relayed requests remembered for the 103 retry at once; beyond, they are relayed without one. */
const MAX_REMEMBERED_RELAYS = 1000;

type Phase = 'header' | 'auth' | 'bind' | 'ready' | 'closed';

interface Pending {
    did: string;
    iq: XmlElement;
    /** Our own request: resolved with the reply's ctl. Absent for a client's relayed one. */
    resolve?: (ctl: XmlElement) => void;
    reject?: (error: Error) => void;
    timer: NodeJS.Timeout;
    retried: boolean;
}

/** The bot is not connected: the adapter marks it offline. */
export class BotUnreachableError extends Error {
    override readonly name = 'BotUnreachableError';
}

export class XmppServer {
    private server: net.Server | null = null;
    private readonly log: Logger;
    private secureContext: tls.SecureContext | null = null;
    /** Each open connection, with its socket's close. */
    private readonly connections = new Map<XmppConnection, Promise<void>>();
    /** Ready bots by lower-case did. */
    private readonly bots = new Map<string, XmppConnection>();
    private readonly pending = new Map<string, Pending>();
    /** Bots that granted a requester after a 103, by `did bare-jid`: asked once per connection of the bot. */
    private readonly granted = new Set<string>();
    private pingTimer: NodeJS.Timeout | null = null;
    private nextId = 1;
    readonly counters = {accepted: 0, refused: 0, relayed: 0, unavailable: 0, grants: 0};

    constructor(readonly options: XmppServerOptions) {
        this.log = options.logger ?? createLogger('ecovacs:xmpp');
    }

    /** Resolves with the port bound. */
    async start(): Promise<number> {
        const material = this.options.tls();
        this.secureContext = material ? tls.createSecureContext({cert: material.cert, key: material.key}) : null;
        const server = net.createServer((socket) => this.accept(socket));
        server.maxConnections = this.options.maxConnections;
        server.on('drop', (data) => this.log.limited('warn', 'drop', `refused a connection from ${data?.remoteAddress ?? 'unknown'}: ${this.options.maxConnections} connections open`));
        this.server = server;
        const port = await listen(server, {host: this.options.host, port: this.options.port, log: this.log, label: 'xmpp'});
        this.pingTimer = setInterval(() => this.pingAll(), this.options.pingIntervalMs);
        this.pingTimer.unref();
        this.log.info(`XMPP on ${this.options.host}:${port}${this.secureContext ? ' (STARTTLS offered)' : ' (no STARTTLS: no certificate)'}`);
        return port;
    }

    async stop(): Promise<void> {
        if (this.pingTimer) clearInterval(this.pingTimer);
        this.pingTimer = null;
        const closed = [...this.connections.values()];
        for (const connection of this.connections.keys()) connection.close('system-shutdown');
        for (const [key, pending] of this.pending) this.settle(key, pending, new Error('the XMPP server stopped'));
        const server = this.server;
        this.server = null;
        if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
        // Each bot is forgotten (and shown offline) before the bridge's stop goes on.
        await Promise.all(closed);
    }

    get connectionCount(): number {
        return this.connections.size;
    }

    hasBot(did: string): boolean {
        return this.bots.has(did.toLowerCase());
    }

    /** Sends `ctl` to a bot as our own request; resolves with the `<ctl>` of its answer. */
    request(did: string, ctl: XmlElement): Promise<XmlElement> {
        const bot = this.bots.get(did.toLowerCase());
        if (!bot) return Promise.reject(new BotUnreachableError(`bot ${did} is not connected`));
        const iq = ctlIq({id: `fb${this.nextId++}`, to: bot.jid, from: SERVER_USER_JID}, ctl);
        return new Promise<XmlElement>((resolve, reject) => {
            this.remember(did, SERVER_USER_JID, iq, {resolve, reject});
            bot.send(iq);
        });
    }

    // ── connections ────────────────────────────────────────────────────────────────────────────

    private accept(socket: net.Socket): void {
        socket.setNoDelay(true);
        this.counters.accepted++;
        const connection = new XmppConnection(socket, this, this.options, this.log);
        const closed = new Promise<void>((resolve) =>
            socket.once('close', () => {
                this.connections.delete(connection);
                this.forget(connection);
                resolve();
            }),
        );
        this.connections.set(connection, closed);
    }

    get tlsContext(): tls.SecureContext | null {
        return this.secureContext;
    }

    countRefusal(): void {
        this.counters.refused++;
    }

    /** A connection bound its resource. */
    bound(connection: XmppConnection): void {
        const identity = connection.identity!;
        if (identity.kind !== 'bot') return;
        const key = identity.id.toLowerCase();
        const previous = this.bots.get(key);
        this.bots.set(key, connection);
        if (previous && previous !== connection) previous.close('conflict');
        this.log.info(`bot ${identity.id} (class ${identity.cls}) online from ${connection.peer}`);
        this.options.events.botOnline({did: identity.id, cls: identity.cls});
    }

    private forget(connection: XmppConnection): void {
        const identity = connection.identity;
        if (identity?.kind !== 'bot') return;
        // Only a bound connection is in the map; by the time its socket closes it is no longer ready (a
        // bot that ends its stream, one closed for a conflict), so readiness cannot tell.
        const key = identity.id.toLowerCase();
        if (this.bots.get(key) !== connection) return;
        this.bots.delete(key);
        for (const grant of [...this.granted]) if (grant.startsWith(`${key} `)) this.granted.delete(grant);
        for (const [pendingKey, pending] of this.pending) {
            if (pending.did.toLowerCase() === key) this.settle(pendingKey, pending, new BotUnreachableError(`bot ${identity.id} disconnected`));
        }
        this.log.info(`bot ${identity.id} offline`);
        this.options.events.botOffline(identity.id);
    }

    // ── routing ────────────────────────────────────────────────────────────────────────────────

    /** An iq from a ready connection. */
    routeIq(from: XmppConnection, iq: XmlElement): void {
        const to = parseJid(iq.attr('to') ?? '');
        if (from.identity!.kind === 'bot') {
            this.fromBot(from, iq, to);
            return;
        }
        if (!to?.local) {
            this.answerForServer(from, iq, to);
            return;
        }
        const bot = this.bots.get(to.local.toLowerCase());
        if (!bot) {
            if (iq.attr('type') === 'set' || iq.attr('type') === 'get') {
                this.counters.unavailable++;
                from.send(iqError(iq, {from: iq.attr('to'), to: from.jid}, RECIPIENT_UNAVAILABLE));
            }
            return;
        }
        from.controls.add(to.local.toLowerCase());
        const relayed = xml(iq.name, {...iq.attrs, from: from.jid, to: bot.jid}, ...iq.children);
        const type = relayed.attr('type');
        if ((type === 'set' || type === 'get') && relayed.attr('id') && this.pending.size < MAX_REMEMBERED_RELAYS) this.remember(bot.identity!.id, from.jid, relayed, {});
        this.counters.relayed++;
        bot.send(relayed);
    }

    /** iqs to the server itself (§3.3): pings answered, the app's `com:sf` acknowledged, the rest not implemented. */
    private answerForServer(from: XmppConnection, iq: XmlElement, to: Jid | null): void {
        const type = iq.attr('type');
        if (type !== 'get' && type !== 'set') return;
        const target = iq.attr('to') ?? SERVER_DOMAIN;
        if (iq.child('ping', NS.ping) || (to?.domain === 'rl.ecorobot.net' && iq.child('query', 'com:sf'))) {
            from.send(xml('iq', {type: 'result', id: iq.attr('id'), to: from.jid, from: target}));
            return;
        }
        from.send(iqError(iq, {from: target, to: from.jid}, FEATURE_NOT_IMPLEMENTED));
    }

    private fromBot(bot: XmppConnection, iq: XmlElement, to: Jid | null): void {
        const did = bot.identity!.id;
        const type = iq.attr('type');
        if (!to?.local && (type === 'get' || type === 'set')) {
            // Bots ping their own domain: ours to answer.
            this.answerForServer(bot, iq, to);
            return;
        }
        const ctl = ctlOf(iq);
        const key = pendingKey(did, iq.attr('to') ?? '', iq.attr('id') ?? '');
        const pending = (type === 'result' || type === 'error') ? this.pending.get(key) : undefined;
        if (pending && ctl && !pending.retried && readCtl(ctl).errno === PERMISSION_DENIED && this.grantAndRetry(bot, key, pending, ctl)) return;
        if (pending) {
            this.settle(key, pending, null, ctl);
            if (pending.resolve) return;
        }
        if (ctl) this.options.events.botSaid(did, ctl);
        this.deliverFromBot(bot, iq, to);
    }

    /**
     * §3.3: a bot bound to a cloud account refuses everyone but its users with errno 103 and names
     * its admin. Speaking as that admin, we add the requester with full rights and ask again.
     */
    private grantAndRetry(bot: XmppConnection, key: string, pending: Pending, ctl: XmlElement): boolean {
        const admin = adminOfRefusal(ctl);
        const requester = parseJid(pending.iq.attr('from') ?? '');
        if (!admin || !requester) return false;
        const grantee = bareJid(requester);
        const grantKey = `${pending.did.toLowerCase()} ${grantee}`;
        // Requests refused while the grant was on its way are asked again too, without a second grant.
        if (!this.granted.has(grantKey)) {
            this.granted.add(grantKey);
            this.counters.grants++;
            this.log.info(`bot ${pending.did} refused ${grantee} (errno 103, admin ${admin}): adding ${grantee} as its user and asking again`);
            for (const grant of grantCtls(grantee)) bot.send(ctlIq({id: `grant${this.nextId++}`, to: bot.jid, from: admin}, grant));
        }
        pending.retried = true;
        this.pending.set(key, pending);
        bot.send(pending.iq);
        return true;
    }

    /** A bot's stanza to whoever it names, and its pushes to every client controlling it (§3.3). */
    private deliverFromBot(bot: XmppConnection, iq: XmlElement, to: Jid | null): void {
        const did = bot.identity!.id.toLowerCase();
        const isPush = iq.attr('type') === 'set';
        const toText = iq.attr('to') ?? '';
        const stanza = xml(iq.name, {...iq.attrs, from: bot.jid}, ...iq.children);
        for (const connection of this.connections.keys()) {
            if (!connection.isReady || connection.identity?.kind !== 'user') continue;
            const named = to?.local ? connection.identity.id.toLowerCase() === to.local.toLowerCase() && (!to.resource || connection.jid === toText) : false;
            if (named || (isPush && connection.controls.has(did))) connection.send(stanza);
        }
    }

    private remember(did: string, requester: string, iq: XmlElement, callbacks: Pick<Pending, 'resolve' | 'reject'>): void {
        const key = pendingKey(did, requester, iq.attr('id') ?? '');
        const existing = this.pending.get(key);
        if (existing) clearTimeout(existing.timer);
        const timer = setTimeout(() => {
            const pending = this.pending.get(key);
            if (pending) this.settle(key, pending, new Error(`${did} did not answer within ${this.options.requestTimeoutMs} ms`));
        }, this.options.requestTimeoutMs);
        timer.unref();
        this.pending.set(key, {did, iq, timer, retried: false, ...callbacks});
    }

    private settle(key: string, pending: Pending, error: Error | null, ctl?: XmlElement): void {
        clearTimeout(pending.timer);
        this.pending.delete(key);
        if (error) pending.reject?.(error);
        else pending.resolve?.(ctl ?? xml('ctl', {ret: 'fail', errno: 'noctl', error: 'an answer without <ctl>'}));
    }

    private pingAll(): void {
        for (const connection of this.connections.keys()) {
            if (connection.isReady) connection.send(pingIq({id: `s2c${this.nextId++}`, to: connection.jid, from: SERVER_DOMAIN}));
        }
    }
}

function pendingKey(did: string, requester: string, id: string): string {
    return `${did.toLowerCase()}\n${requester}\n${id}`;
}

type Identity = {kind: 'bot'; id: string; cls: string} | {kind: 'user'; id: string};

/** One peer: its stream, its phase, its timers. */
class XmppConnection {
    readonly peer: string;
    identity: Identity | null = null;
    jid = '';
    /** Lower-case dids of the bots this client has sent commands to: their pushes reach it. */
    readonly controls = new Set<string>();
    private socket: net.Socket;
    private readonly parser: XmppStreamParser;
    private phase: Phase = 'header';
    private afterHeader: 'auth' | 'bind' = 'auth';
    private botClass: string | null = null;
    private tlsActive = false;
    /** STARTTLS accepted, handshake not done: nothing we write could reach the peer. */
    private handshaking = false;
    private headerSent = false;
    private headerTimer: NodeJS.Timeout | null = null;
    private authTimer: NodeJS.Timeout | null;
    private idleTimer: NodeJS.Timeout | null = null;
    /** The socket is paused while the rest of a large read waits for the next turn. */
    private pacing = false;
    private readonly onData = (chunk: Buffer): void => this.receive(chunk);

    constructor(
        socket: net.Socket,
        private readonly server: XmppServer,
        private readonly options: XmppServerOptions,
        private readonly log: Logger,
    ) {
        this.socket = socket;
        this.peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
        this.parser = new XmppStreamParser(options.limits ?? STREAM_LIMITS);
        this.attach(socket);
        this.authTimer = this.timer(options.authTimeoutMs ?? 10_000, 'not authenticated in time');
        this.expectHeader();
    }

    get isReady(): boolean {
        return this.phase === 'ready';
    }

    /** A getter, so a check after a call that may have closed the connection is not narrowed away. */
    get isClosed(): boolean {
        return this.phase === 'closed';
    }

    send(stanza: XmlElement | string): void {
        if (this.phase === 'closed' || !this.socket.writable) return;
        this.socket.write(typeof stanza === 'string' ? stanza : stanza.toString());
    }

    /** Ends the stream with `condition` and closes at once. */
    close(condition: string): void {
        if (this.phase === 'closed') return;
        const header = this.headerSent ? '' : streamHeader({id: newStreamId(), from: SERVER_DOMAIN});
        this.phase = 'closed';
        this.clearTimers();
        this.socket.off('data', this.onData);
        const socket = this.socket;
        if (!socket.writable || this.handshaking) {
            socket.destroy();
            return;
        }
        // The error is worth a try; a peer that does not read it does not hold the socket open.
        socket.end(header + streamError(condition), () => socket.destroy());
        setTimeout(() => socket.destroy(), 1000).unref();
    }

    private refuse(condition: string, reason: string): void {
        if (this.phase === 'closed') return;
        this.server.countRefusal();
        const who = this.identity ? `${this.identity.kind} ${this.identity.id}` : 'unauthenticated peer';
        this.log.limited('warn', `refused:${this.socket.remoteAddress ?? '?'}`, `${this.peer} (${who}): ${reason}; closed with ${condition}`);
        this.close(condition);
    }

    private attach(socket: net.Socket): void {
        socket.on('data', this.onData);
        socket.on('error', (error) => this.log.debug(() => `${this.peer}: ${error.message}`));
        socket.once('close', () => {
            this.phase = 'closed';
            this.clearTimers();
        });
    }

    /** A large read is parsed a slice per event-loop turn, the socket paused meanwhile, so no peer holds the loop long. */
    private receive(chunk: Buffer): void {
        if (this.phase === 'closed') return;
        if (this.idleTimer) this.armIdle();
        this.parse(chunk.subarray(0, BYTES_PER_TURN));
        if (chunk.length <= BYTES_PER_TURN || this.isClosed) return;
        const socket = this.socket;
        socket.pause();
        this.pacing = true;
        setImmediate(() => {
            this.pacing = false;
            this.receive(chunk.subarray(BYTES_PER_TURN));
            if (!this.pacing && !this.isClosed) socket.resume();
        });
    }

    private parse(bytes: Buffer): void {
        let events: StreamEvent[];
        try {
            events = this.parser.write(bytes);
        } catch (error) {
            if (error instanceof StreamRefusal) this.refuse(error.condition, error.message);
            else this.refuse('internal-server-error', `unexpected: ${(error as Error).message}`);
            return;
        }
        for (const event of events) {
            if (this.isClosed) return;
            try {
                this.handle(event);
            } catch (error) {
                this.refuse('internal-server-error', `unexpected: ${(error as Error).message}`);
            }
        }
    }

    private handle(event: StreamEvent): void {
        if (event.kind === 'close') {
            this.send(STREAM_END);
            this.phase = 'closed';
            this.clearTimers();
            this.socket.end();
            return;
        }
        if (event.kind === 'open') {
            this.open(event.attrs);
            return;
        }
        const stanza = event.element;
        switch (this.phase) {
            case 'header':
                return this.refuse('not-well-formed', `<${stanza.name.slice(0, 40)}> before the stream header`);
            case 'auth':
                return this.authenticate(stanza);
            case 'bind':
            case 'ready':
                return this.session(stanza);
        }
    }

    private open(attrs: Record<string, string>): void {
        if (this.phase !== 'header') return this.refuse('not-well-formed', 'a second stream header');
        if (this.headerTimer) clearTimeout(this.headerTimer);
        this.headerTimer = null;
        // The class comes from the first stream's `to`; a restarted stream may not change it.
        if (this.afterHeader === 'auth' && !this.tlsActive) this.botClass = classOfDomain(attrs.to ?? '');
        this.headerSent = true;
        this.send(streamHeader({id: newStreamId(), from: SERVER_DOMAIN}));
        if (this.afterHeader === 'auth') {
            const starttls = this.server.tlsContext && !this.tlsActive ? xml('starttls', {xmlns: NS.tls}) : null;
            const mechanisms = xml('mechanisms', {xmlns: NS.sasl}, xml('mechanism', {}, 'PLAIN'));
            this.send(starttls ? xml('stream:features', {}, starttls, mechanisms) : xml('stream:features', {}, mechanisms));
        } else {
            this.send(xml('stream:features', {}, xml('bind', {xmlns: NS.bind}), xml('session', {xmlns: NS.session})));
        }
        this.phase = this.afterHeader;
    }

    private authenticate(stanza: XmlElement): void {
        if (stanza.name === 'starttls' && stanza.attr('xmlns') === NS.tls) return this.startTls();
        if (stanza.name !== 'auth' || stanza.attr('xmlns') !== NS.sasl) return this.refuse('not-authorized', `<${stanza.name.slice(0, 40)}> before authentication`);
        const failure = (condition: string, reason: string): void => {
            this.send(xml('failure', {xmlns: NS.sasl}, xml(condition)));
            this.refuse('not-authorized', `SASL refused: ${reason}`);
        };
        if (stanza.attr('mechanism') !== 'PLAIN') return failure('invalid-mechanism', `mechanism ${(stanza.attr('mechanism') ?? 'none').slice(0, 20)}`);
        const login = decodePlain(stanza.text(), this.botClass);
        if ('error' in login) return failure('malformed-request', login.error);
        this.identity = login.kind === 'bot' ? {kind: 'bot', id: login.did, cls: this.botClass!} : {kind: 'user', id: login.uid};
        this.jid = login.kind === 'bot'
            ? formatJid({local: login.did, domain: botDomain(this.botClass!), resource: BOT_RESOURCE})
            : formatJid({local: login.uid, domain: SERVER_DOMAIN, resource: login.resource});
        if (this.authTimer) clearTimeout(this.authTimer);
        this.authTimer = null;
        this.send(xml('success', {xmlns: NS.sasl}));
        this.afterHeader = 'bind';
        this.restartStream();
        this.armIdle();
    }

    private startTls(): void {
        const context = this.server.tlsContext;
        if (!context || this.tlsActive) {
            this.send(xml('failure', {xmlns: NS.tls}));
            return this.refuse('policy-violation', 'STARTTLS where none is offered');
        }
        this.send(xml('proceed', {xmlns: NS.tls}));
        this.socket.off('data', this.onData);
        const secure = new tls.TLSSocket(this.socket, {isServer: true, secureContext: context});
        this.socket = secure;
        this.tlsActive = true;
        this.handshaking = true;
        secure.once('secure', () => (this.handshaking = false));
        this.attach(secure);
        // Until the handshake is done, the authentication deadline is what ends a silent peer.
        this.restartStream();
    }

    private restartStream(): void {
        this.parser.restart();
        this.headerSent = false;
        this.phase = 'header';
        this.expectHeader();
    }

    private session(stanza: XmlElement): void {
        if (stanza.name === 'iq') {
            const bind = stanza.child('bind', NS.bind);
            if (bind && stanza.attr('type') === 'set') return this.bind(stanza, bind);
            if (stanza.child('session', NS.session)) {
                this.send(xml('iq', {type: 'result', id: stanza.attr('id'), to: this.jid}));
                return;
            }
            if (this.phase !== 'ready') return this.refuse('not-authorized', 'an iq before binding a resource');
            this.server.routeIq(this, stanza);
            return;
        }
        if (stanza.name === 'presence' && this.phase === 'ready' && this.identity?.kind === 'bot') {
            // Bumper answers a bot's presence; bots may wait for it before pushing.
            this.send(xml('presence', {to: this.jid}));
        }
    }

    private bind(iq: XmlElement, bind: XmlElement): void {
        if (this.phase === 'ready') {
            this.send(iqError(iq, {to: this.jid}, {type: 'cancel', code: '405', condition: 'not-allowed'}));
            return;
        }
        const identity = this.identity!;
        if (identity.kind === 'user') {
            const asked = bind.child('resource')?.text().trim() ?? '';
            const current = parseJid(this.jid)!;
            const resource = isJidPart(asked) ? asked : current.resource || newStreamId();
            this.jid = formatJid({...current, resource});
        }
        this.phase = 'ready';
        this.send(xml('iq', {type: 'result', id: iq.attr('id'), to: this.jid}, xml('bind', {xmlns: NS.bind}, xml('jid', {}, this.jid))));
        this.server.bound(this);
    }

    private expectHeader(): void {
        if (this.headerTimer) clearTimeout(this.headerTimer);
        this.headerTimer = this.timer(this.options.headerTimeoutMs ?? 5000, 'no stream header in time');
    }

    private armIdle(): void {
        if (this.idleTimer) clearTimeout(this.idleTimer);
        this.idleTimer = this.timer(this.options.idleTimeoutMs ?? this.options.pingIntervalMs * 3, 'silent for too long');
    }

    private timer(ms: number, reason: string): NodeJS.Timeout {
        const timer = setTimeout(() => this.refuse('connection-timeout', reason), ms);
        timer.unref();
        return timer;
    }

    private clearTimers(): void {
        for (const timer of [this.headerTimer, this.authTimer, this.idleTimer]) if (timer) clearTimeout(timer);
        this.headerTimer = this.authTimer = this.idleTimer = null;
    }
}

function newStreamId(): string {
    return randomBytes(6).toString('hex');
}
