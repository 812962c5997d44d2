/**
 * The icomen / smart2connect frame codec: bytes in, messages out, no I/O.
 *
 * A frame is a 9-byte clear header (`01`, type, the plug's 6-byte MAC, ciphertext length) followed
 * by AES-128-CBC ciphertext with key = IV = the current 16-byte key. The plaintext starts with an
 * 8-byte prefix (`00`, 2-byte little-endian counter, company, device type, 2-byte auth, command),
 * then the command's data, then manual padding. See shared/protocols/icomen.md §2–§3.
 */
import net from 'node:net';

import {FixedIvCbc} from '../../util/fixed-iv-cbc.js';

/** Every way a frame or a stream can be wrong; the only error this module throws. */
export class IcomenCodecError extends Error {
    override readonly name = 'IcomenCodecError';
}

export const FRAME_START = 0x01;
export const HEADER_LENGTH = 9;
/** `00`, counter (2), company, device type, auth (2), command. */
export const PREFIX_LENGTH = 8;
/** The largest multiple of 16 a one-byte length can announce. */
export const MAX_CIPHERTEXT_LENGTH = 240;
const BLOCK = 16;

export const FrameType = {
    /** The plug's own requests and reports, and the server's commands. */
    request: 0x40,
    /** Answers to a request. */
    response: 0x42,
} as const;

export const Command = {
    power: 0x01,
    query: 0x02,
    report: 0x06,
    changeServer: 0x41,
    key: 0x42,
    time: 0x44,
    heartbeat: 0x61,
} as const;

/** Every plug of every brand uses this key until a 0x42 answer hands it another one. */
export const DEFAULT_KEY: Buffer = Buffer.from('0123456789abcdef', 'latin1');

/** The 4 bytes that identify the brand and model; copied into every frame sent to the plug. */
export interface VendorBytes {
    company: number;
    deviceType: number;
    /** Two bytes, big-endian as they appear on the wire (`0x92dd` for ALDI). */
    auth: number;
}

export const VENDOR_ALDI: VendorBytes = {company: 0xc2, deviceType: 0x11, auth: 0x92dd};
export const VENDOR_LIDL: VendorBytes = {company: 0xc1, deviceType: 0x11, auth: 0x7150};

/**
 * A decoded frame. The views (`mac`, `payload`) and `vendor` are built on first use: most frames
 * (heartbeats) only need their command byte, and this is the hot path.
 */
export class IcomenFrame {
    constructor(
        /** The frame as received (header + ciphertext). */
        readonly frame: Buffer,
        /** The whole decrypted plaintext, for the raw MQTT rendering. */
        readonly plaintext: Buffer,
    ) {}

    get type(): number {
        return this.frame[1]!;
    }

    /** The plug's MAC from the clear header (a view into the frame). */
    get mac(): Buffer {
        return this.frame.subarray(2, 8);
    }

    get counter(): number {
        return this.plaintext[1]! | (this.plaintext[2]! << 8);
    }

    get vendor(): VendorBytes {
        return vendorOf(this.plaintext);
    }

    get command(): number {
        return this.plaintext[7]!;
    }

    /** Everything after the command byte, padding included: parse it at fixed offsets. */
    get payload(): Buffer {
        return this.plaintext.subarray(PREFIX_LENGTH);
    }
}

function vendorOf(plaintext: Buffer): VendorBytes {
    return {company: plaintext[3]!, deviceType: plaintext[4]!, auth: (plaintext[5]! << 8) | plaintext[6]!};
}

function sameVendor(plaintext: Buffer, vendor: VendorBytes): boolean {
    return (
        plaintext[3] === vendor.company &&
        plaintext[4] === vendor.deviceType &&
        plaintext[5] === (vendor.auth >>> 8) &&
        plaintext[6] === (vendor.auth & 0xff)
    );
}

export interface OutgoingFrame {
    type: number;
    mac: Uint8Array;
    counter: number;
    vendor: VendorBytes;
    command: number;
    data: Uint8Array;
}

export interface EncodedFrame {
    /** Header + ciphertext: what goes on the wire. */
    frame: Buffer;
    /** The padded plaintext before encryption, for the raw MQTT rendering. */
    plaintext: Buffer;
}

function requireKey(key: Uint8Array): void {
    if (key.length !== BLOCK) throw new IcomenCodecError(`the key must be 16 bytes, got ${key.length}`);
}

