import {randomBytes} from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type {Socket} from 'node:net';
import path from 'node:path';

import {z} from 'zod';

import {closeHttpServer} from '../../util/http-server.js';
import {listen} from '../../util/listen.js';
import {createLogger} from '../../util/logger.js';
import {type TlsRefusalReason, classifyHandshakeError, describeTlsError} from '../../edge/index.js';
import type {CertificateAuthority} from '../../edge/tls/ca.js';
import {ensurePrivateDirectory, replaceFile} from '../../edge/tls/files.js';
import {signCsr} from '../../edge/tls/issue.js';
import {FCTRY_FILES, assertMqttHost, makeClaimRecord, nodeDirectory, normaliseMac, readClaimIndex, updateClaimIndex} from './claim.js';

/**
 * The self-claim service a node built with `CONFIG_ESP_RMAKER_SELF_CLAIM` and a claim URL pointing
 * here talks to (rainmaker.md §6.2; esp_rmaker_claim.c):
 *
 *   POST <base>/claim/initiate {"mac_addr":"7CDFA1B2C3D4","platform":"esp32c3"}
 *     → 200 {"auth_id":"…","challenge":"…"}
 *   POST <base>/claim/verify   {"auth_id":"…","challenge_response":"<128 hex>","csr":"-----BEGIN CERTIFICATE REQUEST-----…"}
 *     → 200 {"certificate":"<PEM>","mqtt_host":"…"}
 *
 * The firmware sends no Content-Type, accepts only 200 with a positive Content-Length (no chunked
 * replies) and reads at most 3072 bytes including its terminating NUL. The challenge response is
 * an HMAC keyed by an eFuse secret only Espressif knows, so it cannot be checked here: a MAC must
 * be approved (or host-claimed) beforehand unless the service runs with `acceptAnyMac`.
 */

const log = createLogger('rainmaker:claim-server');

export interface ClaimServerOptions {
    dataDir: string;
    ca: CertificateAuthority;
    host: string;
    /** 0 picks a free port. */
    port: number;
    /** PEM server certificate and key (the firmware's claim URL is https); plain HTTP without. */
    tls?: {cert: string; key: string};
    /** Sent to nodes as `mqtt_host`, which they store in fctry and dial from then on. */
    mqttHost: string;
    /** Issue to any MAC instead of only approved or host-claimed ones. For a trusted, isolated LAN only. */
    acceptAnyMac?: boolean;
    /** Path prefix of the firmware's `CONFIG_ESP_RMAKER_CLAIM_SERVICE_BASE_URL`, e.g. `/rainmaker`. */
    basePath?: string;
    /** Told about every failed TLS handshake, with its reason. */
    onTlsRefusal?: (peer: string, reason: TlsRefusalReason, detail: string) => void;
}

export interface ClaimServer {
    port: number;
    close(): Promise<void>;
}

/** The firmware's response buffer is 3072 bytes and it writes a NUL after what it read. */
export const MAX_CLAIM_RESPONSE_BYTES = 3071;
/** Counted while the body streams in, so a liar's Content-Length does not matter. */
export const MAX_CLAIM_REQUEST_BYTES = 64 * 1024;
const PENDING_TTL_MS = 5 * 60 * 1000;
const MAX_PENDING = 1024;

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const initiateSchema = z.object({
    mac_addr: z.string().max(32),
    platform: z.string().max(32).regex(/^[A-Za-z0-9_-]*$/, 'letters, digits, _ and -').optional(),
});

const verifySchema = z.object({
    auth_id: z.string().min(1).max(63),
    challenge_response: z.string().regex(/^[0-9A-Fa-f]{128}$/, '128 hex digits (HMAC-SHA512)'),
    csr: z.string().min(1).max(16 * 1024),
    node_policies: z.string().max(256).optional(),
});

interface PendingClaim {
    mac: string;
    nodeId: string;
    platform: string;
    expiresAt: number;
}

class HttpError extends Error {
    constructor(readonly status: number, message: string) {
        super(message);
    }
}

