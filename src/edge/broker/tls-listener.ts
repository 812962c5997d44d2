/**
 * MQTT over TLS for devices: the broker policy that claims a client judges its certificate (see
 * `listenDeviceTls`). Node's TLS (OpenSSL) has verified whatever was presented before a single
 * MQTT byte is read, so neither aedes nor node-forge ever parses an unauthenticated peer's
 * certificate (performance.md §5.1); policies only read the verdict.
 */

import type tls from 'node:tls';

import {type BoundServer, type DeviceTlsServerOptions, listenDeviceTls} from '../tls/server-sockets.js';

export interface MqttTlsListenerOptions extends DeviceTlsServerOptions {
    /** Wires a connection that finished its handshake into the broker; `label` names listener and port. */
    attach(socket: tls.TLSSocket, label: string): void;
}

export async function listenMqttTls(options: MqttTlsListenerOptions): Promise<BoundServer<tls.Server>> {
    const bound = await listenDeviceTls(options, (socket, label) => options.attach(socket, label));
    options.log.info(`${options.label}: MQTT over TLS on ${options.host}:${bound.port}`);
    return bound;
}
