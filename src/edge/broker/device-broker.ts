/**
 * The one aedes instance every device family shares. Each family registers a policy; at CONNECT
 * the first policy that claims the client owns it for the life of the session, and every later
 * decision about that client is its owner's. Messages never cross families: a message reaches a
 * client only when its origin (the publishing client, or the session a family published for)
 * belongs to the same family.
 */

import {randomBytes} from 'node:crypto';
import type net from 'node:net';
import {TLSSocket} from 'node:tls';

import type {Aedes, AuthErrorCode, Client} from 'aedes';

import type {FloodGuardSettings} from '../../config/schema.js';
import {clip} from '../../util/clip.js';
import type {Logger} from '../../util/logger.js';
import type {FloodGuard, FloodGuards} from '../flood-guard.js';
import {type BrokerHooks, createBroker} from './broker.js';
import {type GuardedMqttStream, socketOf} from './framing-guard.js';
import {attachMqttConnection} from './listener.js';
import {classifyCertificateProblem, describeCertificateProblem} from '../tls/refusals.js';
import type {BrokerPolicy, ClientCertificate, Decision, DeviceClient, FamilyBroker} from './policy.js';

/** SUBACK's return code for a refused subscription. */
const SUBSCRIPTION_REFUSED = 0x80;
/** CONNACK 0x05. */
const NOT_AUTHORIZED = 5 as AuthErrorCode;

export interface DeviceBrokerOptions {
    keepaliveLimitSeconds: number;
    /** Cap after CONNACK for a policy that sets none. */
    maxPacketBytes: number;
    /** Each client's budget of publishes per second. */
    flood: FloodGuardSettings;
    /** The edge's guards, where the broker's joins the others. */
    floodGuards: FloodGuards;
    log: Logger;
}

interface RegisteredPolicy {
    family: string;
    /**
     * The origin its `publishAsFamily` messages carry: no client can take it, as it holds random
     * bytes no client knows (authorizeForward tells families apart by origin).
     */
    origin: string;
    policy: BrokerPolicy;
    active: boolean;
    connectHandlers: ((client: DeviceClient) => void)[];
    disconnectHandlers: ((client: DeviceClient) => void)[];
    subscribeHandlers: ((client: DeviceClient, topics: string[]) => void)[];
    publishHandlers: ((client: DeviceClient, topic: string, payload: Buffer) => void)[];
}

interface Ownership {
    owner: RegisteredPolicy;
    device: DeviceClient;
    authenticated: boolean;
}

export class DeviceBroker {
    private aedes: Aedes | null = null;
    /** Registered policies; unregistering removes one first, so every entry is active. */
    private readonly policies: RegisteredPolicy[] = [];
    private readonly ownership = new WeakMap<Client, Ownership>();
    private readonly refusals = new WeakMap<Client, string>();
    /** The live session per client id: a takeover replaces it before the old one's disconnect event. */
    private readonly sessions = new Map<string, Client>();
    private readonly listenerOf = new WeakMap<net.Socket, string>();
    private readonly log: Logger;
    private flood: FloodGuard | null = null;

    constructor(private readonly options: DeviceBrokerOptions) {
        this.log = options.log;
    }

    /** Some family registered a policy: the device MQTT port has someone to serve. */
    get hasPolicies(): boolean {
        return this.policies.length > 0;
    }

    register(family: string, policy: BrokerPolicy): FamilyBroker {
        if (this.policies.some((registered) => registered.family === family)) throw new Error(`${family} has a broker policy already`);
        const registered: RegisteredPolicy = {family, origin: `$fogbridge/${family}/${randomBytes(12).toString('hex')}`, policy, active: true, connectHandlers: [], disconnectHandlers: [], subscribeHandlers: [], publishHandlers: []};
        this.policies.push(registered);
        return {
            onConnect: (handler) => void registered.connectHandlers.push(handler),
            onDisconnect: (handler) => void registered.disconnectHandlers.push(handler),
            onSubscribe: (handler) => void registered.subscribeHandlers.push(handler),
            onPublish: (handler) => void registered.publishHandlers.push(handler),
            isConnected: (clientId) => this.sessionOf(registered, clientId) !== null,
            publish: (clientId, topic, payload, options) => {
                if (!this.sessionOf(registered, clientId)) return Promise.reject(new Error(`client ${clientId} is not connected`));
                return this.publishAs(registered, clientId, topic, payload, options?.qos ?? 1);
            },
            publishAsFamily: (topic, payload, options) => this.publishAs(registered, registered.origin, topic, payload, options?.qos ?? 1),
            attach: (socket, listener) => this.attach(socket, listener),
            unregister: () => this.unregister(registered),
        };
    }

