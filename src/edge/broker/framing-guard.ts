/**
 * A byte-level frame limit in front of aedes.
 *
 * mqtt-packet (and so aedes) buffers a packet of any announced size: a CONNECT claiming
 * 268,435,455 bytes followed by 64 MiB grew the broker by 68 MB without a disconnect
 * (performance.md finding 3). This guard reads only what is needed to know each packet's size —
 * the fixed header byte and the remaining-length varint — and destroys the socket as soon as a
 * packet announces more than the cap, before any of its body is buffered. Everything else about
 * MQTT stays with mqtt-packet.
 *
 * The guard is a Duplex handed to `aedes.handle` in place of the socket: received chunks are
 * inspected and pushed through as the same Buffer objects (no copy); writes go straight to the
 * socket. The first write aedes makes on a connection is always its CONNACK [MQTT-3.2.0-1], which
 * is how the guard knows when to switch from the pre-CONNACK cap to the per-packet cap.
 */

import type net from 'node:net';
import {Duplex} from 'node:stream';

import type {FloodVerdict} from '../flood-guard.js';

export interface FramingLimits {
    /** Largest packet (fixed header included) accepted before the broker has sent CONNACK. */
    preConnectMaxBytes: number;
    /** Largest packet (fixed header included) accepted after CONNACK. */
    maxPacketBytes: number;
    /** A complete CONNECT must have arrived this long after the socket was accepted. */
    connectTimeoutMs: number;
}

export const DEFAULT_FRAMING_LIMITS: FramingLimits = Object.freeze({
    preConnectMaxBytes: 8 * 1024,
    maxPacketBytes: 64 * 1024,
    connectTimeoutMs: 10_000,
});

const CONNECT_PACKET_TYPE = 1;
const PUBLISH_PACKET_TYPE = 3;
/** The remaining length is at most 4 bytes long [MQTT-2.2.3]. */
const MAX_VARINT_BYTES = 4;

const enum ScanState {
    FixedHeader,
    RemainingLength,
    Body,
}

/**
 * The stream aedes reads from and writes to. `socket` is the accepted connection underneath, for
 * hooks that need the peer (remote address, TLS peer certificate): aedes' `client.conn` is this
 * object, not the socket.
 */
export class GuardedMqttStream extends Duplex {
    private scanState = ScanState.FixedHeader;
    private packetType = 0;
    private remainingLength = 0;
    private varintBytes = 0;
    private bodyBytesLeft = 0;
    private connackSent = false;
    private connectReceived = false;
    private rejected = false;
    /** The packet being scanned is a PUBLISH over the client's budget: its bytes never reach aedes. */
    private droppingPacket = false;
    private admitPublish: (() => FloodVerdict) | null = null;
    private connectTimer: NodeJS.Timeout | null;
    /** The write callback held back while the socket's own buffer is above its high-water mark. */
    private pendingWriteCallback: ((error?: Error | null) => void) | null = null;

    private readonly limits: FramingLimits;

    constructor(
        readonly socket: net.Socket,
        limits: FramingLimits,
        private readonly onReject: (reason: string) => void,
    ) {
        super({allowHalfOpen: false});
        this.limits = {...limits};
        this.connectTimer = setTimeout(() => {
            this.reject(`no complete CONNECT within ${limits.connectTimeoutMs} ms`);
        }, limits.connectTimeoutMs);
        this.connectTimer.unref();

        socket.on('data', (chunk: Buffer) => this.onSocketData(chunk));
        socket.on('end', () => this.push(null));
        socket.on('drain', () => this.releasePendingWrite());
        // The caller logs socket errors; this listener only guarantees that an unlogged one can
        // never become an uncaught 'error' event, and that the guard ends with the socket.
        socket.on('error', () => this.destroy());
        socket.on('close', () => {
            this.clearConnectTimer();
            if (!this.destroyed) this.destroy();
        });
    }

    /**
     * The cap after CONNACK, once it is known whose client this is (families differ: RainMaker
     * configs run to a few hundred KiB, Ecovacs maps to about 1 MiB). Must be called before CONNACK.
     */
    setMaxPacketBytes(bytes: number): void {
        this.limits.maxPacketBytes = bytes;
    }

    /**
     * Asked once per PUBLISH after CONNACK, at its first byte: a packet it does not pass is dropped
     * whole (aedes never parses it, a QoS 1 one is never acknowledged), and `cut-off` closes the
     * connection. Must be called before CONNACK.
     */
    setPublishAdmission(admit: () => FloodVerdict): void {
        this.admitPublish = admit;
    }

    private onSocketData(chunk: Buffer): void {
        if (this.rejected) return;
        const kept: Buffer[] = [];
        const problem = this.scan(chunk, kept);
        if (problem) {
            this.reject(problem);
            return;
        }
        let flowing = true;
        for (const part of kept) flowing = this.push(part);
        if (!flowing) this.socket.pause();
    }

