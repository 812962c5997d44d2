/**
 * The HTTP-DNS answer newer `miio_client`s fetch before connecting (protocol note miio.md §3.7):
 * `GET /gslb?tver=2&id=<did>&dm=ot.io.mi.com&timestamp=<unix>&sign=…` → our UDP host list, signed
 * with HMAC-SHA256 keyed by the device's cloud key. `dm=ott.io.mi.com` (TCP) gets 501, as Valetudo
 * answers, so that no unreachable TCP server sticks in the device's list.
 */
import {createHmac} from 'node:crypto';
import http from 'node:http';
import type {AddressInfo} from 'node:net';

import {closeHttpServer} from '../../util/http-server.js';
import {listen} from '../../util/listen.js';
import {createLogger} from '../../util/logger.js';

const log = createLogger('miio:gslb');

export interface GslbOptions {
    host: string;
    port: number;
    /** Used when `port` cannot be bound (EACCES: not root, no CAP_NET_BIND_SERVICE). */
    fallbackPort: number;
    /** Hosts to list; empty: `advertiseAddress`, else the local address the request arrived on. */
    hosts: string[];
    advertiseAddress: string | null;
    /** The UDP port of the cloud link that the answer points to. */
    udpPort: number;
    /** The cloud key bytes of a did, or null. */
    cloudKeyFor(did: number): Buffer | null;
    onUnknownDid(did: number, address: string): void;
}

/** Builds the signed answer body; exported for tests and for anyone checking a capture. */
export function gslbAnswer(hosts: string[], udpPort: number, cloudKey: Buffer, timestamp: string): string {
    const info = JSON.stringify({host_list: hosts.map((ip) => ({ip, port: udpPort})), enable: 1});
    const sign = createHmac('sha256', cloudKey).update(info).digest('base64');
    return `{"info":${info},"timestamp":${JSON.stringify(timestamp)},"sign":${JSON.stringify(sign)}}`;
}

export class GslbServer {
    private server: http.Server | null = null;

    constructor(private readonly options: GslbOptions) {}

    get port(): number {
        return (this.server?.address() as AddressInfo | null)?.port ?? this.options.port;
    }

    async start(): Promise<void> {
        const server = this.createServer();
        await listen(server, {
            host: this.options.host,
            port: this.options.port,
            fallbackPort: this.options.fallbackPort,
            fallbackHint: `not root? redirect tcp ${this.options.port} to the fallback port (DNAT) for devices`,
            log,
            label: '/gslb',
        });
        this.server = server;
        log.info(`miIO /gslb HTTP-DNS on tcp ${this.options.host}:${this.port}`);
    }

    async stop(): Promise<void> {
        const server = this.server;
        this.server = null;
        if (!server) return;
        await closeHttpServer(server);
    }

    private createServer(): http.Server {
        // Explicit limits (performance.md §5.5): Node's defaults let a slow client hold a socket for minutes.
        const server = http.createServer({maxHeaderSize: 8192, requestTimeout: 15_000, headersTimeout: 10_000, keepAliveTimeout: 5000}, (request, response) => {
            try {
                this.handle(request, response);
            } catch (error) {
                log.limited('error', 'handler', `/gslb request failed: ${(error as Error).message}`);
                if (!response.headersSent) response.writeHead(500).end();
            }
        });
        server.maxConnections = 512;
        server.maxRequestsPerSocket = 100;
        server.on('connection', (socket) => socket.setNoDelay(true));
        server.on('clientError', (error, socket) => {
            log.limited('warn', 'client-error', `/gslb client error: ${error.message}`);
            if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
            else socket.destroy();
        });
        return server;
    }

    private handle(request: http.IncomingMessage, response: http.ServerResponse): void {
        const reply = (status: number, body: string): void => {
            response.writeHead(status, {'content-type': 'application/json', 'content-length': Buffer.byteLength(body)});
            response.end(body);
        };
        if (request.method !== 'GET') return reply(405, '{"error":"method not allowed"}');
        if (Number(request.headers['content-length'] ?? 0) > 0) {
            response.setHeader('connection', 'close');
            return reply(413, '{"error":"no body expected"}');
        }
        const url = new URL(request.url ?? '/', 'http://gslb.invalid');
        if (url.pathname !== '/gslb') return reply(404, '{"error":"not found"}');
        const domain = url.searchParams.get('dm') ?? '';
        const remote = request.socket.remoteAddress ?? '?';
        if (/^([a-z]+\.)?ott\.io\.mi\.com$/.test(domain)) return reply(501, '{"error":"tcp cloud (ott) not implemented: use udp"}');
        if (!/^([a-z]+\.)?ot\.io\.mi\.com$/.test(domain)) return reply(400, '{"error":"unknown dm"}');
        const idText = url.searchParams.get('id') ?? '';
        const did = /^\d{1,10}$/.test(idText) ? Number(idText) : NaN;
        if (!Number.isInteger(did) || did < 1 || did > 0xfffffffe) return reply(400, '{"error":"missing or bad id"}');
        const key = this.options.cloudKeyFor(did);
        if (!key) {
            this.options.onUnknownDid(did, remote);
            return reply(404, '{"error":"unknown device"}');
        }
        const hosts = this.options.hosts.length > 0 ? this.options.hosts : [this.options.advertiseAddress ?? localAddressOf(request)];
        const timestampText = url.searchParams.get('timestamp') ?? '';
        const timestamp = /^\d{1,20}$/.test(timestampText) ? timestampText : String(Math.floor(Date.now() / 1000));
        log.debug(() => `/gslb for did ${did} from ${remote}: ${hosts.join(', ')}`);
        reply(200, gslbAnswer(hosts, this.options.udpPort, key, timestamp));
    }
}

/** The address the device reached us on: the one that also leads to the UDP server. */
function localAddressOf(request: http.IncomingMessage): string {
    const address = request.socket.localAddress ?? '127.0.0.1';
    return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}
