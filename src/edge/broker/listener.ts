/**
 * Wiring accepted sockets into aedes, and a plain TCP MQTT listener.
 *
 * Every connection ends with at most one log line giving the peer and the first reason it was
 * closed for (framing guard, aedes protocol error, socket error), so a bad peer is visible and a
 * flood of them is not itself a log flood (`limited`, keyed per listener and address).
 */

import net from 'node:net';

import type {Aedes} from 'aedes';

import {listen} from '../../util/listen.js';
import type {Logger} from '../../util/logger.js';
import {DEFAULT_FRAMING_LIMITS, type FramingLimits, guardMqttStream} from './framing-guard.js';

export interface MqttConnectionOptions {
    limits?: Partial<FramingLimits>;
    log: Logger;
    /** Names the listener in log lines, e.g. `rainmaker:8883`. */
    label?: string;
    /**
     * Called once when the socket has closed, with the first reason it was closed for (null for an
     * ordinary end), so a family can count bad input against the device (`countBadPacket`).
     */
    onClose?: (details: {peer: string; clientId: string | null; reason: string | null}) => void;
}

export function attachMqttConnection(broker: Aedes, socket: net.Socket, options: MqttConnectionOptions): void {
    const {log} = options;
    const peer = `${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`;
    const prefix = options.label ? `${options.label} ` : '';
    let closeReason: string | null = null;
    let clientId: string | null = null;
    const noteReason = (reason: string): void => {
        closeReason ??= reason;
    };

    socket.setNoDelay(true);
    socket.on('error', (error) => noteReason(`socket error: ${error.message}`));
    socket.once('close', () => {
        const who = clientId ? `${peer} (client ${clientId})` : peer;
        if (closeReason) {
            log.limited('warn', `${options.label ?? ''}:${socket.remoteAddress ?? ''}`, `${prefix}closed ${who}: ${closeReason}`);
        } else {
            log.debug(() => `${prefix}closed ${who}`);
        }
        try {
            options.onClose?.({peer, clientId, reason: closeReason});
        } catch (error) {
            log.error(`${prefix}onClose handler failed for ${who}: ${error instanceof Error ? error.message : String(error)}`);
        }
    });

    const limits: FramingLimits = {...DEFAULT_FRAMING_LIMITS, ...options.limits};
    const stream = guardMqttStream(socket, limits, noteReason);
    try {
        const client = broker.handle(stream);
        // aedes' own listener closes the client; this one only remembers why.
        client.on('error', (error: Error) => {
            clientId = client.id;
            noteReason(error.message);
        });
        client.once('connected', () => {
            clientId = client.id;
        });
    } catch (error) {
        noteReason(`broker refused the connection: ${error instanceof Error ? error.message : String(error)}`);
        socket.destroy();
    }
}

export interface MqttListenerOptions {
    host: string;
    port: number;
    limits?: Partial<FramingLimits>;
    /** Node closes connections beyond this as soon as it accepts them; each refusal is logged (limited). */
    maxConnections?: number;
    log: Logger;
    /** Names the listener in log lines (`<name>:<port>`); `mqtt` by default. */
    name?: string;
}

/** A plain TCP MQTT listener straight into `broker`. */
export function listenMqtt(broker: Aedes, options: MqttListenerOptions): Promise<net.Server> {
    return listenPlainMqtt(options, (socket, label) => attachMqttConnection(broker, socket, {...(options.limits ? {limits: options.limits} : {}), log: options.log, label}));
}

/** A plain TCP MQTT listener; `attach` wires each accepted socket into a broker, with the label naming listener and port. */
export async function listenPlainMqtt(options: Omit<MqttListenerOptions, 'limits'>, attach: (socket: net.Socket, label: string) => void): Promise<net.Server> {
    const {log} = options;
    const name = options.name ?? 'mqtt';
    // Renamed once listening, so port 0 (tests) shows the real port.
    let label = `${name}:${options.port}`;
    const server = net.createServer({noDelay: true}, (socket) => attach(socket, label));
    if (options.maxConnections !== undefined) server.maxConnections = options.maxConnections;
    server.on('drop', (dropped) => {
        log.limited('warn', `${label}:drop`, `${label} refused ${dropped?.remoteAddress ?? 'a peer'}: ${options.maxConnections} connections open`);
    });
    const port = await listen(server, {host: options.host, port: options.port, log, label});
    label = `${name}:${port}`;
    log.info(`${name}: MQTT listening on ${options.host}:${port}`);
    return server;
}
