/**
 * Where Roborock robots upload their maps (protocol note miio.md §3.3): the answer to
 * `_sync.gen_presigned_url`, `_sync.gen_tmp_presigned_url` and `_sync.batch_gen_room_up_url` is a
 * set of URLs on the edge's HTTP router, each with a nonce of its own that expires and that only
 * the address that asked for it may use; the robot then `PUT`s the gzipped map there.
 */
import {randomBytes} from 'node:crypto';
import type http from 'node:http';

import {type HttpRoute, replyJson} from '../../../edge/index.js';

export const MAP_UPLOAD_PATH = '/api/miio/map_upload/';
/** The robot asks for this many URLs unless it names its indexes. */
const DEFAULT_INDEXES = [0, 1, 2, 3];
const MAX_INDEXES = 8;

export interface MapUploadOptions {
    /** Larger uploads are refused (Valetudo caps at 4 MiB; a map is a few hundred KiB). */
    maxBytes: number;
    urlLifetimeMs: number;
    /** Open URLs kept at most, all devices together; the oldest go first. */
    maxOpenUrls: number;
    onUpload(did: number, body: Buffer): void;
    /** One log line per refusal is the caller's. */
    onRefused(address: string, reason: string): void;
    now?: () => number;
}

interface OpenUrl {
    did: number;
    address: string;
    expiresAt: number;
}

export class MapUploads {
    private readonly open = new Map<string, OpenUrl>();
    private readonly now: () => number;
    readonly route: HttpRoute;

    constructor(private readonly options: MapUploadOptions) {
        this.now = options.now ?? Date.now;
        this.route = {method: 'PUT', path: MAP_UPLOAD_PATH, prefix: true, handler: (request, response) => this.receive(request, response)};
    }

    /**
     * The result for a presigned-URL request from `did` at `address`; `base` is how the robot
     * reaches our HTTP port (`http://<ip>:<port>`). Newer firmware wants objects for the temporary
     * URLs, all want them under the `suffix` they named, as the vendor cloud answers.
     */
    answer(did: number, address: string, base: string, method: string, params: unknown): Record<string, unknown> {
        const request = (typeof params === 'object' && params !== null ? params : {}) as {indexes?: unknown; suffix?: unknown};
        const indexes = Array.isArray(request.indexes) ? request.indexes.filter((index): index is number => Number.isInteger(index) && index >= 0 && index < 100).slice(0, MAX_INDEXES) : DEFAULT_INDEXES;
        const key = typeof request.suffix === 'string' && /^[a-z0-9_]{1,32}$/i.test(request.suffix) ? request.suffix : 'urls';
        const expiresAt = this.now() + this.options.urlLifetimeMs;
        const urls = indexes.map((index) => ({index, url: `${base}${MAP_UPLOAD_PATH}${this.openUrl(did, normaliseAddress(address), expiresAt)}`}));
        const expires = Math.floor(expiresAt / 1000);
        const listed = method === '_sync.gen_tmp_presigned_url' ? urls.map(({index, url}) => ({url, obj_name: `${did}/${index}`, method: 'PUT', expires_time: expires, ok: true})) : urls.map(({url}) => url);
        return {ok: true, [key]: listed};
    }

    private openUrl(did: number, address: string, expiresAt: number): string {
        const nonce = randomBytes(16).toString('hex');
        this.open.set(nonce, {did, address, expiresAt});
        for (const oldest of this.open.keys()) {
            if (this.open.size <= this.options.maxOpenUrls) break;
            this.open.delete(oldest);
        }
        return nonce;
    }

    private receive(request: http.IncomingMessage, response: http.ServerResponse): void {
        const address = normaliseAddress(request.socket.remoteAddress ?? '');
        const path = (request.url ?? '').split('?')[0]!;
        const nonce = path.slice(MAP_UPLOAD_PATH.length);
        const open = this.open.get(nonce);
        const refuse = (status: number, reason: string): void => {
            this.options.onRefused(address, reason);
            response.setHeader('connection', 'close');
            replyJson(response, status, {error: reason});
            request.resume();
        };
        if (!open || open.expiresAt < this.now()) {
            if (open) this.open.delete(nonce);
            return refuse(403, 'map upload to a URL that was not given out or has expired');
        }
        if (open.address !== address) return refuse(403, `map upload from ${address}, but the URL was given to ${open.address}`);
        const declared = Number(request.headers['content-length'] ?? 0);
        if (declared > this.options.maxBytes) return refuse(413, `map upload of ${declared} bytes is larger than ${this.options.maxBytes}`);
        const chunks: Buffer[] = [];
        let received = 0;
        request.on('data', (chunk: Buffer) => {
            received += chunk.length;
            if (received > this.options.maxBytes) {
                request.removeAllListeners('data');
                refuse(413, `map upload larger than ${this.options.maxBytes} bytes`);
                return;
            }
            chunks.push(chunk);
        });
        request.on('end', () => {
            if (received > this.options.maxBytes || response.headersSent) return;
            replyJson(response, 200, {ok: true});
            this.options.onUpload(open.did, Buffer.concat(chunks, received));
        });
        request.on('error', () => request.destroy());
    }
}

function normaliseAddress(address: string): string {
    return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}