/** Bytes of padding after `length` plaintext bytes: N bytes of value N, none when already aligned ([BR] pad_payload). */
export function paddingFor(length: number): number {
    const remainder = length % BLOCK;
    return remainder === 0 ? 0 : BLOCK - remainder;
}

/**
 * Cuts a TCP byte stream into frames by the length byte of the clear header. Frames may arrive
 * split across chunks or several in one chunk. Keeps at most one incomplete frame (≤ 249 bytes).
 */
export class FrameSplitter {
    private pending: Buffer | null = null;

    /** Bytes of an incomplete frame waiting for the rest. */
    get bufferedBytes(): number {
        return this.pending?.length ?? 0;
    }

    /**
     * Calls `onFrame` with each complete frame (header + ciphertext), in order. Throws an
     * IcomenCodecError at the first malformed header, after delivering the frames before it; the
     * stream cannot be resynchronised after that (there is no delimiter), so the caller closes it.
     */
    push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
        let buffer = chunk;
        if (this.pending) {
            buffer = Buffer.concat([this.pending, chunk]);
            this.pending = null;
        }
        let offset = 0;
        while (offset < buffer.length) {
            if (buffer[offset] !== FRAME_START) {
                throw new IcomenCodecError(`frame starts with 0x${hexByte(buffer[offset]!)} instead of 0x01`);
            }
            if (buffer.length - offset < HEADER_LENGTH) break;
            const length = buffer[offset + 8]!;
            checkCiphertextLength(length);
            const end = offset + HEADER_LENGTH + length;
            if (end > buffer.length) break;
            // The common case, one whole frame per chunk, needs no new view.
            onFrame(offset === 0 && end === buffer.length ? buffer : buffer.subarray(offset, end));
            offset = end;
        }
        if (offset < buffer.length) {
            // Copy the remainder so a large chunk is not kept alive by a small tail.
            this.pending = Buffer.from(buffer.subarray(offset));
        }
    }
}

function checkCiphertextLength(length: number): void {
    if (length === 0 || length % BLOCK !== 0) {
        throw new IcomenCodecError(`ciphertext length ${length} is not a positive multiple of 16`);
    }
}

/** Decrypts the ciphertext of one complete frame. No library padding: the plaintext keeps its manual padding. */
export function decryptFrame(frame: Buffer, key: Buffer): Buffer {
    requireKey(key);
    if (frame.length < HEADER_LENGTH) throw new IcomenCodecError(`frame of ${frame.length} bytes is shorter than its header`);
    if (frame[0] !== FRAME_START) throw new IcomenCodecError(`frame starts with 0x${hexByte(frame[0]!)} instead of 0x01`);
    const length = frame[8]!;
    checkCiphertextLength(length);
    if (frame.length !== HEADER_LENGTH + length) {
        throw new IcomenCodecError(`header announces ${length} bytes of ciphertext, frame carries ${frame.length - HEADER_LENGTH}`);
    }
    try {
        return cbcFor(key).decryptBlocks(frame.subarray(HEADER_LENGTH));
    } catch (error) {
        forgetCbc(key);
        throw new IcomenCodecError(`cannot decrypt: ${(error as Error).message}`);
    }
}

/**
 * One kept AES context pair per key (key = IV), shared by every connection: a plug's frames are
 * decoded and encoded synchronously, so no two frames interleave in one context. Every plug uses
 * the default key, so this holds one entry; the cap only bounds a peer that hands out keys.
 */
const cbcByKey = new Map<string, FixedIvCbc>();
const MAX_KEPT_KEYS = 16;

function cbcFor(key: Buffer): FixedIvCbc {
    const id = key.toString('latin1');
    let cbc = cbcByKey.get(id);
    if (!cbc) {
        if (cbcByKey.size >= MAX_KEPT_KEYS) cbcByKey.delete(cbcByKey.keys().next().value!);
        cbc = new FixedIvCbc(key, key);
        cbcByKey.set(id, cbc);
    }
    return cbc;
}

/** After a failure the context's chain is unknown: the next frame starts a new one. */
function forgetCbc(key: Buffer): void {
    cbcByKey.delete(key.toString('latin1'));
}

/**
 * Decrypts and checks one frame. The only integrity check the protocol has is a sane prefix: `00`
 * and, once known, the plug's own vendor bytes.
 */