export async function startClaimServer(options: ClaimServerOptions): Promise<ClaimServer> {
    const mqttHost = assertMqttHost(options.mqttHost);
    const basePath = (options.basePath ?? '').replace(/\/+$/, '');
    const pending = new Map<string, PendingClaim>();

    const serverOptions: http.ServerOptions = {
        requestTimeout: 15_000,
        headersTimeout: 10_000,
        keepAliveTimeout: 5_000,
        maxHeaderSize: 16 * 1024,
        noDelay: true,
    };
    const server = options.tls
        ? https.createServer({...serverOptions, cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2'})
        : http.createServer(serverOptions);
    server.maxConnections = 512;

    const handle = async (request: http.IncomingMessage, response: http.ServerResponse): Promise<void> => {
        const remote = request.socket.remoteAddress ?? 'unknown';
        try {
            const pathname = requestPath(request.url);
            const route = pathname === `${basePath}/claim/initiate` ? 'initiate' : pathname === `${basePath}/claim/verify` ? 'verify' : null;
            if (!route) throw new HttpError(404, `no such endpoint ${pathname}`);
            if (request.method !== 'POST') {
                response.setHeader('Allow', 'POST');
                throw new HttpError(405, `${request.method ?? 'this method'} is not allowed, use POST`);
            }
            const body = await readJsonBody(request);
            const reply = route === 'initiate' ? await initiate(body, remote) : await verify(body, remote);
            sendJson(response, 200, reply);
        } catch (error) {
            if (error instanceof HttpError) {
                log.limited('warn', `reject:${remote}:${error.status}`, `claim request from ${remote} refused (${error.status}): ${error.message}`);
                // The rest of an oversized body is not worth reading: answer, then drop the connection.
                if (error.status === 413) {
                    response.setHeader('Connection', 'close');
                    response.once('finish', () => request.destroy());
                }
                sendJson(response, error.status, {status: 'failure', description: error.message});
            } else {
                log.error(`claim request from ${remote} failed: ${(error as Error).message}`);
                sendJson(response, 500, {status: 'failure', description: 'internal error'});
            }
        }
    };

    const initiate = async (body: unknown, remote: string): Promise<object> => {
        const fields = parseFields(initiateSchema, body);
        let mac: string;
        try {
            mac = normaliseMac(fields.mac_addr);
        } catch (error) {
            throw new HttpError(400, (error as Error).message);
        }
        const index = await readClaimIndex(options.dataDir);
        const known = index.claims[mac];
        if (!known && !index.approved[mac] && !options.acceptAnyMac) {
            throw new HttpError(403, `MAC ${mac} is not approved for claiming; approve it with "fogbridge rainmaker approve --mac ${mac}"`);
        }
        prunePending(pending);
        const authId = randomBytes(16).toString('base64url');
        // Hex keeps the challenge plain ASCII: the node HMACs it as a C string (≤ 129 characters).
        const challenge = randomBytes(32).toString('hex');
        pending.set(authId, {mac, nodeId: known?.nodeId ?? mac, platform: fields.platform ?? 'unknown', expiresAt: Date.now() + PENDING_TTL_MS});
        log.info(`self-claim started by ${mac} (${fields.platform ?? 'unknown platform'}) from ${remote}`);
        return {auth_id: authId, challenge};
    };

    const verify = async (body: unknown, remote: string): Promise<object> => {
        const fields = parseFields(verifySchema, body);
        const claim = pending.get(fields.auth_id);
        // Single use: a failed verify has to start again from initiate, as the firmware does anyway.
        pending.delete(fields.auth_id);
        if (!claim || claim.expiresAt < Date.now()) throw new HttpError(400, 'unknown or expired auth_id; start again with claim/initiate');
        let certificate: string;
        try {
            certificate = await signCsr(options.ca, fields.csr, claim.nodeId);
        } catch (error) {
            throw new HttpError(400, `certificate request refused: ${(error as Error).message}`);
        }
        const reply = {certificate, mqtt_host: mqttHost};
        if (Buffer.byteLength(JSON.stringify(reply)) > MAX_CLAIM_RESPONSE_BYTES) throw new Error('the certificate does not fit the node\'s 3 KB buffer');
        await recordSelfClaim(options.dataDir, options.ca, claim, mqttHost, certificate);
        // Logged, not checked: only Espressif knows the eFuse key behind it.
        log.info(`issued a certificate to node ${claim.nodeId} (MAC ${claim.mac}, ${claim.platform}) from ${remote}; challenge response ${fields.challenge_response.slice(0, 16)}… accepted unverified`);
        return reply;
    };

    server.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
        // A client that hangs up mid-body must not become an unhandled 'error' event.
        request.on('error', (error: Error) => log.debug(`claim request aborted: ${error.message}`));
        response.on('error', (error: Error) => log.debug(`claim response failed: ${error.message}`));
        handle(request, response).catch((error: unknown) => {
            log.error(`claim handler crashed: ${(error as Error).message}`);
            request.destroy();
        });
    });
    server.on('connection', (socket: Socket) => socket.setNoDelay(true));
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
        // A peer hanging up is not bad input; the TLS handler below already reports failed handshakes.
        if (error.code === 'ECONNRESET') log.debug(`claim client ${socket.remoteAddress ?? 'unknown'} hung up`);
        else log.limited('warn', `client-error:${socket.remoteAddress ?? ''}`, `bad HTTP from ${socket.remoteAddress ?? 'unknown'}: ${error.message}`);
        if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        else socket.destroy();
    });
    server.on('tlsClientError', (error: Error, socket: Socket) => {
        const peer = socket.remoteAddress ?? 'unknown';
        const detail = describeTlsError(error);
        log.limited('warn', `tls-error:${peer}`, `TLS handshake with ${peer} failed: ${detail}`);
        options.onTlsRefusal?.(peer, classifyHandshakeError(error), detail);
    });

    const port = await listen(server, {host: options.host, port: options.port, log, label: 'claim server'});
    log.info(`self-claim service on ${options.tls ? 'https' : 'http'}://${options.host}:${port}${basePath}/claim/ (mqtt_host ${mqttHost}${options.acceptAnyMac ? ', any MAC' : ''})`);
    return {
        port,
        close: () => closeHttpServer(server),
    };
}

