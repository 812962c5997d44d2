/**
 * The web UI: an HTTP + WebSocket server on the core. It reads devices from the registry, hears
 * every change on the bus and pushes it to the browsers, and sends commands through the router,
 * exactly as Home Assistant's intake does. It never talks to a family or to the HA side.
 */
import http from 'node:http';

import {type WebSocket, WebSocketServer} from 'ws';

import {type Device, type LinkHealth, toPublic} from '../core/device.js';
import type {Extension} from '../core/extension.js';
import {DeviceTraffic, type RecordedMessage, summarise, type TrafficEntry} from '../core/traffic.js';
import {closeHttpServer} from '../util/http-server.js';
import {explainListenError, listen} from '../util/listen.js';
import {type LogLine, createLogger, subscribeToLog} from '../util/logger.js';
import {handleApiRequest} from './api.js';
import type {WebContext} from './context.js';
import {type Frontend, loadFrontend} from './static.js';

const log = createLogger('web');

/** Home Assistant's ingress proxy on the Supervisor's network. */
const INGRESS_PROXY = '172.30.32.2';
/** Log lines a newly opened page starts with. */
const RECENT_LOG_LINES = 500;
/** Health and link counters (which change without a bus event) are pushed this often while a page is open. */
const TICK_MS = 5000;
/** Longer than any family's device id; a page that sends more is not ours. */
const MAX_DEVICE_ID_LENGTH = 200;
/** A browser that reads slower than the log is written is cut off rather than buffered without end. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/** In the add-on, only the ingress proxy, where Home Assistant has signed the user in, may connect. */
export function isAllowedPeer(address: string | undefined, ingressOnly: boolean): boolean {
    if (!ingressOnly) return true;
    const plain = withoutIpv4Mapping(address);
    return plain === INGRESS_PROXY || plain === '::1' || (plain?.startsWith('127.') ?? false);
}

/** `::ffff:172.30.32.2` (an IPv4 peer on a dual-stack socket) as `172.30.32.2`. */
function withoutIpv4Mapping(address: string | undefined): string | undefined {
    return address?.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}

export class WebUi implements Extension {
    readonly name = 'web';
    private server: http.Server | null = null;
    private sockets: WebSocketServer | null = null;
    private readonly unsubscribers: (() => void)[] = [];
    private readonly recentLog: LogLine[] = [];
    /** The link counters last pushed per device, to push only those that changed. */
    private readonly pushedLinks = new Map<string, string>();
    private tick: NodeJS.Timeout | null = null;
    /** The devices' decoded messages of the last minutes, masked, for the device pages. */
    private readonly traffic = new DeviceTraffic();
    /** The device whose messages each open page shows (it says so over the WebSocket). */
    private readonly watching = new Map<WebSocket, string>();
    /** The TLS refusals' version last pushed, to push the list only when it moved. */
    private pushedRefusals = -1;

    constructor(private readonly context: WebContext) {}