export function decodeFrame(frame: Buffer, key: Buffer, expectedVendor: VendorBytes | null = null): IcomenFrame {
    const plaintext = decryptFrame(frame, key);
    if (plaintext[0] !== 0x00) {
        throw new IcomenCodecError(`decrypted frame starts with 0x${hexByte(plaintext[0]!)}, not 0x00: wrong key or garbage`);
    }
    if (expectedVendor && !sameVendor(plaintext, expectedVendor)) {
        throw new IcomenCodecError(
            `decrypted vendor bytes ${formatVendor(vendorOf(plaintext))} differ from the plug's ${formatVendor(expectedVendor)}: garbage`,
        );
    }
    return new IcomenFrame(frame, plaintext);
}

/** Builds the padded plaintext and the encrypted frame. */
export function encodeFrame(fields: OutgoingFrame, key: Buffer): EncodedFrame {
    requireKey(key);
    if (fields.mac.length !== 6) throw new IcomenCodecError(`a MAC has 6 bytes, got ${fields.mac.length}`);
    const unpadded = PREFIX_LENGTH + fields.data.length;
    const padding = paddingFor(unpadded);
    const length = unpadded + padding;
    if (length > MAX_CIPHERTEXT_LENGTH) throw new IcomenCodecError(`${fields.data.length} data bytes do not fit in one frame`);
    const plaintext = Buffer.allocUnsafe(length);
    plaintext[0] = 0x00;
    plaintext[1] = fields.counter & 0xff;
    plaintext[2] = (fields.counter >>> 8) & 0xff;
    plaintext[3] = fields.vendor.company;
    plaintext[4] = fields.vendor.deviceType;
    plaintext[5] = (fields.vendor.auth >>> 8) & 0xff;
    plaintext[6] = fields.vendor.auth & 0xff;
    plaintext[7] = fields.command;
    // Data and padding are a few bytes: plain loops beat the native set/fill calls here.
    const data = fields.data;
    for (let index = 0; index < data.length; index++) plaintext[PREFIX_LENGTH + index] = data[index]!;
    for (let index = unpadded; index < length; index++) plaintext[index] = padding;

    let ciphertext: Buffer;
    try {
        ciphertext = cbcFor(key).encryptBlocks(plaintext);
    } catch (error) {
        forgetCbc(key);
        throw new IcomenCodecError(`cannot encrypt: ${(error as Error).message}`);
    }
    const frame = Buffer.allocUnsafe(HEADER_LENGTH + length);
    frame[0] = FRAME_START;
    frame[1] = fields.type;
    frame.set(fields.mac, 2);
    frame[8] = length;
    frame.set(ciphertext, HEADER_LENGTH);
    return {frame, plaintext};
}

/**
 * Which counter goes into the frames we send. Counters are never checked on receipt: the plug
 * does not care, and neither do we.
 */
export interface CounterPolicy {
    /** Counter of an answer to a frame that carried `requestCounter`. */
    forResponse(requestCounter: number): number;
    /** Counter of a request we start (0x01, 0x02, RequestRAW). */
    forRequest(): number;
}

/**
 * Answers echo the request's counter; our own requests count up from the last one we sent.
 * A class, not closures: every plug connection holds one, and two closures with their context
 * cost ~700 bytes a plug against ~30 for this object.
 */
class EchoCounters implements CounterPolicy {
    constructor(private last: number) {}

    forResponse(requestCounter: number): number {
        return requestCounter;
    }

    forRequest(): number {
        return (this.last = (this.last + 1) & 0xffff);
    }
}

export function echoCounters(start = 0): CounterPolicy {
    return new EchoCounters(start);
}

/** Requests increment one running counter; answers carry it unchanged. */
class ParityCounters implements CounterPolicy {
    constructor(private current: number) {}

    forResponse(): number {
        return this.current;
    }

    forRequest(): number {
        return (this.current = (this.current + 1) & 0xffff);
    }
}

/**
 * kroseneg/icomen-mqtt-bridge parity: one running counter per plug; requests increment it,
 * answers carry it unchanged (vectors C9 → C15 → C16).
 */
export function bridgeParityCounters(start = 0): CounterPolicy {
    return new ParityCounters(start);
}

/** The policies by name, so that one can be chosen across a thread boundary. */
export type CounterStyle = 'echo' | 'bridge-parity';

export function countersOf(style: CounterStyle): CounterPolicy {
    return style === 'echo' ? echoCounters() : bridgeParityCounters();
}

