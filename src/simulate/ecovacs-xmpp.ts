/**
 * Simulated XMPP ("eco-legacy") Ecovacs bots, as a Deebot M81 / N79 / Ozmo 930 behaves (ecovacs.md §3,
 * §5.1): each asks `lookup.do` where the XMPP server is, connects, upgrades with STARTTLS when told
 * to, logs in with SASL PLAIN as `\0<did>\0<secret>` under `to="<class>.ecorobot.net"`, binds `atom`,
 * answers `<ctl td="…">` commands, pushes what changes, and pings the server. A formerly bound bot
 * answers errno 103 to everyone but its admin until the admin adds them (`AddUser`).
 */
import net from 'node:net';
import tls from 'node:tls';

import {createLogger} from '../util/logger.js';
import {type RunningDevices, startAll} from './start-all.js';
import {
    batteryElement,
    chargeElement,
    cleanElement,
    failReply,
    okReply,
    pushCtl,
    XML_LIFESPAN_TYPES,
    type XmlFanSpeed,
} from '../families/ecovacs/xmpp/ctl-codec.js';
import {bareJid, BOT_RESOURCE, botDomain, ctlIq, ctlOf, encodePlain, formatJid, NS, parseJid, pingIq, SERVER_DOMAIN, streamHeader} from '../families/ecovacs/xmpp/stanza-codec.js';
import {type StreamEvent, xml, type XmlElement, XmppStreamParser} from '../families/ecovacs/xmpp/stream-codec.js';

const log = createLogger('simulate:ecovacs-xmpp');

export interface XmppBotsOptions {
    /** Where the bot asks for the XMPP server (`http://<bridge>:8007/lookup.do`), as real bots ask `lbo.ecovacs.net:8007`. */
    lookupUrl: string;
    count?: number;
    /** The first bot's serial number; the others count up from it. */
    firstSerial?: number;
    /** The model class; `126` is a Deebot M81 Pro. */
    cls?: string;
    /** Take STARTTLS when offered (bots do; the certificate is not checked, §4.1). */
    startTls?: boolean;
    /** Behave as a bot bound to this cloud admin JID: errno 103 for anyone it has not been told to accept. */
    formerAdmin?: string;
    /** One simulated minute of cleaning per tick. */
    tickMs?: number;
    pingMs?: number;
}

type Phase = 'idle' | 'cleaning' | 'paused' | 'returning' | 'charging';

export class SimulatedXmppBot {
    readonly did: string;
    readonly cls: string;
    phase: Phase = 'charging';
    battery = 80;
    speed: XmlFanSpeed = 'standard';
    errorCode = 100;
    readonly lifespans: Record<string, number> = {Brush: 95, SideBrush: 60, DustCaseHeap: 40};
    /** Command names received, in order: for tests. */
    readonly received: string[] = [];
    /** Bare JIDs that may command it: only meaningful for a formerly bound bot. */
    readonly users = new Set<string>();
    private socket: net.Socket | null = null;
    private readonly parser = new XmppStreamParser();
    private stage: 'features' | 'tls' | 'auth' | 'bind' | 'session' | 'ready' = 'features';
    private authenticated = false;
    private nextId = 1;
    private timers: NodeJS.Timeout[] = [];
    private readyWaiters: (() => void)[] = [];

    constructor(
        index: number,
        private readonly options: XmppBotsOptions,
    ) {
        this.did = `E0000${String((options.firstSerial ?? 2001) + index).padStart(15, '0')}`;
        this.cls = options.cls ?? '126';
        if (options.formerAdmin) this.users.add(options.formerAdmin);
    }

    get jid(): string {
        return formatJid({local: this.did, domain: botDomain(this.cls), resource: BOT_RESOURCE});
    }

    get ready(): boolean {
        return this.stage === 'ready';
    }

    async start(): Promise<void> {
        const {ip, port} = await lookUp(this.options.lookupUrl);
        const socket = net.connect({host: ip, port});
        socket.setNoDelay(true);
        await new Promise<void>((resolve, reject) => {
            socket.once('connect', resolve);
            socket.once('error', reject);
        });
        this.use(socket);
        this.openStream();
        await new Promise<void>((resolve, reject) => {
            this.readyWaiters.push(resolve);
            socket.once('close', () => reject(new Error(`${this.did}: the server closed the connection before the bot was ready`)));
        });
        this.timers.push(setInterval(() => this.tick(), this.options.tickMs ?? 1000));
        this.timers.push(setInterval(() => this.send(pingIq({id: this.id(), to: botDomain(this.cls)})), this.options.pingMs ?? 30_000));
        for (const timer of this.timers) timer.unref();
    }