    async start(): Promise<void> {
        const {settings, bus, language} = this.context;
        const frontend = await loadFrontend(language);
        const server = http.createServer((request, response) => this.onRequest(frontend, request, response));
        const sockets = new WebSocketServer({noServer: true, maxPayload: 4096});
        server.on('upgrade', (request, socket, head) => {
            if (!this.mayConnect(request) || new URL(request.url ?? '/', 'http://x').pathname !== '/ws') {
                socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
                return;
            }
            sockets.handleUpgrade(request, socket, head, (client) => this.welcome(client));
        });
        this.server = server;
        this.sockets = sockets;
        const port = await listen(server, {host: settings.host, port: settings.port, log, label: 'web UI'}).catch((error: unknown) => {
            throw new Error(`the web UI could not listen: ${explainListenError(error)} (choose another web.port, or set web.enabled to false)`);
        });
        this.unsubscribers.push(
            subscribeToLog((line) => {
                this.recentLog.push(line);
                if (this.recentLog.length > RECENT_LOG_LINES) this.recentLog.shift();
                this.broadcast({type: 'log', line});
            }),
            bus.on('device', ({device}) => this.broadcast({type: 'device', device})),
            bus.on('state', ({deviceId, state}) => this.broadcast({type: 'state', deviceId, state})),
            bus.on('link', ({deviceId, link}) => this.broadcast({type: 'link', deviceId, link})),
            bus.on('traffic', ({deviceId, direction, message}) => this.pushTraffic(this.traffic.record(deviceId, direction, message))),
            bus.on('removed', ({deviceId}) => {
                this.pushedLinks.delete(deviceId);
                this.traffic.forget(deviceId);
                this.broadcast({type: 'removed', deviceId});
            }),
            bus.on('event', (event) => this.broadcast({type: 'event', ...event, time: Date.now()})),
            // The bytes stay here: the page fetches them from the API, the version busts its cache.
            bus.on('image', ({deviceId, featureId, updatedAt}) => this.broadcast({type: 'image', deviceId, featureId, updatedAt})),
        );
        log.info(`web UI on http://${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${port}/${settings.ingressOnly ? ' (Home Assistant ingress only)' : ''}`);
    }

    async stop(): Promise<void> {
        for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
        if (this.tick) clearInterval(this.tick);
        this.tick = null;
        for (const client of this.sockets?.clients ?? []) client.terminate();
        this.sockets?.close();
        if (this.server) await closeHttpServer(this.server);
        this.server = null;
        this.sockets = null;
    }

    private mayConnect(request: http.IncomingMessage): boolean {
        const {ingressOnly} = this.context.settings;
        if (!isAllowedPeer(request.socket.remoteAddress, ingressOnly)) return false;
        // Another site open in the same browser must not read devices and logs through a WebSocket
        // to 127.0.0.1 (browsers let it connect). Behind ingress, Home Assistant has checked the user.
        const origin = request.headers.origin;
        if (!origin || (ingressOnly && withoutIpv4Mapping(request.socket.remoteAddress) === INGRESS_PROXY)) return true;
        try {
            return new URL(origin).host === request.headers.host;
        } catch {
            return false;
        }
    }

    private onRequest(frontend: Frontend, request: http.IncomingMessage, response: http.ServerResponse): void {
        response.setHeader('X-Content-Type-Options', 'nosniff');
        response.setHeader('Referrer-Policy', 'no-referrer');
        if (!isAllowedPeer(request.socket.remoteAddress, this.context.settings.ingressOnly)) {
            log.limited('warn', `peer:${request.socket.remoteAddress}`, `refused ${request.socket.remoteAddress}: only Home Assistant's ingress may open the web UI (web.ingressOnly)`);
            response.writeHead(403, {'Content-Type': 'text/plain; charset=utf-8'}).end('Only Home Assistant may open this page.\n');
            return;
        }
        const url = new URL(request.url ?? '/', 'http://x');
        if (url.pathname.startsWith('/api/')) {
            handleApiRequest(this.context, url, request, response, {recentLog: () => this.recentLog, traffic: this.traffic}).catch((error: Error) => {
                log.error(`${request.method} ${url.pathname}: ${error.stack ?? error.message}`);
                if (!response.headersSent) response.writeHead(500, {'Content-Type': 'application/json'}).end(JSON.stringify({error: 'internal error; see the log'}));
            });
            return;
        }
        if (request.method !== 'GET' && request.method !== 'HEAD') {
            response.writeHead(405, {Allow: 'GET, HEAD'}).end();
            return;
        }
        if (url.pathname === '/' || url.pathname === '/index.html') {
            const ingressPath = request.headers['x-ingress-path'];
            response.writeHead(200, {
                'Content-Type': 'text/html; charset=utf-8',
                'Cache-Control': 'no-store',
                'Content-Security-Policy': frontend.contentSecurityPolicy,
            });
            response.end(request.method === 'HEAD' ? undefined : frontend.page(typeof ingressPath === 'string' ? ingressPath : null));
            return;
        }
        const file = frontend.files.get(url.pathname);
        if (!file) {
            log.limited('info', 'not-found', `GET ${url.pathname.slice(0, 100)}: 404, no such file`);
            response.writeHead(404, {'Content-Type': 'text/plain; charset=utf-8'}).end('Not found\n');
            return;
        }
        response.writeHead(200, {'Content-Type': file.type, 'Cache-Control': 'no-cache'});
        response.end(request.method === 'HEAD' ? undefined : file.body);
    }

