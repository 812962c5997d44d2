/**
 * The Ecovacs family put together: the helper bot, the adapter and the REST table over one device
 * broker connection, and the family's own XMPP server for older bots. What faces the network for
 * MQTT bots and REST (the broker policy, TLS routes, HTTP listeners) is the device edge's; it calls
 * the hooks here (`onClientConnected`, `onPublish`, `handleHttp`, …). The XMPP server listens by
 * itself from `start()`.
 */
import {randomBytes} from 'node:crypto';
import {readFile} from 'node:fs/promises';
import path from 'node:path';

import {writeFileAtomic} from '../../util/atomic-file.js';
import {createLogger, registerSecret} from '../../util/logger.js';
import type {FamilyContext, FamilyService} from '../family.js';
import {type BotLink, EcovacsAdapter} from './adapter.js';
import {answerOf, buildRequest, readMessage} from './codec.js';
import {HelperBot, RelayRefusedError, RelayTimeoutError} from './helper-bot.js';
import {EcovacsRest, type RelayOutcome, type RelayRequest, type RestRequest, type RestResponse} from './rest/routes.js';
import {SessionTokens} from './rest/session-tokens.js';
import type {EcovacsSettings} from './settings.js';
import {ATR_SUBSCRIPTION, parseClientId} from './topics.js';
import {XmppBotLink} from './xmpp/link.js';
import {type TlsMaterial, XmppServer} from './xmpp/server.js';

const log = createLogger('ecovacs');

/** The device broker as the family needs it: publishing to bots (the edge delivers what they send through the hooks). */
export interface DeviceBrokerPort {
    publish(topic: string, payload: string): void;
}

export class EcovacsService implements FamilyService {
    readonly helper: HelperBot;
    readonly adapter: EcovacsAdapter;
    private rest: EcovacsRest | null = null;
    readonly xmpp: XmppServer;
    private readonly xmppLink: XmppBotLink;
    /** Bot client ids connected now, by did: a bot that reconnects under a new id must not be marked offline by the old one. */
    private readonly connectedClients = new Map<string, string>();

    constructor(
        /** Without `images` the bots show no map. */
        private readonly context: Pick<FamilyContext<EcovacsSettings>, 'settings' | 'registry' | 'router' | 'dataDir'> & Partial<Pick<FamilyContext<EcovacsSettings>, 'images'>>,
        broker: DeviceBrokerPort,
        /** The edge's server certificate, offered to XMPP peers by STARTTLS; null offers none. */
        xmppTls: () => TlsMaterial | null = () => null,
    ) {
        const {settings} = context;
        this.helper = new HelperBot({publish: (topic, payload) => broker.publish(topic, payload), timeoutMs: settings.relayTimeoutMs, maxPending: settings.maxPendingRelays});
        this.adapter = new EcovacsAdapter({
            registry: context.registry,
            router: context.router,
            link: this.link,
            pollIntervalSeconds: settings.pollIntervalSeconds,
            lifespanPollMinutes: settings.lifespanPollMinutes,
            maps: settings.maps.enabled && context.images ? {images: context.images, ...settings.maps} : null,
        });
        this.xmpp = new XmppServer({
            host: settings.xmppHost,
            port: settings.xmppPort,
            tls: xmppTls,
            maxConnections: settings.xmppMaxConnections,
            pingIntervalMs: settings.xmppPingSeconds * 1000,
            requestTimeoutMs: settings.relayTimeoutMs,
            events: {
                botOnline: ({did, cls}) => this.adapter.botConnected({id: did, cls, resource: 'atom', protocol: 'xmpp'}),
                botOffline: (did) => {
                    this.xmppLink.forget(did);
                    this.adapter.botDisconnected(did);
                },
                botSaid: (did, ctl) => this.adapter.report(did, this.xmppLink.pushed(did, ctl)),
            },
        });
        this.xmppLink = new XmppBotLink(this.xmpp);
    }

    /** Topics the family's broker connection must receive (and pass to `onPublish`). */
    get subscriptions(): string[] {
        return [ATR_SUBSCRIPTION, ...this.helper.subscriptions];
    }

