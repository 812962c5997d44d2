/**
 * The decoded messages of the last minutes, fleet-wide, for debugging from a device's page. Memory
 * is constant: one ring of at most `capacity` messages. Recording is on every device's packet path,
 * so it only keeps a reference: masking and summarising (whose secret scan grows with the number
 * of known secrets) happen when a page asks for a device's messages, for that device's only.
 */
import {redact} from '../util/logger.js';
import {isPlainObject} from '../util/plain-object.js';

export type TrafficDirection = 'in' | 'out';

export interface TrafficEntry {
    deviceId: string;
    time: number;
    direction: TrafficDirection;
    /** The message as JSON, secrets masked, long strings and deep or wide parts cut. */
    summary: string;
}

export interface TrafficOptions {
    capacity?: number;
    maxAgeMs?: number;
    now?: () => number;
}

export const MASK = '***';
/** Keys whose values are secrets, wherever they sit in a message: tokens, keys, passwords, signatures. */
const SECRET_KEY = /token|key|passw|secret|credential|cookie|signature|private|psk|auth_?code/i;
const MAX_SUMMARY_CHARS = 1000;
const MAX_STRING_CHARS = 200;
const MAX_DEPTH = 6;
const MAX_ITEMS = 30;

/**
 * A copy of `value` fit to show: the values of secret-named keys masked at any depth, registered
 * secrets (cloud keys, tokens the families know) masked inside strings, bytes as their length,
 * long strings, deep nesting and long lists cut.
 */
export function maskSecrets(value: unknown, depth = 0): unknown {
    if (typeof value === 'string') {
        const masked = redact(value);
        return masked.length > MAX_STRING_CHARS ? `${masked.slice(0, MAX_STRING_CHARS)}… (${masked.length} characters)` : masked;
    }
    if (typeof value === 'bigint') return value.toString();
    if (value === null || typeof value !== 'object') return typeof value === 'function' || typeof value === 'symbol' ? undefined : value;
    if (value instanceof Uint8Array) return `<${value.length} bytes>`;
    if (depth >= MAX_DEPTH) return '…';
    if (Array.isArray(value)) {
        const items = value.slice(0, MAX_ITEMS).map((item) => maskSecrets(item, depth + 1));
        return value.length > MAX_ITEMS ? [...items, `… ${value.length - MAX_ITEMS} more`] : items;
    }
    const source: Record<string, unknown> = isPlainObject(value) ? value : {...value};
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(source).slice(0, MAX_ITEMS)) {
        out[key] = SECRET_KEY.test(key) && item !== null && item !== undefined && item !== '' ? MASK : maskSecrets(item, depth + 1);
    }
    return out;
}

/** A message as recorded: not masked, never shown as it is. */
export interface RecordedMessage {
    deviceId: string;
    time: number;
    direction: TrafficDirection;
    message: unknown;
}

/** The entry a page is shown: secrets masked, bounded in length. */
export function summarise(recorded: RecordedMessage): TrafficEntry {
    const json = JSON.stringify(maskSecrets(recorded.message)) ?? 'null';
    const summary = json.length > MAX_SUMMARY_CHARS ? `${json.slice(0, MAX_SUMMARY_CHARS)}… (${json.length} characters)` : json;
    return {deviceId: recorded.deviceId, time: recorded.time, direction: recorded.direction, summary};
}

export class DeviceTraffic {
    private readonly ring: (RecordedMessage | undefined)[];
    /** Where the next entry goes; the oldest entry is there too once the ring is full. */
    private next = 0;
    private readonly maxAgeMs: number;
    private readonly now: () => number;

    constructor(options: TrafficOptions = {}) {
        this.ring = new Array<RecordedMessage | undefined>(options.capacity ?? 3000);
        this.maxAgeMs = options.maxAgeMs ?? 5 * 60_000;
        this.now = options.now ?? Date.now;
    }

    /** Keeps the message (a reference, no copy); `summarise` it before showing it. */
    record(deviceId: string, direction: TrafficDirection, message: unknown): RecordedMessage {
        const recorded: RecordedMessage = {deviceId, time: this.now(), direction, message};
        this.ring[this.next] = recorded;
        this.next = (this.next + 1) % this.ring.length;
        return recorded;
    }

    /** The device's entries of the last minutes, newest first. */
    recent(deviceId: string): TrafficEntry[] {
        const since = this.now() - this.maxAgeMs;
        const out: TrafficEntry[] = [];
        for (let step = 1; step <= this.ring.length; step++) {
            const recorded = this.ring[(this.next - step + this.ring.length) % this.ring.length];
            if (!recorded) continue;
            if (recorded.time < since) break;
            if (recorded.deviceId === deviceId) out.push(summarise(recorded));
        }
        return out;
    }

    /** Forgets a removed device's entries. */
    forget(deviceId: string): void {
        for (let index = 0; index < this.ring.length; index++) if (this.ring[index]?.deviceId === deviceId) this.ring[index] = undefined;
    }
}
