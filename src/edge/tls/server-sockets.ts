/**
 * What every TLS server of the edge shares: its key material, the bound server handle, and the
 * bookkeeping that lets a failed handshake still be logged with its peer and every open socket be
 * cut on close.
 */

import type net from 'node:net';
import tls from 'node:tls';

import {listen} from '../../util/listen.js';
import type {Logger} from '../../util/logger.js';
import {type TlsRefusals, classifyHandshakeError} from './refusals.js';

export interface TlsMaterial {
    /** PEM of the CA (and any intermediates) client certificates must chain to. */
    ca: string;
    /** Server certificate chain and key, PEM. */
    cert: string;
    key: string;
}

export interface BoundServer<S extends net.Server = net.Server> {
    server: S;
    port: number;
    /** Stops listening and destroys every open connection. */
    close(): Promise<void>;
}

/**
 * OpenSSL's reason without the library noise. Our servers never refuse a client certificate in
 * the handshake (`rejectUnauthorized` is off), so a socket closed mid-handshake is the client's
 * doing: often one that does not trust our certificate and hangs up without a TLS alert.
 */
export function describeTlsError(error: Error): string {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ECONNRESET') return 'the client hung up during the handshake (one that does not trust our certificate may do so without an alert)';
    // `<id>:error:<code>:<library>:<function>:<reason>:<file>:<line>:…`; the function may be empty.
    const reason = /error:[0-9A-Fa-f]+:[^:]*:[^:]*:([^:]+)/.exec(error.message.split('\n')[0] ?? '')?.[1];
    return reason ?? error.message;
}

/**
 * The peer of a TLS socket that failed its handshake. By then the socket is destroyed and has
 * forgotten its address, so it comes from the address noted when TCP accepted the connection:
 * Node keeps that accepted socket in the TLS socket's undocumented `_parent`.
 */
export function peerAddress(socket: tls.TLSSocket, sockets: Map<net.Socket, string>): string {
    if (socket.remoteAddress) return socket.remoteAddress;
    const parent = (socket as unknown as {_parent?: net.Socket | null})._parent;
    return (parent ? sockets.get(parent) : undefined) ?? 'a peer';
}

/** Sets `noDelay` on every accepted socket and keeps the open ones with their peer address, for logs and `closeServer`. */
export function trackSockets(server: net.Server): Map<net.Socket, string> {
    const sockets = new Map<net.Socket, string>();
    server.on('connection', (socket: net.Socket) => {
        socket.setNoDelay(true);
        sockets.set(socket, socket.remoteAddress ?? 'a peer');
        // Kept until the next tick after close, so a handshake failure reported on close can still name the peer.
        socket.once('close', () => setImmediate(() => sockets.delete(socket)));
    });
    return sockets;
}

export async function closeServer(server: net.Server, sockets: Map<net.Socket, string>): Promise<void> {
    const closed = new Promise<void>((resolve) => {
        if (!server.listening) resolve();
        else server.close(() => resolve());
    });
    for (const socket of sockets.keys()) socket.destroy();
    await closed;
}

export interface DeviceTlsServerOptions {
    host: string;
    port: number;
    /** Tried when `port` is refused with EACCES (a port below 1024 without root). */
    fallbackPort?: number | null;
    tls: TlsMaterial;
    maxConnections?: number;
    log: Logger;
    /** Names the listener in log lines, e.g. `mqtt-tls`. */
    label: string;
    /** Where failed handshakes are recorded with their reason, for the web UI. */
    refusals?: TlsRefusals;
}

/**
 * A TLS server for devices. A client certificate is asked for but not required at the TLS level:
 * whoever takes the connection decides (RainMaker nodes must present one from our CA, Ecovacs bots
 * and HTTPS clients have none). `onSecure` gets each connection that finished its handshake, with
 * the label that names listener and port.
 */
export async function listenDeviceTls(
    options: DeviceTlsServerOptions,
    onSecure: (socket: tls.TLSSocket, label: string) => void,
    extra: Pick<tls.TlsOptions, 'ALPNCallback'> = {},
): Promise<BoundServer<tls.Server>> {
    const {log} = options;
    let label = `${options.label}:${options.port}`;
    const server = tls.createServer({
        ...options.tls,
        ...extra,
        requestCert: true,
        rejectUnauthorized: false,
        minVersion: 'TLSv1.2',
        // A peer that opens TCP and never finishes the handshake is dropped like one that never sends CONNECT.
        handshakeTimeout: 10_000,
    });
    const sockets = trackSockets(server);
    server.on('secureConnection', (socket: tls.TLSSocket) => onSecure(socket, label));
    server.on('tlsClientError', (error, socket) => {
        const peer = peerAddress(socket, sockets);
        const detail = describeTlsError(error);
        log.limited('warn', `${label}:tls:${peer}`, `${label} TLS handshake from ${peer} failed: ${detail}`);
        options.refusals?.record(peer, label, classifyHandshakeError(error), detail);
        // With a listener here Node leaves a timed-out handshake's socket open: a ClientHello cut short would hold it for good.
        socket.destroy();
    });
    if (options.maxConnections !== undefined) server.maxConnections = options.maxConnections;
    server.on('drop', (dropped) => {
        log.limited('warn', `${label}:drop`, `${label} refused ${dropped?.remoteAddress ?? 'a peer'}: ${options.maxConnections} connections open`);
    });
    const port = await listen(server, {host: options.host, port: options.port, fallbackPort: options.fallbackPort ?? null, log, label: options.label});
    label = `${options.label}:${port}`;
    return {server, port, close: () => closeServer(server, sockets)};
}