    async start(): Promise<void> {
        if (this.aedes) return;
        this.flood = this.options.floodGuards.create(this.options.flood, 'MQTT client', this.log);
        const aedes = await createBroker({id: 'fogbridge-devices', keepaliveLimit: this.options.keepaliveLimitSeconds, hooks: this.hooks()});
        aedes.on('clientReady', (client) => this.onReady(client));
        aedes.on('clientDisconnect', (client) => this.onDisconnect(client));
        aedes.on('subscribe', (subscriptions, client) => {
            const owned = this.ownership.get(client);
            if (!owned?.authenticated || !owned.owner.active) return;
            // aedes reports refused subscriptions too, with the SUBACK's 0x80 as their QoS.
            const topics = subscriptions.filter((subscription) => (subscription.qos as number) !== SUBSCRIPTION_REFUSED).map((subscription) => subscription.topic);
            if (topics.length === 0) return;
            for (const handler of owned.owner.subscribeHandlers) this.notify(owned.owner, 'subscribe', () => handler(owned.device, topics));
        });
        aedes.on('publish', (packet, client) => {
            const owned = client ? this.ownership.get(client) : undefined;
            if (!owned?.authenticated || !owned.owner.active) return;
            const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
            for (const handler of owned.owner.publishHandlers) this.notify(owned.owner, 'publish', () => handler(owned.device, packet.topic, payload));
        });
        this.aedes = aedes;
    }

    async close(): Promise<void> {
        const aedes = this.aedes;
        this.aedes = null;
        if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
        this.sessions.clear();
        this.flood?.close();
        this.flood = null;
    }

    /**
     * Wires an accepted socket into the broker as a connection from `listener` (what policies see);
     * `label` names it in log lines, e.g. with its port.
     */
    attach(socket: net.Socket, listener: string, label = listener): void {
        if (!this.aedes) {
            socket.destroy();
            return;
        }
        this.listenerOf.set(socket, listener);
        attachMqttConnection(this.aedes, socket, {limits: {maxPacketBytes: this.options.maxPacketBytes}, label, log: this.log});
    }