    async start(): Promise<void> {
        const {settings} = this.context;
        const tokens = new SessionTokens(await loadTokenKey(this.context.dataDir), settings.sessionLifetimeDays * 86_400_000);
        this.rest = new EcovacsRest({
            tokens,
            bots: () => this.adapter.listBots(),
            relay: (request) => this.relay(request),
            cleanLogs: (did) => this.adapter.cleanLogs(did),
            advertiseAddress: settings.advertiseAddress,
            xmppPort: settings.xmppPort,
            unknownBotErrno: settings.unknownBotErrno,
            maxBodyBytes: settings.maxBodyBytes,
            maxJsonDepth: settings.maxJsonDepth,
        });
        this.adapter.start();
        await this.xmpp.start();
    }

    async stop(): Promise<void> {
        this.adapter.stop();
        this.helper.close();
        await this.xmpp.stop();
    }

    /** Every REST request, from the HTTPS routes and the plain port alike. */
    handleHttp(request: RestRequest): Promise<RestResponse> {
        if (!this.rest) return Promise.resolve({status: 503, headers: {'content-type': 'application/json'}, body: '{"code":503,"msg":"starting"}'});
        return this.rest.handle(request);
    }

    onClientConnected(clientId: string, username: string | undefined): void {
        const identity = parseClientId(clientId);
        if (identity?.kind !== 'bot') return;
        this.connectedClients.set(identity.id, clientId);
        log.info(`bot ${identity.id} (class ${identity.cls}) connected`);
        // The user name is the serial, sometimes as `serial@realm` (§2.5).
        const serial = username?.split('@')[0];
        this.adapter.botConnected({...identity, ...(serial && {serial})});
    }

    onClientDisconnected(clientId: string): void {
        const identity = parseClientId(clientId);
        if (identity?.kind !== 'bot' || this.connectedClients.get(identity.id) !== clientId) return;
        this.connectedClients.delete(identity.id);
        log.info(`bot ${identity.id} disconnected`);
        this.adapter.botDisconnected(identity.id);
    }

    /** A message on one of `subscriptions`. */
    onPublish(topic: string, payload: Buffer): void {
        if (this.helper.handleMessage(topic, payload)) return;
        this.adapter.handleAtr(topic, payload);
    }

    /** REST relay (devmanager.do, endpoint/control): the client's payload, verbatim, to the bot. */
    async relay(request: RelayRequest): Promise<RelayOutcome> {
        const bot = this.adapter.lookup(request.did);
        if (!bot) return {kind: 'unknown'};
        if (!bot.online) return {kind: 'offline'};
        try {
            const reply = await this.helper.request(bot.endpoint, request.command, request.payload, request.format);
            return {kind: 'reply', requestId: reply.requestId, payload: reply.payload, format: reply.format};
        } catch (error) {
            if (error instanceof RelayTimeoutError) return {kind: 'timeout', requestId: error.requestId};
            if (error instanceof RelayRefusedError) return {kind: 'refused', reason: error.message};
            throw error;
        }
    }

    /** The adapter's commands: to XMPP bots through the XMPP server, to the others through the helper bot. */
    private readonly link: BotLink = {
        send: async (did, command) => {
            if (this.xmpp.hasBot(did)) return this.xmppLink.send(did, command);
            const bot = this.adapter.lookup(did);
            if (!bot?.online) throw new Error(`bot ${did} is offline`);
            const reply = await this.helper.request(bot.endpoint, command.name, buildRequest(command.data, Date.now()), 'j');
            const message = readMessage(reply.payload);
            if (!message.ok) throw new Error(`unreadable reply to ${command.name}: ${message.reason}`);
            return answerOf(command.name, message.message.body);
        },
    };
}

/** The key tokens are signed with: kept in the data directory so logins survive a restart. */
async function loadTokenKey(dataDir: string): Promise<Buffer> {
    const file = path.join(dataDir, 'ecovacs-token.key');
    let key: Buffer;
    try {
        key = Buffer.from((await readFile(file, 'utf8')).trim(), 'hex');
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        key = Buffer.alloc(0);
    }
    if (key.length < 32) {
        key = randomBytes(32);
        await writeFileAtomic(file, key.toString('hex'));
    }
    registerSecret(key.toString('hex'));
    return key;
}
