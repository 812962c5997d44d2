/**
 * The Ecovacs family on the device edge: the broker policy whose clients' connects and messages
 * reach the service, the helper bot publishing as the family, the MQTT routes on the shared TLS
 * port (by SNI, and by first byte for clients whose name says nothing), and the REST table on
 * the shared TLS port and on the plain REST port (8007).
 */
import type http from 'node:http';
import type tls from 'node:tls';

import {type FamilyBroker, type HttpHandler, readRequestBody, refuseBody, type TlsRoute} from '../../edge/index.js';
import {createLogger} from '../../util/logger.js';
import {topicMatches} from '../../util/mqtt-topic.js';
import type {FamilyContext, FamilyService} from '../family.js';
import {ecovacsPolicy} from './policy.js';
import {ECOVACS_CERTIFICATE_NAMES, ECOVACS_MQTT_SERVER_NAMES} from './server-names.js';
import {EcovacsService} from './service.js';
import type {EcovacsSettings} from './settings.js';

const log = createLogger('ecovacs');

/** Listener names the policy sees for bots that came in on the shared TLS port. */
export const MQTT_BY_NAME_ROUTE = 'ecovacs-mqtt';
export const MQTT_BY_FIRST_BYTE_ROUTE = 'ecovacs-mqtt-unnamed';
/** The plain REST port's listener: the edge reports the port it bound under this label. */
export const REST_LISTENER = 'ecovacs-rest';
/** The first byte of an MQTT CONNECT. */
const MQTT_CONNECT_BYTE = 0x10;

export class EcovacsOnEdge implements FamilyService {
    readonly service: EcovacsService;
    private broker: FamilyBroker | null = null;

    constructor(private readonly context: FamilyContext<EcovacsSettings>) {
        context.edge.addServerNames({hosts: [...ECOVACS_CERTIFICATE_NAMES]});
        this.service = new EcovacsService(
            context,
            {
                publish: (topic, payload) => {
                    if (!this.broker) return;
                    // QoS 0 like Bumper's helper: a lost request ends as the relay's timeout, never as a replay.
                    this.broker.publishAsFamily(topic, payload, {qos: 0}).catch((error: Error) => log.limited('warn', 'publish', `cannot publish to bots: ${error.message}`));
                },
            },
            // The edge issues its certificate once every family is created: read when the XMPP server starts.
            () => context.edge.certificates().tls,
        );
    }

    async start(): Promise<void> {
        const {edge, settings} = this.context;
        const broker = edge.registerBrokerPolicy(ecovacsPolicy(log.child('acl')));
        this.broker = broker;
        const subscriptions = this.service.subscriptions;
        // A bot is read (battery, state, …) as it registers: only once it has subscribed can it hear the requests.
        const listening = new Set<string>();
        broker.onSubscribe((client) => {
            if (listening.has(client.id)) return;
            listening.add(client.id);
            this.service.onClientConnected(client.id, client.username ?? undefined);
        });
        broker.onDisconnect((client) => {
            if (listening.delete(client.id)) this.service.onClientDisconnected(client.id);
        });
        broker.onPublish((_client, topic, payload) => {
            if (subscriptions.some((filter) => topicMatches(filter, topic))) this.service.onPublish(topic, payload);
        });
        await this.service.start();

        for (const route of this.mqttRoutes(broker)) edge.addTlsRoute(route);
        // Every path: the REST table answers unknown ones itself (404 JSON, logged once per path and source).
        edge.addHttpRoute({method: '*', path: '/', prefix: true, handler: this.handleHttp});
        edge.serveHttpOnTlsPort();
        if (settings.restPort !== null) edge.servePlainHttp({host: settings.host, port: settings.restPort, label: REST_LISTENER});
    }

    async stop(): Promise<void> {
        await this.context.edge.release();
        this.broker = null;
        await this.service.stop();
    }

    /**
     * Bots and apps ask for `mq-*` / `jmq-ngiot-*` names (§2.6): those are MQTT whatever they send.
     * A client with no name, or one no route claims by name, is MQTT when its first byte is a
     * CONNECT; HTTPS (a letter) is the edge's own route.
     */
    private mqttRoutes(broker: FamilyBroker): TlsRoute[] {
        return [
            {name: MQTT_BY_NAME_ROUTE, sni: [...ECOVACS_MQTT_SERVER_NAMES], firstByte: (byte) => byte === MQTT_CONNECT_BYTE, accept: (socket: tls.TLSSocket) => broker.attach(socket, MQTT_BY_NAME_ROUTE)},
            {
                name: MQTT_BY_FIRST_BYTE_ROUTE,
                matches: ({alpnProtocol}) => !alpnProtocol,
                firstByte: (byte) => byte === MQTT_CONNECT_BYTE,
                accept: (socket: tls.TLSSocket) => broker.attach(socket, MQTT_BY_FIRST_BYTE_ROUTE),
            },
        ];
    }

    private readonly handleHttp: HttpHandler = async (request, response) => {
        const peer = `${request.socket.remoteAddress ?? '?'}:${request.socket.remotePort ?? 0}`;
        const body = await readRequestBody(request, this.context.settings.maxBodyBytes);
        if (!body.ok) {
            log.limited('warn', `http:body:${request.socket.remoteAddress ?? ''}`, `${clipPath(request)} from ${peer} refused: ${body.reason}`);
            refuseBody(response);
            return;
        }
        const url = new URL(request.url ?? '/', 'http://ecovacs.invalid');
        const answer = await this.service.handleHttp({
            method: request.method ?? 'GET',
            path: url.pathname,
            query: url.searchParams,
            headers: request.headers,
            body: body.body,
            source: peer,
            ...(request.socket.localAddress && {localAddress: request.socket.localAddress}),
        });
        response.writeHead(answer.status, answer.headers);
        response.end(answer.body);
    };
}

function clipPath(request: http.IncomingMessage): string {
    const path = (request.url ?? '/').split('?')[0]!;
    return `${request.method ?? '?'} ${path.length > 80 ? `${path.slice(0, 80)}…` : path}`;
}