    private hooks(): BrokerHooks {
        return {
            preConnect: (client, packet, callback) => {
                const socket = socketOf(client.conn as never);
                const device = describeClient(packet.clientId ?? '', packet.username ?? null, this.listenerOf.get(socket) ?? 'unknown', socket);
                const owner = this.ownerOf(device);
                if (!owner) {
                    this.refuse(client, device, `no family takes it (${device.certificate ? 'with' : 'without'} a client certificate)`);
                } else if (this.heldByAnotherFamily(device.id, owner)) {
                    this.refuse(client, device, `client id in use by another family's client`);
                } else if (this.flood?.isCutOff(floodKey(owner, device.id))) {
                    this.refuse(client, device, 'cut off for flooding');
                } else {
                    this.ownership.set(client, {owner, device, authenticated: false});
                    const limit = owner.policy.keepaliveLimitSeconds;
                    if (limit !== undefined && (packet.keepalive ?? 0) > limit) packet.keepalive = limit;
                    (client.conn as Partial<GuardedMqttStream>).setMaxPacketBytes?.(owner.policy.maxPacketBytes ?? this.options.maxPacketBytes);
                }
                callback(null, true);
            },
            authenticate: (client, _username, password, callback) => {
                const owned = this.ownership.get(client);
                const refusal = this.refusals.get(client);
                if (!owned || refusal) {
                    callback(Object.assign(new Error(refusal ?? 'not claimed by any family'), {returnCode: NOT_AUTHORIZED}), false);
                    return;
                }
                // aedes has replaced an empty client id by now.
                owned.device = {...owned.device, id: client.id};
                Promise.resolve()
                    .then(() => owned.owner.policy.authenticate(owned.device, password ?? null))
                    .catch((error: unknown): Decision => {
                        this.log.error(`${owned.owner.family} policy failed to authenticate ${owned.device.peer}: ${error instanceof Error ? error.message : String(error)}`);
                        return {allowed: false, reason: 'authentication failed'};
                    })
                    .then((decision) => {
                        if (!decision.allowed) {
                            callback(Object.assign(new Error(decision.reason), {returnCode: NOT_AUTHORIZED}), false);
                            return;
                        }
                        owned.authenticated = true;
                        this.budgetPublishes(client, floodKey(owned.owner, owned.device.id));
                        callback(null, true);
                    });
            },
            authorizePublish: (client, packet, callback) => {
                const owned = client ? this.ownership.get(client) : undefined;
                if (!owned?.authenticated || !owned.owner.active) {
                    // aedes publishes an orphaned will with no client: nobody vouches for it.
                    this.log.limited('warn', 'acl:unauthenticated', `publish to "${clip(packet.topic, 80)}" refused: no authenticated client`);
                    callback(new Error('publish without an authenticated client'));
                    return;
                }
                const decision = owned.owner.policy.authorizePublish(owned.device, packet.topic);
                callback(decision.allowed ? null : new Error(decision.reason));
            },
            authorizeSubscribe: (client, subscription, callback) => {
                const owned = this.ownership.get(client);
                if (!owned?.authenticated || !owned.owner.active) {
                    // aedes can hand over a SUBSCRIBE that arrived before CONNACK: no identity yet, no trust.
                    this.log.limited('warn', 'acl:unauthenticated', `unauthenticated client: subscription to "${clip(subscription.topic, 80)}" refused (SUBACK 0x80)`);
                    callback(null, null);
                    return;
                }
                callback(null, owned.owner.policy.authorizeSubscribe(owned.device, subscription.topic) ? subscription : null);
            },
            authorizeForward: (client, packet) => {
                const receiver = this.ownership.get(client);
                const originId = (packet as {clientId?: string}).clientId;
                const origin = originId === undefined ? undefined : this.sessions.get(originId);
                // A message whose origin is gone (stored, retained) has no family to vouch for it.
                if (!receiver?.authenticated) return null;
                const originFamily = originId === receiver.owner.origin ? receiver.owner : origin && this.ownership.get(origin)?.owner;
                if (originFamily !== receiver.owner) return null;
                return (receiver.owner.policy.authorizeForward?.(receiver.device, packet.topic) ?? true) ? packet : null;
            },
        };
    }

    /** Before CONNACK, once the client id is final: its publishes spend the budget before aedes parses them. */
    private budgetPublishes(client: Client, key: string): void {
        const flood = this.flood;
        if (flood) (client.conn as Partial<GuardedMqttStream>).setPublishAdmission?.(() => flood.admit(key));
    }

    private ownerOf(device: DeviceClient): RegisteredPolicy | undefined {
        let fallback: RegisteredPolicy | undefined;
        for (const registered of this.policies) {
            const claim = this.claimSafely(registered, device);
            if (claim === true) return registered;
            if (claim === 'fallback') fallback ??= registered;
        }
        return fallback;
    }

    private claimSafely(registered: RegisteredPolicy, device: DeviceClient): boolean | 'fallback' {
        try {
            return registered.policy.claims(device);
        } catch (error) {
            this.log.error(`${registered.family} policy failed to look at ${device.peer}: ${error instanceof Error ? error.message : String(error)}`);
            return false;
        }
    }