function requestPath(url: string | undefined): string {
    try {
        return new URL(url ?? '/', 'http://claim.invalid').pathname;
    } catch {
        throw new HttpError(400, 'malformed request target');
    }
}

function sendJson(response: http.ServerResponse, status: number, body: object): void {
    if (response.headersSent) {
        response.destroy();
        return;
    }
    const text = JSON.stringify(body);
    // An explicit Content-Length: the firmware refuses chunked replies (it needs a positive length).
    response.writeHead(status, {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store'});
    response.end(text);
}

/**
 * The body as JSON. No Content-Type (what the firmware sends) or application/json is accepted;
 * anything else is refused before parsing. Size is capped while streaming.
 */
async function readJsonBody(request: http.IncomingMessage): Promise<unknown> {
    const contentType = request.headers['content-type'];
    if (contentType !== undefined && contentType.split(';')[0]!.trim().toLowerCase() !== 'application/json') {
        throw new HttpError(415, `content type ${contentType} is not accepted, send application/json`);
    }
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > MAX_CLAIM_REQUEST_BYTES) throw new HttpError(413, `request body larger than ${MAX_CLAIM_REQUEST_BYTES} bytes`);
    const body = await new Promise<Buffer>((resolve, reject) => {
        const chunks: Buffer[] = [];
        let size = 0;
        // Listeners rather than for-await: leaving a for-await destroys the socket before the 413 is sent.
        const onData = (chunk: Buffer): void => {
            size += chunk.length;
            if (size > MAX_CLAIM_REQUEST_BYTES) {
                request.off('data', onData);
                request.pause();
                reject(new HttpError(413, `request body larger than ${MAX_CLAIM_REQUEST_BYTES} bytes`));
                return;
            }
            chunks.push(chunk);
        };
        request.on('data', onData);
        request.once('end', () => resolve(Buffer.concat(chunks)));
        request.on('error', reject);
    });
    let text: string;
    try {
        text = new TextDecoder('utf-8', {fatal: true}).decode(body);
    } catch {
        throw new HttpError(400, 'request body is not UTF-8');
    }
    try {
        return JSON.parse(text, (key, value: unknown) => {
            if (FORBIDDEN_KEYS.has(key)) throw new HttpError(400, `key "${key}" is not allowed`);
            return value;
        });
    } catch (error) {
        if (error instanceof HttpError) throw error;
        throw new HttpError(400, `request body is not JSON: ${(error as Error).message}`);
    }
}

function parseFields<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'request body must be a JSON object');
    const result = schema.safeParse(body);
    if (!result.success) {
        const issue = result.error.issues[0];
        throw new HttpError(400, `invalid field "${issue?.path.join('.') ?? '?'}": ${issue?.message ?? 'invalid'}`);
    }
    return result.data;
}

function prunePending(pending: Map<string, PendingClaim>): void {
    const now = Date.now();
    for (const [authId, claim] of pending) if (claim.expiresAt < now) pending.delete(authId);
    // Oldest first (Map keeps insertion order): a flood of initiates cannot grow the map without bound.
    while (pending.size >= MAX_PENDING) {
        const oldest = pending.keys().next().value;
        if (oldest === undefined) break;
        pending.delete(oldest);
    }
}

/** The node keeps its key; we keep its certificate, id and host next to host-claimed nodes, and the index entry. */
async function recordSelfClaim(dataDir: string, ca: CertificateAuthority, claim: PendingClaim, mqttHost: string, certPem: string): Promise<void> {
    const dir = nodeDirectory(dataDir, claim.nodeId);
    await ensurePrivateDirectory(dir);
    await replaceFile(path.join(dir, FCTRY_FILES.cert), certPem, 0o644);
    await replaceFile(path.join(dir, FCTRY_FILES.nodeId), claim.nodeId, 0o644);
    await replaceFile(path.join(dir, FCTRY_FILES.mqttHost), mqttHost, 0o644);
    await replaceFile(path.join(dir, FCTRY_FILES.ca), ca.certPem, 0o644);
    await updateClaimIndex(dataDir, (index) => {
        index.claims[claim.mac] = makeClaimRecord(claim.nodeId, 'self', mqttHost, certPem);
    });
}
