/**
 * The device edge: everything that faces devices and is shared between families (DESIGN.md, "The
 * device edge"). One broker with a policy per family, one shared TLS port with routes, one HTTP
 * router served there and on the plain ports families ask for, and one CA with one server
 * certificate whose names the families gather.
 *
 * Lifecycle, driven by the composition root: families register while they are created and
 * started; `prepare()` loads the CA and issues (or reloads) the certificate once every name is
 * known, before any family needs it; `listen()` opens only the listeners something was
 * registered for.
 */

import type http from 'node:http';
import type net from 'node:net';
import type tls from 'node:tls';

import type {EdgeSettings, FloodGuardSettings} from '../config/schema.js';
import {createLogger, type Logger} from '../util/logger.js';
import {closeHttpServer} from '../util/http-server.js';
import {DeviceBroker} from './broker/device-broker.js';
import {type FloodGuard, FloodGuards, type FloodStats} from './flood-guard.js';
import type {BrokerPolicy, FamilyBroker} from './broker/policy.js';
import {listenPlainMqtt} from './broker/listener.js';
import {listenMqttTls} from './broker/tls-listener.js';
import {HttpRouter, type HttpRoute} from './http/router.js';
import {type BoundHttpServer, type PlainHttpListener, createHttpServer, listenPlainHttp} from './http/server.js';
import {type CertificateAuthority, loadOrCreateCa} from './tls/ca.js';
import {type ServerNames, loadOrIssueServerCertificate} from './tls/issue.js';
import {type BoundServer, type TlsMaterial, closeServer, trackSockets} from './tls/server-sockets.js';
import {type TlsRefusalReason, TlsRefusals} from './tls/refusals.js';
import {type TlsRoute, TlsPortDispatcher} from './tls-port/dispatcher.js';

export type {BrokerPolicy, ClientCertificate, Decision, DeviceClient, FamilyBroker} from './broker/policy.js';
export {ALLOWED, refused} from './broker/policy.js';
export type {FloodGuard, FloodStats, FloodVerdict} from './flood-guard.js';
export type {BodyOutcome} from './http/body.js';
export {readRequestBody, refuseBody} from './http/body.js';
export type {HttpHandler, HttpRoute} from './http/router.js';
export {replyJson} from './http/router.js';
export type {PlainHttpListener} from './http/server.js';
export type {TlsRoute} from './tls-port/dispatcher.js';
export type {TlsMaterial} from './tls/server-sockets.js';
export type {TlsRefusal, TlsRefusalReason} from './tls/refusals.js';
export {clientCertificateRefusal, classifyHandshakeError} from './tls/refusals.js';
export {describeTlsError} from './tls/server-sockets.js';

/** The listener name policies see for the device MQTT-over-TLS port. */
export const MQTT_TLS_LISTENER = 'mqtt-tls';
/** The opt-in unencrypted device MQTT listener (`edge.mqttPlainPort`). */
export const MQTT_PLAIN_LISTENER = 'mqtt-plain';

export interface EdgeCertificates {
    ca: CertificateAuthority;
    /** The server certificate chain (server, then CA) and key, and the CA clients must chain to. */
    tls: TlsMaterial;
}

export interface EdgePorts {
    mqttTls: number | null;
    mqttPlain: number | null;
    tls: number | null;
    /** Plain HTTP ports by listener label. */
    http: Record<string, number>;
}

/** What the edge held back from devices, over every family: the bridge's diagnostics show them. */
export interface EdgeCounters {
    flood: FloodStats;
    /** Hellos (a device's first packet, asking to be let in) left unanswered by a rate limit. */
    hellosUnanswered: number;
}

