/**
 * MQTT over TLS for devices. A client certificate is asked for but not required at the TLS level:
 * families differ (RainMaker nodes must present one from our CA, Ecovacs bots have none), so the
 * broker policy that claims the client decides. Node's TLS (OpenSSL) has verified whatever was
 * presented before a single MQTT byte is read, so neither aedes nor node-forge ever parses an
 * unauthenticated peer's certificate (performance.md §5.1); policies only read the verdict.
 */

import tls from 'node:tls';

import {listen} from '../../util/listen.js';
import type {Logger} from '../../util/logger.js';
import {type BoundServer, type TlsMaterial, closeServer, describeTlsError, peerAddress, trackSockets} from '../tls/server-sockets.js';

export interface MqttTlsListenerOptions {
    host: string;
    port: number;
    /** Tried when `port` is refused with EACCES (a port below 1024 without root). */
    fallbackPort?: number | null;
    tls: TlsMaterial;
    maxConnections?: number;
    log: Logger;
    /** Names the listener in log lines, e.g. `mqtt-tls`. */
    label: string;
    /** Wires a connection that finished its handshake into the broker; `label` names listener and port. */
    attach(socket: tls.TLSSocket, label: string): void;
}

export async function listenMqttTls(options: MqttTlsListenerOptions): Promise<BoundServer<tls.Server>> {
    const {log} = options;
    let label = `${options.label}:${options.port}`;
    const server = tls.createServer({
        ...options.tls,
        requestCert: true,
        rejectUnauthorized: false,
        minVersion: 'TLSv1.2',
        // A peer that opens TCP and never finishes the handshake is dropped like one that never sends CONNECT.
        handshakeTimeout: 10_000,
    });
    const sockets = trackSockets(server);
    server.on('secureConnection', (socket: tls.TLSSocket) => options.attach(socket, label));
    server.on('tlsClientError', (error, socket) => {
        const peer = peerAddress(socket, sockets);
        log.limited('warn', `${label}:tls:${peer}`, `${label} TLS handshake from ${peer} failed: ${describeTlsError(error)}`);
    });
    if (options.maxConnections !== undefined) server.maxConnections = options.maxConnections;
    server.on('drop', (dropped) => {
        log.limited('warn', `${label}:drop`, `${label} refused ${dropped?.remoteAddress ?? 'a peer'}: ${options.maxConnections} connections open`);
    });
    const port = await listen(server, {host: options.host, port: options.port, fallbackPort: options.fallbackPort ?? null, log, label: options.label});
    label = `${options.label}:${port}`;
    log.info(`${options.label}: MQTT over TLS on ${options.host}:${port}`);
    return {server, port, close: () => closeServer(server, sockets)};
}
