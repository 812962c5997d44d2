/**
 * HTTP servers in front of the edge's router, with explicit limits (performance.md §5.5): Node's
 * defaults let a slow client hold a socket for minutes and a header block grow to 16 KiB.
 */

import http from 'node:http';
import type net from 'node:net';

import {closeHttpServer} from '../../util/http-server.js';
import {listen} from '../../util/listen.js';
import type {Logger} from '../../util/logger.js';
import type {RequestListener} from './router.js';

const MAX_CONNECTIONS = 512;

/** A plain HTTP port a family asks for, e.g. miIO's `/gslb` on 80. */
export interface PlainHttpListener {
    host: string;
    port: number;
    /** Used when `port` cannot be bound (EACCES: not root, no CAP_NET_BIND_SERVICE). */
    fallbackPort?: number | null;
    /** What the user should do about the fallback, appended to its warning. */
    fallbackHint?: string;
    /** Names the listener in log lines, e.g. `/gslb`. */
    label: string;
    /**
     * Called instead of failing the start when the port cannot be bound: for a listener the
     * family can live without (the family says what is lost).
     */
    onListenFailure?: (error: Error) => void;
}

export function createHttpServer(handle: RequestListener, log: Logger, label: string): http.Server {
    // Node checks the two timeouts only every `connectionsCheckingInterval` (30 s by default), which
    // would let a request that never finishes its headers hold the socket for up to 40 s.
    const server = http.createServer({maxHeaderSize: 8192, requestTimeout: 15_000, headersTimeout: 10_000, keepAliveTimeout: 5000, connectionsCheckingInterval: 1000}, handle);
    server.maxConnections = MAX_CONNECTIONS;
    server.maxRequestsPerSocket = 100;
    server.on('connection', (socket: net.Socket) => socket.setNoDelay(true));
    server.on('clientError', (error, socket) => {
        const peer = (socket as net.Socket).remoteAddress ?? '?';
        log.limited('warn', `${label}:client-error:${peer}`, `${label}: bad request from ${peer}: ${error.message}`);
        if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
        else socket.destroy();
    });
    return server;
}

export interface BoundHttpServer {
    port: number;
    close(): Promise<void>;
}

/** Listens for `listener`; null when it failed and the family said it can live without it. */
export async function listenPlainHttp(handle: RequestListener, listener: PlainHttpListener, log: Logger): Promise<BoundHttpServer | null> {
    const server = createHttpServer(handle, log, listener.label);
    let port: number;
    try {
        port = await listen(server, {
            host: listener.host,
            port: listener.port,
            fallbackPort: listener.fallbackPort ?? null,
            ...(listener.fallbackHint ? {fallbackHint: listener.fallbackHint} : {}),
            log,
            label: listener.label,
        });
    } catch (error) {
        if (!listener.onListenFailure) throw error;
        listener.onListenFailure(error as Error);
        return null;
    }
    log.info(`${listener.label}: HTTP on ${listener.host}:${port}`);
    return {port, close: () => closeHttpServer(server)};
}