    private welcome(client: WebSocket): void {
        const {registry, health} = this.context;
        const devices = registry.list();
        for (const device of devices) this.pushedLinks.set(device.id, linkKey(device.link));
        send(client, {type: 'snapshot', devices: devices.map(toPublic), health: health(), log: this.recentLog, tlsRefusals: this.context.tlsRefusals.list()});
        // The browser only says which device's messages it shows; anything else it sends is ignored.
        client.on('message', (data, isBinary) => this.onClientMessage(client, isBinary ? null : data.toString()));
        client.on('close', () => this.watching.delete(client));
        client.on('error', () => client.terminate());
        this.tick ??= setInterval(() => this.pushTick(), TICK_MS);
        this.tick.unref();
    }

    /** `{"watch": "<device id>"}` (or null): that device's recent messages now, its new ones as they come. */
    private onClientMessage(client: WebSocket, text: string | null): void {
        let watch: unknown;
        try {
            watch = text === null ? undefined : (JSON.parse(text) as {watch?: unknown}).watch;
        } catch {
            watch = undefined;
        }
        if (watch === null) {
            this.watching.delete(client);
            return;
        }
        if (typeof watch !== 'string' || watch.length > MAX_DEVICE_ID_LENGTH) {
            log.limited('debug', 'ws-message', `a page sent something other than {"watch": <device id>}: ignored`);
            return;
        }
        this.watching.set(client, watch);
        send(client, {type: 'traffic', deviceId: watch, entries: this.traffic.recent(watch), replace: true});
    }

    private pushTraffic(recorded: RecordedMessage): void {
        let entry: TrafficEntry | undefined;
        for (const [client, deviceId] of this.watching) {
            if (deviceId !== recorded.deviceId) continue;
            entry ??= summarise(recorded);
            send(client, {type: 'traffic', deviceId, entries: [entry]});
        }
    }

    private pushTick(): void {
        if (!this.sockets?.clients.size) {
            if (this.tick) clearInterval(this.tick);
            this.tick = null;
            return;
        }
        const links: Record<string, LinkHealth> = {};
        for (const device of this.context.registry.list()) {
            const key = linkKey(device.link);
            if (this.pushedLinks.get(device.id) === key) continue;
            this.pushedLinks.set(device.id, key);
            links[device.id] = device.link;
        }
        const {tlsRefusals} = this.context;
        // A newly opened page got the list in its snapshot; the others only need it when it moved.
        const refusalsMoved = tlsRefusals.version !== this.pushedRefusals;
        this.pushedRefusals = tlsRefusals.version;
        this.broadcast({type: 'tick', health: this.context.health(), links, ...(refusalsMoved ? {tlsRefusals: tlsRefusals.list()} : {})});
    }

    private broadcast(message: object): void {
        const clients = this.sockets?.clients;
        if (!clients?.size) return;
        const text = JSON.stringify(message);
        for (const client of clients) send(client, text);
    }
}

function send(client: WebSocket, message: object | string): void {
    if (client.readyState !== client.OPEN) return;
    if (client.bufferedAmount > MAX_BUFFERED_BYTES) {
        client.terminate();
        return;
    }
    client.send(typeof message === 'string' ? message : JSON.stringify(message));
}

function linkKey(link: Device['link']): string {
    return `${link.online}|${link.lastSeen}|${link.packetsIn}|${link.packetsOut}|${link.badPackets}|${link.timeouts}|${link.signalDbm}|${link.lastError}`;
}
