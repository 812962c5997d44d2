/**
 * The HTTP-DNS answer newer `miio_client`s fetch before connecting (protocol note miio.md §3.7):
 * `GET /gslb?tver=2&id=<did>&dm=ot.io.mi.com&timestamp=<unix>&sign=…` → our UDP host list, signed
 * with HMAC-SHA256 keyed by the device's cloud key. `dm=ott.io.mi.com` (TCP) gets 501, as Valetudo
 * answers, so that no unreachable TCP server sticks in the device's list.
 */
import {createHmac} from 'node:crypto';
import type http from 'node:http';

import {type HttpRoute, replyJson} from '../../edge/index.js';
import {createLogger} from '../../util/logger.js';

const log = createLogger('miio:gslb');

export interface GslbOptions {
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

/** `GET /gslb` on the edge's HTTP router. */
export function gslbRoute(options: GslbOptions): HttpRoute {
    return {method: 'GET', path: '/gslb', handler: (request, response) => answer(options, request, response)};
}

function answer(options: GslbOptions, request: http.IncomingMessage, response: http.ServerResponse): void {
    if (Number(request.headers['content-length'] ?? 0) > 0) {
        response.setHeader('connection', 'close');
        return replyJson(response, 413, {error: 'no body expected'});
    }
    const url = new URL(request.url ?? '/', 'http://gslb.invalid');
    const domain = url.searchParams.get('dm') ?? '';
    const remote = request.socket.remoteAddress ?? '?';
    if (/^([a-z]+\.)?ott\.io\.mi\.com$/.test(domain)) return replyJson(response, 501, {error: 'tcp cloud (ott) not implemented: use udp'});
    if (!/^([a-z]+\.)?ot\.io\.mi\.com$/.test(domain)) return replyJson(response, 400, {error: 'unknown dm'});
    const idText = url.searchParams.get('id') ?? '';
    const did = /^\d{1,10}$/.test(idText) ? Number(idText) : NaN;
    if (!Number.isInteger(did) || did < 1 || did > 0xfffffffe) return replyJson(response, 400, {error: 'missing or bad id'});
    const key = options.cloudKeyFor(did);
    if (!key) {
        options.onUnknownDid(did, remote);
        return replyJson(response, 404, {error: 'unknown device'});
    }
    const hosts = options.hosts.length > 0 ? options.hosts : [options.advertiseAddress ?? localAddressOf(request)];
    const timestampText = url.searchParams.get('timestamp') ?? '';
    const timestamp = /^\d{1,20}$/.test(timestampText) ? timestampText : String(Math.floor(Date.now() / 1000));
    log.debug(() => `/gslb for did ${did} from ${remote}: ${hosts.join(', ')}`);
    const body = gslbAnswer(hosts, options.udpPort, key, timestamp);
    response.writeHead(200, {'content-type': 'application/json', 'content-length': Buffer.byteLength(body)});
    response.end(body);
}

/** The address the device reached us on: the one that also leads to the UDP server. */
function localAddressOf(request: http.IncomingMessage): string {
    const address = request.socket.localAddress ?? '127.0.0.1';
    return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}
