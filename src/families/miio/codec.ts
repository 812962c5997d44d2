/**
 * The miIO packet codec: bytes in, messages out, no I/O (protocol note miio.md §1).
 *
 * A packet is a 32-byte big-endian header (magic 0x2131, length, reserved word, did, stamp,
 * checksum) followed by AES-128-CBC ciphertext. The checksum is MD5(header[0..15] ‖ token ‖
 * ciphertext); key = MD5(token), iv = MD5(key ‖ token). On the cloud link the "token" is the
 * device's 16-character cloud key, its ASCII bytes used as they are.
 */
import {createHash, hash as oneShotHash, timingSafeEqual} from 'node:crypto';

import {FixedIvCbc} from '../../util/fixed-iv-cbc.js';

export const MAGIC = 0x2131;
export const HEADER_LENGTH = 32;
/** The did and reserved word of a hello: never a real device id. */
export const HELLO_DID = 0xffffffff;

const BLOCK = 16;

/** Why a datagram was refused; also the counter key in link health. */
export type MiioDropReason =
    | 'too_short'
    | 'oversized'
    | 'bad_magic'
    | 'bad_length'
    | 'bad_checksum'
    | 'bad_cipher_length'
    | 'bad_padding'
    | 'not_json'
    | 'not_object';

export class MiioPacketError extends Error {
    constructor(
        readonly reason: MiioDropReason,
        message: string,
    ) {
        super(message);
        this.name = 'MiioPacketError';
    }
}

/**
 * Everything derived from one device's secret, computed once per device, plus one long-lived AES
 * context per direction.
 *
 * Creating a Node Cipher costs ~4 µs, ten times the AES work on a packet. CBC lets one context
 * serve every packet: a context continues its chain from the last ciphertext block it handled
 * (`chain`), while each packet must start from the fixed IV. Since the first block is
 * P1 = D(C1) ⊕ IV, decrypting with the context's chain instead yields D(C1) ⊕ chain, corrected by
 * ⊕ (chain ⊕ IV); encrypting feeds P1 ⊕ IV ⊕ chain so that E sees P1 ⊕ IV. Every later block chains
 * within the packet as usual. Everything runs synchronously, so packets never interleave.
 */
export class MiioKeys {
    readonly token: Buffer;
    readonly key: Buffer;
    readonly iv: Buffer;
    private readonly cbc: FixedIvCbc;

    constructor(token: Buffer) {
        if (token.length !== 16) throw new Error(`a miIO token is 16 bytes, got ${token.length}`);
        this.token = Buffer.from(token);
        this.key = createHash('md5').update(this.token).digest();
        this.iv = createHash('md5').update(this.key).update(this.token).digest();
        this.cbc = new FixedIvCbc(this.key, this.iv);
    }

    /** AES-128-CBC decryption of whole blocks (no padding removed) with the fixed IV. */
    decryptBlocks(ciphertext: Buffer): Buffer {
        return this.cbc.decryptBlocks(ciphertext);
    }

    /** AES-128-CBC encryption of already padded whole blocks with the fixed IV, in place. */
    encryptBlocksInPlace(body: Buffer): void {
        this.cbc.encryptBlocks(body).copy(body);
    }
}

export function deriveKeys(token: Buffer): MiioKeys {
    return new MiioKeys(token);
}

/** Why `value` cannot be a cloud key, or null when it can. */
export function cloudKeyProblem(value: string): string | null {
    if (/^[0-9a-fA-F]{32}$/.test(value)) {
        return 'this is a 32-hex-digit local token (for UDP 54321), not the cloud key: use the 16-character key= value from the device\'s device.conf';
    }
    if (value.length !== 16) return `a cloud key has exactly 16 characters, this one has ${value.length}`;
    if (!/^[\x21-\x7e]{16}$/.test(value)) return 'a cloud key is 16 printable ASCII characters (letters and digits in practice)';
    return null;
}

/** The cloud key's 16 ASCII characters are the token bytes: never hex-decoded (miio.md §1.4). */
export function keysFromCloudKey(cloudKey: string): MiioKeys {
    const problem = cloudKeyProblem(cloudKey);
    if (problem) throw new Error(problem);
    return deriveKeys(Buffer.from(cloudKey, 'latin1'));
}

export interface MiioHeader {
    length: number;
    unknown: number;
    did: number;
    stamp: number;
}

