/**
 * Listening on a port, or explaining in one line why not. Every listener of the bridge (TCP, TLS,
 * HTTP, UDP) goes through here, so a taken or privileged port reads the same everywhere.
 */

import type dgram from 'node:dgram';
import type net from 'node:net';

import type {Logger} from './logger.js';

export interface ListenOptions {
    host: string;
    port: number;
    /** Tried when `port` is refused with EACCES (a port below 1024 without root). */
    fallbackPort?: number | null;
    /** What the user should do about the fallback, appended to its warning. */
    fallbackHint?: string;
    log: Logger;
    /** Names the listener in log lines, e.g. `rainmaker` or `/gslb`. */
    label: string;
    /**
     * Connections the kernel queues before we accept them (Node's default is 511; the kernel caps
     * it at net.core.somaxconn). A SYN beyond it is dropped and retried by the device a second later.
     */
    backlog?: number;
}

/** Listens on `port`, or on `fallbackPort` when `port` needs privileges we lack. Resolves with the port bound. */
export async function listen(server: net.Server, options: ListenOptions): Promise<number> {
    const {host, port, log, label} = options;
    const fallbackPort = options.fallbackPort ?? null;
    try {
        await listenOnce(server, host, port, options.backlog);
    } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'EACCES' || fallbackPort === null || fallbackPort === port) throw error;
        const hint = options.fallbackHint ?? 'run as root or grant CAP_NET_BIND_SERVICE';
        log.warn(`${label}: not allowed to listen on port ${port} (${hint}); using ${fallbackPort} instead`);
        await listenOnce(server, host, fallbackPort, options.backlog);
    }
    server.on('error', (error) => log.error(`${label} listener error: ${error.message}`));
    return (server.address() as net.AddressInfo).port;
}

/** Binds a UDP socket. Resolves with the port bound; later socket errors are logged, never thrown. */
export async function bindUdp(socket: dgram.Socket, options: Omit<ListenOptions, 'fallbackPort' | 'fallbackHint'>): Promise<number> {
    await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(options.port, options.host, () => {
            socket.off('error', reject);
            resolve();
        });
    });
    socket.on('error', (error) => options.log.error(`${options.label} socket error: ${error.message}`));
    return socket.address().port;
}

/** A start-up failure in words a user can act on: which address, and what is wrong with it. */
export function explainListenError(error: unknown): string {
    const {code, message, address, port} = error as NodeJS.ErrnoException & {address?: string; port?: number};
    if (code === 'EADDRINUSE') return `${address ?? ''}:${port ?? '?'} is already in use by another program`;
    if (code === 'EACCES') return `no permission to listen on ${address ?? ''}:${port ?? '?'}`;
    return message ?? String(error);
}

function listenOnce(server: net.Server, host: string, port: number, backlog?: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
        const onError = (error: Error): void => reject(error);
        server.once('error', onError);
        // 511 is Node's own default: listeners that expect no storms keep it.
        server.listen(port, host, backlog ?? 511, () => {
            server.off('error', onError);
            resolve();
        });
    });
}