/** What a family gets from the edge through its context. */
export interface FamilyEdge {
    registerBrokerPolicy(policy: BrokerPolicy): FamilyBroker;
    addTlsRoute(route: TlsRoute): void;
    addHttpRoute(route: HttpRoute): void;
    /** Serve the HTTP router over TLS on the shared TLS port (for connections no other route takes). */
    serveHttpOnTlsPort(): void;
    /** A plain HTTP port serving this family's routes only; ask before the edge listens (from `create` or `start`). */
    servePlainHttp(listener: PlainHttpListener): void;
    /** Names the server certificate must carry; add them in `create`, before the edge prepares. */
    addServerNames(names: Partial<ServerNames>): void;
    /** The CA and server certificate; available from the family's `start`. */
    certificates(): EdgeCertificates;
    readonly ports: EdgePorts;
    /**
     * A device refused for its TLS after the handshake (no client certificate, or one not from our
     * CA), so that the web UI lists it with the edge's own handshake failures.
     */
    reportTlsRefusal(peer: string, listener: string, reason: TlsRefusalReason, detail: string): void;
    /** A packet budget per device for the family's own listener; its counters join the edge's. Close it when the listener stops. */
    floodGuard(settings: FloodGuardSettings, noun: string, log: Logger): FloodGuard;
    /** The counters of a guard in another thread (icomen's balancer), read for the edge's counters until `release`. */
    reportFloodStats(read: () => FloodStats): void;
    /** How many hellos the family's listener left unanswered since it started, read for the edge's counters until `release`. */
    reportUnansweredHellos(read: () => number): void;
    /** Removes everything this family registered and disconnects its MQTT clients. */
    release(): Promise<void>;
}

const log = createLogger('edge');
const HTTPS_ROUTE = 'https';

export class DeviceEdge {
    readonly ports: EdgePorts = {mqttTls: null, mqttPlain: null, tls: null, http: {}};
    /** Recent refused handshakes and certificates on every device TLS listener, for the web UI. */
    readonly tlsRefusals = new TlsRefusals();
    private readonly broker: DeviceBroker;
    /** Every guard of this edge (the broker's and the families'): two bridges in one process count apart. */
    private readonly floodGuards = new FloodGuards();
    private readonly unansweredHelloSources = new Set<() => number>();
    private readonly router = new HttpRouter(createLogger('edge:http'));
    private readonly tlsRoutes: TlsRoute[] = [];
    private readonly plainHttp: {family: string; listener: PlainHttpListener}[] = [];
    private readonly familyNames: ServerNames = {hosts: [], ips: []};
    private httpOnTlsPort = false;
    private prepared: EdgeCertificates | null = null;
    private dispatcher: TlsPortDispatcher | null = null;
    private httpsServer: http.Server | null = null;
    private mqttListener: BoundServer<tls.Server> | null = null;
    private mqttPlainListener: BoundServer | null = null;
    private readonly httpListeners: BoundHttpServer[] = [];
    private listening = false;

    constructor(
        private readonly settings: EdgeSettings,
        private readonly dataDir: string,
    ) {
        this.broker = new DeviceBroker({keepaliveLimitSeconds: settings.keepaliveLimitSeconds, maxPacketBytes: settings.maxPacketBytes, flood: settings.flood, floodGuards: this.floodGuards, log: createLogger('edge:broker')});
    }