/** Reads and checks magic and length; `datagram.length` must equal the length field (UDP). */
export function readHeader(datagram: Buffer): MiioHeader {
    if (datagram.length < HEADER_LENGTH) {
        throw new MiioPacketError('too_short', `${datagram.length} bytes is shorter than the 32-byte header`);
    }
    const magic = datagram.readUInt16BE(0);
    if (magic !== MAGIC) throw new MiioPacketError('bad_magic', `magic 0x${magic.toString(16).padStart(4, '0')} is not 0x2131`);
    const length = datagram.readUInt16BE(2);
    if (length !== datagram.length) {
        throw new MiioPacketError('bad_length', `length field ${length} differs from the datagram size ${datagram.length}`);
    }
    return {length, unknown: datagram.readUInt32BE(4), did: datagram.readUInt32BE(8), stamp: datagram.readUInt32BE(12)};
}

/** An empty packet with stamp 0 asks for the time (the device's hello, V2). */
export function isHello(header: MiioHeader): boolean {
    return header.length === HEADER_LENGTH && header.stamp === 0;
}

// crypto.hash (Node >= 20.12) skips the Hash object: ~10% faster on packet-sized input.
const hasOneShotHash = typeof oneShotHash === 'function';

/**
 * MD5(packet[0..15] ‖ token ‖ packet[32..]) computed in place: the token is written into the
 * checksum field, the whole packet hashed in one call, and the field restored, which saves a copy of
 * the packet per hash. Synchronous, so nobody sees the packet in between.
 */
function checksumInPlace(packet: Buffer, keys: MiioKeys): Buffer {
    if (!hasOneShotHash) {
        return createHash('md5').update(packet.subarray(0, 16)).update(keys.token).update(packet.subarray(HEADER_LENGTH)).digest();
    }
    const saved = Buffer.from(packet.subarray(16, HEADER_LENGTH));
    keys.token.copy(packet, 16);
    const digest = oneShotHash('md5', packet, 'buffer');
    saved.copy(packet, 16);
    return digest;
}

/** MD5(header[0..15] ‖ token ‖ ciphertext) compared with the checksum field. */
export function hasValidChecksum(datagram: Buffer, keys: MiioKeys): boolean {
    if (datagram.length < HEADER_LENGTH) return false;
    return timingSafeEqual(checksumInPlace(datagram, keys), datagram.subarray(16, HEADER_LENGTH));
}

/**
 * Decrypts a checksum-verified packet's payload and returns the plaintext without its PKCS#7
 * padding and trailing NULs (a view into a fresh buffer, no further copies).
 */
export function decryptPayload(datagram: Buffer, keys: MiioKeys): Buffer {
    const ciphertextLength = datagram.length - HEADER_LENGTH;
    if (ciphertextLength === 0) return datagram.subarray(HEADER_LENGTH);
    if (ciphertextLength % BLOCK !== 0) {
        throw new MiioPacketError('bad_cipher_length', `ciphertext of ${ciphertextLength} bytes is not a multiple of 16`);
    }
    // Our own padding check instead of final(): a wrong pad is then a clear reason, not an exception.
    const padded = keys.decryptBlocks(datagram.subarray(HEADER_LENGTH));
    const pad = padded[padded.length - 1]!;
    if (pad < 1 || pad > BLOCK) throw new MiioPacketError('bad_padding', `PKCS#7 pad byte ${pad} is out of range`);
    for (let index = padded.length - pad; index < padded.length - 1; index++) {
        if (padded[index] !== pad) throw new MiioPacketError('bad_padding', 'PKCS#7 padding bytes differ');
    }
    let end = padded.length - pad;
    while (end > 0 && padded[end - 1] === 0) end--;
    return padded.subarray(0, end);
}

/** A decoded JSON-RPC message; the fields are checked by whoever uses them. */
export type MiioMessage = Record<string, unknown>;

export interface ParsedPayload {
    message: MiioMessage;
    /** Names of the repairs that made broken JSON parse (empty for well-formed JSON). */
    repairs: string[];
}

interface Repair {
    name: string;
    apply(text: string): string;
}

/**
 * Quirks seen in real firmware (miio.md §1.3). Tried in order, each only when the text still does
 * not parse, so well-formed JSON never pays for them.
 */
const REPAIRS: Repair[] = [
    // JSON text cannot contain a raw NUL, so whatever follows one is not part of the message.
    {name: 'text after an embedded NUL', apply: (text) => (text.includes('\0') ? text.slice(0, text.indexOf('\0')) : text)},
    {name: 'doubled comma (e.g. ,,"otu_stat")', apply: (text) => text.replace(/,(\s*,)+/g, ',')},
    {name: 'number with leading zeros (e.g. "value":00)', apply: (text) => text.replace(/:(\s*-?)0+(\d)/g, ':$1$2')},
    {name: 'empty "result" member', apply: (text) => text.replace(/"result"\s*:\s*,/g, '')},
];