    private heldByAnotherFamily(clientId: string, owner: RegisteredPolicy): boolean {
        const current = this.sessions.get(clientId);
        const holder = current ? this.ownership.get(current)?.owner : undefined;
        return holder !== undefined && holder !== owner;
    }

    private refuse(client: Client, device: DeviceClient, reason: string): void {
        this.refusals.set(client, reason);
        this.log.limited('warn', `refused:${device.listener}:${device.address}`, `${device.listener}: client "${clip(device.id)}" from ${device.peer} refused: ${reason}`);
    }

    private onReady(client: Client): void {
        const owned = this.ownership.get(client);
        if (!owned?.authenticated) return;
        this.sessions.set(client.id, client);
        if (!owned.owner.active) return;
        for (const handler of owned.owner.connectHandlers) this.notify(owned.owner, 'connect', () => handler(owned.device));
    }

    private onDisconnect(client: Client): void {
        if (this.sessions.get(client.id) !== client) return;
        this.sessions.delete(client.id);
        const owned = this.ownership.get(client);
        if (!owned?.owner.active) return;
        for (const handler of owned.owner.disconnectHandlers) this.notify(owned.owner, 'disconnect', () => handler(owned.device));
    }

    private notify(owner: RegisteredPolicy, event: string, run: () => void): void {
        try {
            run();
        } catch (error) {
            this.log.limited('error', `handler:${owner.family}:${event}`, `${owner.family} ${event} handler failed: ${error instanceof Error ? error.message : String(error)}`);
        }
    }

    private sessionOf(owner: RegisteredPolicy, clientId: string): Client | null {
        const client = this.sessions.get(clientId);
        return client && this.ownership.get(client)?.owner === owner ? client : null;
    }

    /** Publishes with `origin` as the message's client id: a session of `owner`'s, or its own origin. */
    private publishAs(owner: RegisteredPolicy, origin: string, topic: string, payload: Buffer | string, qos: 0 | 1): Promise<void> {
        const aedes = this.aedes;
        if (!aedes || !owner.active) return Promise.reject(new Error(`the device broker does not serve ${owner.family} now`));
        const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
        return new Promise((resolve, reject) => {
            // The origin marks the message as this family's (see authorizeForward).
            aedes.publish({cmd: 'publish', topic, payload: body, qos, retain: false, dup: false, clientId: origin} as Parameters<Aedes['publish']>[0], (error) =>
                error ? reject(error) : resolve(),
            );
        });
    }

    private async unregister(owner: RegisteredPolicy): Promise<void> {
        const index = this.policies.indexOf(owner);
        if (index < 0) return;
        // No new client is taken for the family from now on...
        this.policies.splice(index, 1);
        // ...and its clients are closed while it still hears of it, so that it shows each device offline.
        const clients = [...this.sessions.values()].filter((client) => this.ownership.get(client)?.owner === owner);
        await Promise.all(clients.map((client) => new Promise<void>((resolve) => client.close(() => resolve()))));
        owner.active = false;
    }
}

/** With the family in it, so the warning says whose client floods. */
function floodKey(owner: RegisteredPolicy, clientId: string): string {
    return `${owner.family}:${clientId}`;
}

function describeClient(id: string, username: string | null, listener: string, socket: net.Socket): DeviceClient {
    const address = socket.remoteAddress ?? 'unknown';
    return {id, username, listener, address, peer: `${address}:${socket.remotePort ?? 0}`, certificate: socket instanceof TLSSocket ? certificateOf(socket) : null};
}

function certificateOf(socket: TLSSocket): ClientCertificate | null {
    const certificate = socket.getPeerCertificate();
    if (!certificate || Object.keys(certificate).length === 0) return null;
    const commonName = certificate.subject?.CN;
    // A certificate with several CNs has no single identity.
    const single = typeof commonName === 'string' && commonName.length > 0 ? commonName : null;
    if (socket.authorized) return {authorized: true, problem: null, refusal: null, commonName: single};
    const code = String(socket.authorizationError ?? 'unverified');
    return {authorized: false, problem: describeCertificateProblem(code), refusal: classifyCertificateProblem(code), commonName: single};
}