    forFamily(family: string): FamilyEdge {
        const brokers: FamilyBroker[] = [];
        const tlsRoutes: TlsRoute[] = [];
        const httpRoutes: HttpRoute[] = [];
        const helloSources: (() => number)[] = [];
        const floodReports: (() => void)[] = [];
        const edge = this;
        return {
            registerBrokerPolicy: (policy) => {
                const broker = this.broker.register(family, policy);
                brokers.push(broker);
                return broker;
            },
            addTlsRoute: (route) => {
                this.addTlsRoute(route);
                tlsRoutes.push(route);
            },
            addHttpRoute: (route) => {
                this.router.add(route, family);
                httpRoutes.push(route);
            },
            serveHttpOnTlsPort: () => {
                this.httpOnTlsPort = true;
            },
            servePlainHttp: (listener) => {
                if (this.listening) throw new Error(`${family}: plain HTTP ports must be asked for before the edge listens`);
                this.plainHttp.push({family, listener});
            },
            addServerNames: (names) => {
                const issued = this.serverNames();
                const missing = [...(names.hosts ?? []).filter((host) => !issued.hosts.includes(host)), ...(names.ips ?? []).filter((ip) => !issued.ips.includes(ip))];
                if (this.prepared && missing.length > 0) {
                    throw new Error(`${family}: the server certificate is issued already, without ${missing.join(', ')}: add names in create, before the edge prepares`);
                }
                addUnique(this.familyNames.hosts, names.hosts ?? []);
                addUnique(this.familyNames.ips, names.ips ?? []);
            },
            certificates: () => this.certificates(),
            reportTlsRefusal: (peer, listener, reason, detail) => this.tlsRefusals.record(peer, listener, reason, detail),
            get ports() {
                return edge.ports;
            },
            floodGuard: (settings, noun, log) => this.floodGuards.create(settings, noun, log),
            reportFloodStats: (read) => {
                floodReports.push(this.floodGuards.report(read));
            },
            reportUnansweredHellos: (read) => {
                this.unansweredHelloSources.add(read);
                helloSources.push(read);
            },
            release: async () => {
                for (const read of helloSources.splice(0)) this.unansweredHelloSources.delete(read);
                for (const remove of floodReports.splice(0)) remove();
                for (const route of tlsRoutes.splice(0)) this.removeTlsRoute(route);
                for (const route of httpRoutes.splice(0)) this.router.remove(route);
                await Promise.all(brokers.splice(0).map((broker) => broker.unregister()));
            },
        };
    }

    counters(): EdgeCounters {
        let hellosUnanswered = 0;
        for (const read of this.unansweredHelloSources) hellosUnanswered += read();
        return {flood: this.floodGuards.totals(), hellosUnanswered};
    }

    certificates(): EdgeCertificates {
        if (!this.prepared) throw new Error('the edge has no certificate yet: ask for it from start(), after the edge has prepared');
        return this.prepared;
    }

    /** The CA's public certificate (never its key) once the edge has prepared one; null before, or when no family needs TLS. */
    caCertificatePem(): string | null {
        return this.prepared?.ca.certPem ?? null;
    }

    /** The certificate's names: the families' first, then the configured extras. */
    serverNames(): ServerNames {
        return {
            hosts: addUnique([...this.familyNames.hosts], this.settings.serverCertHosts),
            ips: addUnique([...this.familyNames.ips], this.settings.serverCertIps),
        };
    }

    /**
     * Loads the CA and issues or reloads the server certificate, when something needs them (a
     * bridge with no TLS family never creates a CA). Again from `listen`, for what was registered
     * in the families' `start`.
     */
    async prepare(): Promise<void> {
        if (this.prepared || !this.needsCertificates()) return;
        const ca = await loadOrCreateCa(this.dataDir);
        const server = await loadOrIssueServerCertificate(this.dataDir, ca, this.serverNames());
        this.prepared = {ca, tls: {ca: ca.certPem, cert: server.certPem + ca.certPem, key: server.keyPem}};
    }

    /** Opens the listeners something was registered for; on failure closes what it had opened. */
    async listen(): Promise<void> {
        if (this.listening) return;
        this.listening = true;
        try {
            await this.prepare();
            if (this.broker.hasPolicies) await this.broker.start();
            await this.listenMqttTls();
            await this.listenMqttPlain();
            await this.listenTlsPort();
            for (const {family, listener} of this.plainHttp) {
                const bound = await listenPlainHttp(this.router.handlerFor(family), listener, log);
                if (!bound) continue;
                this.httpListeners.push(bound);
                this.ports.http[listener.label] = bound.port;
            }
        } catch (error) {
            await this.stopListening();
            throw error;
        }
    }

    /** Closes every listener (devices can no longer connect); the broker keeps its sessions until `stop`. */
    async stopListening(): Promise<void> {
        this.listening = false;
        await this.mqttListener?.close();
        this.mqttListener = null;
        await this.mqttPlainListener?.close();
        this.mqttPlainListener = null;
        this.ports.mqttPlain = null;
        await this.dispatcher?.close();
        this.dispatcher = null;
        const httpsServer = this.httpsServer;
        this.httpsServer = null;
        if (httpsServer) await closeHttpServer(httpsServer);
        await Promise.all(this.httpListeners.splice(0).map((listener) => listener.close()));
    }