    async stop(): Promise<void> {
        for (const timer of this.timers) clearInterval(timer);
        this.timers = [];
        const socket = this.socket;
        this.socket = null;
        if (!socket || socket.destroyed) return;
        await new Promise<void>((resolve) => {
            socket.once('close', () => resolve());
            socket.end('</stream:stream>');
            setTimeout(() => socket.destroy(), 500).unref();
        });
    }

    private use(socket: net.Socket): void {
        this.socket = socket;
        socket.on('data', (chunk: Buffer) => this.receive(chunk));
        socket.on('error', (error) => log.warn(`${this.did}: ${error.message}`));
    }

    private openStream(): void {
        this.parser.restart();
        this.socket?.write(streamHeader({to: botDomain(this.cls)}));
    }

    private receive(chunk: Buffer): void {
        let events: StreamEvent[];
        try {
            events = this.parser.write(chunk);
        } catch (error) {
            log.warn(`${this.did}: the server's stream is unreadable: ${(error as Error).message}`);
            this.socket?.destroy();
            return;
        }
        for (const event of events) if (event.kind === 'stanza') this.onStanza(event.element);
    }

    private onStanza(stanza: XmlElement): void {
        switch (stanza.name) {
            case 'stream:features':
                return this.onFeatures(stanza);
            case 'proceed':
                return this.upgrade();
            case 'success':
                this.authenticated = true;
                return this.openStream();
            case 'failure':
                log.warn(`${this.did}: login refused`);
                return;
            case 'iq':
                return this.onIq(stanza);
        }
    }

    private onFeatures(features: XmlElement): void {
        if (!this.authenticated) {
            if (features.child('starttls', NS.tls) && this.options.startTls && !(this.socket instanceof tls.TLSSocket)) {
                this.stage = 'tls';
                this.send(xml('starttls', {xmlns: NS.tls}));
                return;
            }
            this.stage = 'auth';
            this.send(xml('auth', {xmlns: NS.sasl, mechanism: 'PLAIN'}, encodePlain('', this.did, 'simulated-secret')));
            return;
        }
        this.stage = 'bind';
        this.send(xml('iq', {type: 'set', id: 'bind'}, xml('bind', {xmlns: NS.bind}, xml('resource', {}, BOT_RESOURCE))));
    }

    private upgrade(): void {
        const raw = this.socket!;
        raw.removeAllListeners('data');
        const secure = tls.connect({socket: raw, rejectUnauthorized: false});
        this.use(secure);
        secure.once('secureConnect', () => this.openStream());
    }

    private onIq(iq: XmlElement): void {
        const type = iq.attr('type');
        if (type === 'result' && iq.attr('id') === 'bind') {
            this.stage = 'session';
            this.send(xml('iq', {type: 'set', id: 'session'}, xml('session', {xmlns: NS.session})));
            return;
        }
        if (type === 'result' && iq.attr('id') === 'session') {
            this.stage = 'ready';
            this.send(xml('presence', {}, xml('status', {}, 'hello world')));
            for (const resolve of this.readyWaiters.splice(0)) resolve();
            return;
        }
        if (type === 'get' && iq.child('ping', NS.ping)) {
            this.send(xml('iq', {type: 'result', id: iq.attr('id'), to: iq.attr('from'), from: this.jid}));
            return;
        }
        const ctl = ctlOf(iq);
        const from = iq.attr('from');
        if (type !== 'set' || !ctl || !from) return;
        const answer = this.answer(ctl, from);
        this.send(xml('iq', {type: 'result', id: iq.attr('id'), to: from, from: this.jid}, xml('query', {xmlns: NS.ctl}, answer)));
    }

