/**
 * What every TLS server of the edge shares: its key material, the bound server handle, and the
 * bookkeeping that lets a failed handshake still be logged with its peer and every open socket be
 * cut on close.
 */

import type net from 'node:net';
import type tls from 'node:tls';

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
 * OpenSSL's reason without the library noise. When OpenSSL itself refuses the client certificate
 * (`rejectUnauthorized`), Node reports only that the socket closed mid-handshake.
 */
export function describeTlsError(error: Error): string {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ECONNRESET') return 'handshake aborted (no client certificate, one not issued by our CA, or the client gave up)';
    const reason = /:([^:]+):[^:]*$/.exec(error.message.split('\n')[0] ?? '')?.[1];
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