    async stop(): Promise<void> {
        await this.stopListening();
        await this.broker.close();
    }

    private needsCertificates(): boolean {
        return this.broker.hasPolicies || this.tlsRoutes.length > 0 || this.httpOnTlsPort || this.familyNames.hosts.length + this.familyNames.ips.length > 0;
    }

    private addTlsRoute(route: TlsRoute): void {
        if (this.tlsRoutes.some((existing) => existing.name === route.name)) throw new Error(`a TLS route named ${route.name} exists already`);
        this.tlsRoutes.push(route);
        this.dispatcher?.addRoute(route);
    }

    private removeTlsRoute(route: TlsRoute): void {
        this.tlsRoutes.splice(this.tlsRoutes.indexOf(route), 1);
        this.dispatcher?.removeRoute(route.name);
    }

    private async listenMqttTls(): Promise<void> {
        const {host, mqttTlsPort, mqttTlsFallbackPort, maxConnections} = this.settings;
        if (!this.broker.hasPolicies || mqttTlsPort === null) return;
        this.mqttListener = await listenMqttTls({
            host,
            port: mqttTlsPort,
            fallbackPort: mqttTlsFallbackPort,
            tls: this.certificates().tls,
            maxConnections,
            refusals: this.tlsRefusals,
            log: createLogger('edge:mqtt'),
            label: MQTT_TLS_LISTENER,
            attach: (socket, label) => this.broker.attach(socket, MQTT_TLS_LISTENER, label),
        });
        this.ports.mqttTls = this.mqttListener.port;
    }

    private async listenMqttPlain(): Promise<void> {
        const {host, mqttPlainPort, maxConnections} = this.settings;
        if (!this.broker.hasPolicies || mqttPlainPort === null) return;
        const log = createLogger('edge:mqtt');
        const server = await listenPlainMqtt({host, port: mqttPlainPort, maxConnections, log, name: MQTT_PLAIN_LISTENER}, (socket, label) => this.broker.attach(socket, MQTT_PLAIN_LISTENER, label));
        // Tracked from the microtask after 'listening', before any connection can be accepted: a stop closes every socket.
        const sockets = trackSockets(server);
        const {port} = server.address() as net.AddressInfo;
        this.mqttPlainListener = {server, port, close: () => closeServer(server, sockets)};
        this.ports.mqttPlain = port;
        log.warn(`${MQTT_PLAIN_LISTENER}: device MQTT without TLS is open on ${host}:${this.ports.mqttPlain}; anyone on the network can connect`);
    }

    private async listenTlsPort(): Promise<void> {
        const {host, tlsPort, tlsFallbackPort, maxConnections} = this.settings;
        if ((this.tlsRoutes.length === 0 && !this.httpOnTlsPort) || tlsPort === null) return;
        const dispatcher = new TlsPortDispatcher({host, port: tlsPort, fallbackPort: tlsFallbackPort, tls: this.certificates().tls, maxConnections, refusals: this.tlsRefusals, log: createLogger('edge:tls'), label: 'tls'});
        for (const route of this.tlsRoutes) dispatcher.addRoute(route);
        if (this.httpOnTlsPort) {
            const httpsServer = createHttpServer(this.router.handleAny, log, 'https');
            this.httpsServer = httpsServer;
            dispatcher.addRoute({
                name: HTTPS_ROUTE,
                alpn: ['http/1.1'],
                matches: ({alpnProtocol}) => !alpnProtocol || alpnProtocol === 'http/1.1',
                firstByte: (byte) => (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a),
                accept: (socket) => httpsServer.emit('connection', socket),
            });
        }
        this.dispatcher = dispatcher;
        this.ports.tls = await dispatcher.listen();
    }
}

function addUnique(target: string[], values: readonly string[]): string[] {
    for (const value of values) if (!target.includes(value)) target.push(value);
    return target;
}