    /**
     * Walks the packet boundaries in `chunk` and collects in `kept` what aedes may see: the whole
     * chunk (the same Buffer) unless some of it belongs to dropped packets. Returns why the stream
     * must be closed, if it must.
     */
    private scan(chunk: Buffer, kept: Buffer[]): string | null {
        let position = 0;
        const length = chunk.length;
        /** Where the bytes aedes may see began, or -1 while inside a dropped packet. */
        let keptFrom = this.droppingPacket ? -1 : 0;
        while (position < length) {
            switch (this.scanState) {
                case ScanState.Body: {
                    const take = Math.min(this.bodyBytesLeft, length - position);
                    this.bodyBytesLeft -= take;
                    position += take;
                    if (this.bodyBytesLeft === 0) {
                        this.onPacketComplete();
                        if (keptFrom === -1) keptFrom = position;
                    }
                    break;
                }
                case ScanState.FixedHeader: {
                    this.packetType = chunk[position]! >> 4;
                    this.remainingLength = 0;
                    this.varintBytes = 0;
                    this.scanState = ScanState.RemainingLength;
                    const verdict = this.connackSent && this.packetType === PUBLISH_PACKET_TYPE && this.admitPublish ? this.admitPublish() : 'pass';
                    if (verdict === 'cut-off') return 'flooding: more publishes per second than the budget, for too long';
                    if (verdict === 'drop') {
                        this.droppingPacket = true;
                        if (keptFrom !== -1 && position > keptFrom) kept.push(chunk.subarray(keptFrom, position));
                        keptFrom = -1;
                    }
                    position++;
                    break;
                }
                case ScanState.RemainingLength: {
                    const byte = chunk[position]!;
                    position++;
                    // Multiplication, not shifts: 7 × 4 bits fit a double exactly and never go negative.
                    this.remainingLength += (byte & 0x7f) * 128 ** this.varintBytes;
                    this.varintBytes++;
                    if (byte & 0x80) {
                        if (this.varintBytes === MAX_VARINT_BYTES) return 'malformed remaining length (more than 4 bytes)';
                        break;
                    }
                    const packetBytes = 1 + this.varintBytes + this.remainingLength;
                    const cap = this.connackSent ? this.limits.maxPacketBytes : this.limits.preConnectMaxBytes;
                    if (packetBytes > cap) {
                        const phase = this.connackSent ? '' : ' before CONNACK';
                        return `packet type ${this.packetType} of ${packetBytes} bytes exceeds the ${cap}-byte cap${phase}`;
                    }
                    this.bodyBytesLeft = this.remainingLength;
                    this.scanState = ScanState.Body;
                    if (this.bodyBytesLeft === 0) {
                        this.onPacketComplete();
                        if (keptFrom === -1) keptFrom = position;
                    }
                    break;
                }
            }
        }
        if (keptFrom === 0) kept.push(chunk);
        else if (keptFrom !== -1 && keptFrom < length) kept.push(chunk.subarray(keptFrom));
        return null;
    }

    private onPacketComplete(): void {
        this.scanState = ScanState.FixedHeader;
        this.droppingPacket = false;
        if (!this.connectReceived && this.packetType === CONNECT_PACKET_TYPE) {
            this.connectReceived = true;
            this.clearConnectTimer();
        }
    }

    private reject(reason: string): void {
        if (this.rejected) return;
        this.rejected = true;
        this.clearConnectTimer();
        this.socket.destroy();
        this.destroy();
        this.onReject(reason);
    }

    private clearConnectTimer(): void {
        if (this.connectTimer) {
            clearTimeout(this.connectTimer);
            this.connectTimer = null;
        }
    }

    private releasePendingWrite(): void {
        const callback = this.pendingWriteCallback;
        this.pendingWriteCallback = null;
        callback?.();
    }

    override _read(): void {
        this.socket.resume();
    }

    override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
        this.connackSent = true;
        if (this.socket.write(chunk)) callback();
        else this.pendingWriteCallback = callback;
    }

    /** mqtt-packet corks the stream around each packet; pass the batch on as one socket write. */
    override _writev(chunks: Array<{chunk: Buffer}>, callback: (error?: Error | null) => void): void {
        this.connackSent = true;
        this.socket.cork();
        let flushed = true;
        for (const {chunk} of chunks) flushed = this.socket.write(chunk);
        this.socket.uncork();
        if (flushed) callback();
        else this.pendingWriteCallback = callback;
    }

    override _final(callback: (error?: Error | null) => void): void {
        this.socket.end();
        callback();
    }

    override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
        this.clearConnectTimer();
        this.pendingWriteCallback = null;
        if (!this.socket.destroyed) this.socket.destroy();
        callback(error);
    }
}

/**
 * Returns the stream to hand to `aedes.handle`. Closes the socket and calls `onReject(reason)`
 * once when a packet announces more than the cap (`preConnectMaxBytes` until the broker has sent
 * CONNACK, `maxPacketBytes` after), when the remaining-length varint runs past 4 bytes, or when
 * no complete CONNECT arrived within `connectTimeoutMs`.
 */
export function guardMqttStream(socket: net.Socket, limits: FramingLimits, onReject: (reason: string) => void): GuardedMqttStream {
    return new GuardedMqttStream(socket, limits, onReject);
}

/** The accepted socket under an aedes connection, whether it was guarded or handed over raw. */
export function socketOf(connection: Duplex): net.Socket {
    return connection instanceof GuardedMqttStream ? connection.socket : (connection as net.Socket);
}