/** Parses the plaintext, repairing known firmware quirks; throws a MiioPacketError if it cannot. */
export function parsePayload(plaintext: Buffer): ParsedPayload {
    const text = plaintext.toString('utf8');
    let value = tryParse(text);
    const repairs: string[] = [];
    if (value === undefined) {
        let repaired = text;
        for (const repair of REPAIRS) {
            const next = repair.apply(repaired);
            if (next === repaired) continue;
            repaired = next;
            repairs.push(repair.name);
            value = tryParse(repaired);
            if (value !== undefined) break;
        }
        if (value === undefined) throw new MiioPacketError('not_json', `payload is not JSON (${text.length} characters)`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new MiioPacketError('not_object', 'payload is JSON but not an object');
    }
    return {message: value as MiioMessage, repairs};
}

function tryParse(text: string): unknown {
    try {
        return JSON.parse(text) as unknown;
    } catch {
        return undefined;
    }
}

export interface DecodedPacket {
    header: MiioHeader;
    /** null for an empty packet (hello, keepalive). */
    message: MiioMessage | null;
    repairs: string[];
}

/**
 * Full decode in the order every implementation uses: magic and length, checksum, decrypt,
 * padding, trailing NULs, JSON. Throws MiioPacketError with the reason.
 */
export function decodePacket(datagram: Buffer, keys: MiioKeys): DecodedPacket {
    const header = readHeader(datagram);
    if (!hasValidChecksum(datagram, keys)) throw new MiioPacketError('bad_checksum', 'checksum does not match the key');
    if (header.length === HEADER_LENGTH) return {header, message: null, repairs: []};
    const plaintext = decryptPayload(datagram, keys);
    const {message, repairs} = parsePayload(plaintext);
    return {header, message, repairs};
}

export interface EncodeOptions {
    did: number;
    stamp: number;
    unknown?: number;
    /** Append one 0x00 after the JSON, as devices and dummycloud do. */
    nulTerminated?: boolean;
}

/** Builds a signed, encrypted packet; `payload` null or empty makes an empty (keepalive-style) packet. */
export function encodePacket(keys: MiioKeys, payload: string | Buffer | null, options: EncodeOptions): Buffer {
    const textLength = payload === null ? 0 : typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.length;
    const plainLength = textLength > 0 ? textLength + (options.nulTerminated ? 1 : 0) : 0;
    const cipherLength = plainLength === 0 ? 0 : (Math.floor(plainLength / BLOCK) + 1) * BLOCK;
    const packet = Buffer.allocUnsafe(HEADER_LENGTH + cipherLength);
    packet.writeUInt16BE(MAGIC, 0);
    packet.writeUInt16BE(packet.length, 2);
    packet.writeUInt32BE(options.unknown ?? 0, 4);
    packet.writeUInt32BE(options.did >>> 0, 8);
    packet.writeUInt32BE(options.stamp >>> 0, 12);
    if (cipherLength > 0 && payload !== null) {
        // Write and pad the plaintext in place inside the packet, then encrypt that region: no
        // intermediate buffers.
        const body = packet.subarray(HEADER_LENGTH);
        if (typeof payload === 'string') body.write(payload, 0, 'utf8');
        else payload.copy(body, 0);
        if (options.nulTerminated) body[textLength] = 0;
        body.fill(cipherLength - plainLength, plainLength);
        keys.encryptBlocksInPlace(body);
    }
    checksumInPlace(packet, keys).copy(packet, 16);
    return packet;
}

/** Serialises a message (compact JSON) and encodes it. */
export function encodeMessage(keys: MiioKeys, message: object, options: EncodeOptions): Buffer {
    return encodePacket(keys, JSON.stringify(message), options);
}

/** The device's hello to the cloud (V2): reserved and did 0xFFFFFFFF, stamp 0, zero checksum. */
export function cloudHello(): Buffer {
    return helloReply(0);
}

/**
 * The cloud's answer to a hello: the hello's first 12 bytes (reserved and did all 0xFF), the time
 * as stamp, and a checksum field the device does not check (zeros, as dustcloud sends: V3).
 */
export function helloReply(stamp: number): Buffer {
    const packet = Buffer.alloc(HEADER_LENGTH);
    packet.writeUInt16BE(MAGIC, 0);
    packet.writeUInt16BE(HEADER_LENGTH, 2);
    packet.writeUInt32BE(HELLO_DID, 4);
    packet.writeUInt32BE(HELLO_DID, 8);
    packet.writeUInt32BE(stamp >>> 0, 12);
    return packet;
}