    /** The reply to a command (§5.1). */
    private answer(ctl: XmlElement, from: string): XmlElement {
        const td = ctl.attr('td') ?? '';
        this.received.push(td);
        const requester = parseJid(from);
        const requesterBare = requester ? bareJid(requester) : from;
        if (this.options.formerAdmin) {
            if ((td === 'AddUser' || td === 'SetAC' || td === 'GetUserInfo') && requesterBare === this.options.formerAdmin) {
                const jid = ctl.attr('jid');
                if (td === 'AddUser' && jid) this.users.add(jid);
                return okReply();
            }
            if (!this.users.has(requesterBare)) return failReply('103', `permission denied, please contact ${this.options.formerAdmin}`);
        }
        switch (td) {
            case 'Clean':
                return this.clean(ctl.child('clean'));
            case 'Charge':
                if (this.phase !== 'charging') this.setPhase('returning');
                return okReply();
            case 'PlaySound':
                return okReply();
            case 'SetCleanSpeed': {
                const speed = ctl.attr('speed');
                if (speed !== 'standard' && speed !== 'strong') return failReply('4', 'bad speed');
                this.speed = speed;
                return okReply();
            }
            case 'GetBatteryInfo':
                return okReply({}, batteryElement(this.battery));
            case 'GetChargeState':
                return okReply({}, this.chargeElement());
            case 'GetCleanState':
                return okReply({}, this.cleanElement());
            case 'GetCleanSpeed':
                return okReply({speed: this.speed});
            case 'GetError':
                return okReply({errs: String(this.errorCode)});
            case 'GetLifeSpan': {
                const type = ctl.attr('type') ?? '';
                const left = this.lifespans[type];
                return left === undefined ? failReply('4', 'unknown type') : okReply({type, val: String(left).padStart(3, '0'), total: '365'});
            }
            case 'ResetLifeSpan': {
                const type = ctl.attr('type') ?? '';
                if (!XML_LIFESPAN_TYPES.includes(type)) return failReply('4', 'unknown type');
                this.lifespans[type] = 100;
                return okReply();
            }
            default:
                return failReply('3', 'unknown command');
        }
    }

    private clean(clean: XmlElement | undefined): XmlElement {
        const speed = clean?.attr('speed');
        if (speed === 'standard' || speed === 'strong') this.speed = speed;
        const act = clean?.attr('act');
        if (clean?.attr('type') === 'stop' || act === 'h') this.setPhase('idle');
        else if (act === 'p') {
            if (this.phase === 'cleaning') this.setPhase('paused');
        } else this.setPhase('cleaning');
        return okReply();
    }

    private setPhase(phase: Phase): void {
        const was = this.phase;
        this.phase = phase;
        if (phase === 'charging' || phase === 'returning' || was === 'charging') this.push(pushCtl('ChargeState', {}, this.chargeElement()));
        if (phase !== 'charging') this.push(pushCtl('CleanReport', {}, this.cleanElement()));
    }

    private chargeElement(): XmlElement {
        return chargeElement(this.phase === 'charging' ? 'SlotCharging' : this.phase === 'returning' ? 'Going' : 'Idle');
    }

    private cleanElement(): XmlElement {
        switch (this.phase) {
            case 'cleaning':
                return cleanElement('auto', this.speed, 's');
            case 'paused':
                return cleanElement('auto', this.speed, 'p');
            case 'returning':
                return cleanElement('going', this.speed, 's');
            default:
                return cleanElement('stop', this.speed, 'h');
        }
    }

    /** One simulated minute. */
    private tick(): void {
        if (this.phase === 'cleaning') {
            this.setBattery(this.battery - 1);
            if (this.battery <= 15) this.setPhase('returning');
        } else if (this.phase === 'returning') {
            this.setPhase('charging');
        } else if (this.phase === 'charging' && this.battery < 100) {
            this.setBattery(this.battery + 2);
        }
    }

    private setBattery(value: number): void {
        this.battery = Math.max(0, Math.min(100, value));
        this.push(pushCtl('BatteryInfo', {}, batteryElement(this.battery)));
    }

    /** Pushes go to the bot's user, as the real ones address them (§3.2 samples). */
    private push(ctl: XmlElement): void {
        if (this.stage === 'ready') this.send(ctlIq({id: this.id(), to: `owner@${SERVER_DOMAIN}`, from: this.jid}, ctl));
    }

    private send(stanza: XmlElement): void {
        if (this.socket?.writable) this.socket.write(stanza.toString());
    }

    private id(): string {
        return String(this.nextId++);
    }
}

/** `lookup.do` as a bot asks it (§1.3 B1). */
async function lookUp(url: string): Promise<{ip: string; port: number}> {
    const response = await fetch(url, {method: 'POST', headers: {'content-type': 'application/json'}, body: '{"todo":"FindBest","service":"EcoMsgNew"}'});
    const answer = (await response.json()) as {ip?: unknown; port?: unknown; result?: unknown};
    if (answer.result !== 'ok' || typeof answer.ip !== 'string' || typeof answer.port !== 'number') throw new Error(`lookup.do answered ${JSON.stringify(answer).slice(0, 200)}`);
    return {ip: answer.ip, port: answer.port};
}

export type XmppBots = RunningDevices<SimulatedXmppBot>;

export function startXmppBots(options: XmppBotsOptions): Promise<XmppBots> {
    return startAll(Array.from({length: options.count ?? 1}, (_, index) => new SimulatedXmppBot(index, options)));
}