export interface FrameCodecOptions {
    key?: Buffer;
    /** Known up front on the plug side; the server learns it from the first frame. */
    mac?: Buffer;
    vendor?: VendorBytes;
    counters?: CounterPolicy;
}

/**
 * The codec state of one connection: the current key, the peer's MAC and vendor bytes (learned
 * from the first frame and then required), and the counter policy.
 */
export class FrameCodec {
    private currentKey: Buffer;
    private boundMac: Buffer | null;
    private boundVendor: VendorBytes | null;
    readonly counters: CounterPolicy;

    constructor(options: FrameCodecOptions = {}) {
        const key = options.key ?? DEFAULT_KEY;
        requireKey(key);
        this.currentKey = Buffer.from(key);
        this.boundMac = options.mac ? Buffer.from(options.mac) : null;
        this.boundVendor = options.vendor ? {...options.vendor} : null;
        this.counters = options.counters ?? echoCounters();
    }

    get key(): Buffer {
        return this.currentKey;
    }

    get mac(): Buffer | null {
        return this.boundMac;
    }

    get vendor(): VendorBytes | null {
        return this.boundVendor;
    }

    setKey(key: Buffer): void {
        requireKey(key);
        this.currentKey = Buffer.from(key);
    }

    /** Decodes a frame from the peer; the first one binds the MAC and vendor bytes of this connection. */
    decode(frame: Buffer): IcomenFrame {
        if (this.boundMac && frame.length >= 8 && !sameMac(this.boundMac, frame)) {
            throw new IcomenCodecError(`MAC changed mid-connection from ${macHex(this.boundMac)} to ${macHex(frame.subarray(2, 8))}`);
        }
        const decoded = decodeFrame(frame, this.currentKey, this.boundVendor);
        if (!this.boundMac) this.boundMac = Buffer.from(decoded.mac);
        if (!this.boundVendor) this.boundVendor = decoded.vendor;
        return decoded;
    }

    /** A frame we start (type 0x40, next request counter). */
    request(command: number, data: Uint8Array = EMPTY): EncodedFrame {
        return this.encode(FrameType.request, this.counters.forRequest(), command, data);
    }

    /** An answer to `to` (type 0x42, counter from the policy). */
    response(to: {counter: number}, command: number, data: Uint8Array = EMPTY): EncodedFrame {
        return this.encode(FrameType.response, this.counters.forResponse(to.counter), command, data);
    }

    private encode(type: number, counter: number, command: number, data: Uint8Array): EncodedFrame {
        if (!this.boundMac || !this.boundVendor) throw new IcomenCodecError('cannot send before the plug has identified itself');
        return encodeFrame({type, mac: this.boundMac, counter, vendor: this.boundVendor, command, data}, this.currentKey);
    }
}

const EMPTY = Buffer.alloc(0);

/** Six byte comparisons: cheaper than a Buffer view plus a native compare on every frame. */
function sameMac(mac: Buffer, frame: Buffer): boolean {
    for (let index = 0; index < 6; index++) if (mac[index] !== frame[2 + index]) return false;
    return true;
}

// ---- message data builders and parsers -------------------------------------------------------

/** 0x41 answer: IPv4 in network order, then the port big-endian. */
export function changeServerData(address: string, port: number): Buffer {
    const ipv4 = unmapIpv4(address);
    if (!ipv4) throw new IcomenCodecError(`"${address}" is not an IPv4 address`);
    if (!Number.isInteger(port) || port < 1 || port > 0xffff) throw new IcomenCodecError(`invalid port ${port}`);
    const data = Buffer.allocUnsafe(6);
    ipv4.split('.').forEach((part, index) => (data[index] = Number(part)));
    data.writeUInt16BE(port, 4);
    return data;
}

/** `1.2.3.4` stays, `::ffff:1.2.3.4` becomes `1.2.3.4`, anything else is null. */
export function unmapIpv4(address: string): string | null {
    const candidate = address.toLowerCase().startsWith('::ffff:') ? address.slice(7) : address;
    return net.isIPv4(candidate) ? candidate : null;
}

/** 0x42 answer: key length (16) then the key. */
export function keyData(key: Buffer): Buffer {
    requireKey(key);
    return Buffer.concat([Buffer.of(BLOCK), key]);
}

/** 0x44 answer: UTC Unix time, 4 bytes big-endian. */
export function timeData(unixSeconds: number): Buffer {
    const data = Buffer.allocUnsafe(4);
    data.writeUInt32BE(Math.floor(unixSeconds) >>> 0, 0);
    return data;
}

/** 0x61 answer: `00 1e` (probably the heartbeat period, 30 s). */
export const HEARTBEAT_ANSWER_DATA: Buffer = Buffer.of(0x00, 0x1e);

const POWER_ON = Buffer.of(0x00, 0x00, 0xff, 0xff);
const POWER_OFF = Buffer.of(0x00, 0x00, 0x00, 0xff);

/** 0x01 data, also the layout of 0x02 replies, 0x06 reports and 0x01 echoes. */
export function powerData(on: boolean): Buffer {
    return Buffer.from(on ? POWER_ON : POWER_OFF);
}

/** Switch state in data byte 2 (plaintext offset 10): `ff` on, `00` off, anything else unknown (null). */
export function parseSwitchState(frame: IcomenFrame): boolean | null {
    const value = frame.plaintext[PREFIX_LENGTH + 2];
    if (value === 0xff) return true;
    if (value === 0x00) return false;
    return null;
}

export function parseChangeServer(frame: IcomenFrame): {address: string; port: number} {
    if (frame.payload.length < 6) throw new IcomenCodecError('0x41 answer too short for an address');
    const p = frame.payload;
    return {address: `${p[0]}.${p[1]}.${p[2]}.${p[3]}`, port: p.readUInt16BE(4)};
}

export function parseKeyAnswer(frame: IcomenFrame): Buffer {
    const length = frame.payload[0];
    if (length !== BLOCK || frame.payload.length < 1 + BLOCK) throw new IcomenCodecError(`0x42 answer announces a ${String(length)}-byte key`);
    return Buffer.from(frame.payload.subarray(1, 1 + BLOCK));
}

export function parseTimeAnswer(frame: IcomenFrame): number {
    if (frame.payload.length < 4) throw new IcomenCodecError('0x44 answer too short for a time');
    return frame.payload.readUInt32BE(0);
}

export function parseHeartbeatAnswer(frame: IcomenFrame): number {
    if (frame.payload.length < 2) throw new IcomenCodecError('0x61 answer too short');
    return frame.payload.readUInt16BE(0);
}

/** Parses `RequestRAW`/`ResponseRAW` payloads: space-free hex of the command byte and its data. */
export function parseRawCommand(hex: string): {command: number; data: Buffer} {
    if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex)) throw new IcomenCodecError(`"${hex.slice(0, 40)}" is not space-free hex of whole bytes`);
    const bytes = Buffer.from(hex, 'hex');
    if (PREFIX_LENGTH + bytes.length - 1 > MAX_CIPHERTEXT_LENGTH) throw new IcomenCodecError('raw command too long for one frame');
    return {command: bytes[0]!, data: bytes.subarray(1)};
}

// ---- rendering -------------------------------------------------------------------------------

/**
 * The raw MQTT rendering of icomen-mqtt-bridge: `01 <type+mac+len> <plaintext in 8-byte groups>`,
 * lower-case hex. `header` is the frame (only its first 9 bytes are read).
 */
export function renderRaw(header: Buffer, plaintext: Buffer): string {
    const parts = [header.toString('hex', 0, 1), header.toString('hex', 1, HEADER_LENGTH)];
    for (let offset = 0; offset < plaintext.length; offset += 8) parts.push(plaintext.toString('hex', offset, offset + 8));
    return parts.join(' ');
}

/** `0095691a2b3c`: the form used in device ids and compat topics. */
export function macHex(mac: Uint8Array): string {
    return Buffer.from(mac.buffer, mac.byteOffset, mac.byteLength).toString('hex');
}

/** `00:95:69:1a:2b:3c`. */
export function formatMac(mac: Uint8Array): string {
    return macHex(mac).replace(/(..)(?=.)/g, '$1:');
}

export function parseMac(text: string): Buffer {
    const hex = text.replace(/[:-]/g, '');
    if (!/^[0-9a-fA-F]{12}$/.test(hex)) throw new IcomenCodecError(`"${text}" is not a MAC address`);
    return Buffer.from(hex, 'hex');
}

export function formatVendor(vendor: VendorBytes): string {
    return `${hexByte(vendor.company)} ${hexByte(vendor.deviceType)} ${vendor.auth.toString(16).padStart(4, '0')}`;
}

function hexByte(value: number): string {
    return value.toString(16).padStart(2, '0');
}
