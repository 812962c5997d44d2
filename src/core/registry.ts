import {mkdir, readFile, rm, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {isDeepStrictEqual} from 'node:util';

import {readJsonWithBackup, writeFileAtomic} from '../util/atomic-file.js';
import type {EventBus} from './bus.js';
import {
    type Device,
    type DeviceFacts,
    type DeviceState,
    type Family,
    type Feature,
    FEATURE_KINDS,
    type LinkHealth,
    isValidDeviceId,
    isValidFeatureId,
    newLinkHealth,
    toPublic,
} from './device.js';
import {createLogger, registerSecret} from '../util/logger.js';

const log = createLogger('core:registry');

const REGISTRY_VERSION = 1;
/** After a failed write (disk full, read-only mount), try again this often rather than at the next change. */
const SAVE_RETRY_MS = 5000;

/**
 * Every write is the whole document, so writes are batched: a storm of 10,000 new devices costs a
 * few dozen writes, not 10,000, and a heartbeat costs none.
 */
const DEFAULT_SAVE_DELAYS = {
    /** New, changed or removed devices, secrets, extras: lost work if the process dies, so soon. */
    structural: 500,
    /** Feature state: the device reports it again anyway. */
    state: 2000,
    /** Last seen, packet counters, last error: only shown, never needed to work, so rarely. */
    link: 60_000,
};

export interface DeviceDescription {
    id: string;
    family: Family;
    facts: DeviceFacts;
    features: Feature[];
}

export interface RegistryOptions {
    file: string;
    bus: EventBus;
    /** How long a new device, a secret or an extra may wait before it is written. */
    structuralSaveDelayMs?: number;
    /** How long state changes may wait before they are written. */
    stateSaveDelayMs?: number;
    /** How long last-seen times, counters and link errors may wait before they are written. */
    linkSaveDelayMs?: number;
}

/** The registry's file in a data directory. */
export function registryFile(dataDir: string): string {
    return path.join(dataDir, 'registry.json');
}

export class RegistryCorruptError extends Error {}
export class RegistryLockedError extends Error {}

/**
 * The device registry: the one place that holds every device, persisted atomically in the data
 * directory. Adapters write to it; it announces every change on the bus.
 */
export class DeviceRegistry {
    private readonly devices = new Map<string, Device>();
    private readonly familyCounts = new Map<Family, number>();
    private readonly file: string;
    private readonly bus: EventBus;
    private readonly delays: {structural: number; state: number; link: number};
    private saveTimer: NodeJS.Timeout | null = null;
    private saveDue = 0;
    private saving: Promise<void> | null = null;
    /** The shortest delay asked for while a write ran: the next write follows within it. */
    private delayWantedWhileSaving: number | null = null;
    private dirty = false;
    private closed = false;
    /** The file on disk is a complete document (loaded as is, or written by us): it may become the backup unchecked. */
    private fileKnownValid = false;

    constructor(options: RegistryOptions) {
        this.file = options.file;
        this.bus = options.bus;
        this.delays = {
            structural: options.structuralSaveDelayMs ?? DEFAULT_SAVE_DELAYS.structural,
            state: options.stateSaveDelayMs ?? DEFAULT_SAVE_DELAYS.state,
            link: options.linkSaveDelayMs ?? DEFAULT_SAVE_DELAYS.link,
        };
    }

    /**
     * Loads the registry. A file cut short or corrupted is reported and the last good copy used;
     * if there is none, start-up fails with the reason rather than silently forgetting devices.
     */
    async load(): Promise<void> {
        await this.lock();
        const result = await readJsonWithBackup(this.file, parseRegistry).catch(async (error: unknown) => {
            await this.unlock();
            throw error;
        });
        switch (result.status) {
            case 'missing':
                log.info(`no registry at ${this.file} yet: starting empty`);
                return;
            case 'corrupt':
                await this.unlock();
                throw new RegistryCorruptError(
                    `the device registry is unreadable and no good backup exists: ${result.error}. Move it aside to start with an empty registry.`,
                );
            case 'recovered':
                log.error(`the device registry is damaged (${result.error}); using the last good copy ${result.source}`);
                break;
            case 'ok':
                this.fileKnownValid = result.source === this.file;
                break;
        }
        for (const device of result.value) {
            // Nobody is connected to a process that just started: link health starts offline.
            device.link.online = false;
            for (const secret of Object.values(device.secrets)) registerSecret(secret);
            if (!this.devices.has(device.id)) this.countFamily(device.family, 1);
            this.devices.set(device.id, device);
        }
        log.info(`loaded ${this.devices.size} device(s) from ${result.source}`);
        if (result.status === 'recovered') this.scheduleSave(0);
    }

    get(id: string): Device | undefined {
        return this.devices.get(id);
    }

    has(id: string): boolean {
        return this.devices.has(id);
    }

    /** Every device (of a family): a copy of the whole fleet, so never on a per-packet path. */
    list(family?: Family): Device[] {
        const all = [...this.devices.values()];
        return family ? all.filter((device) => device.family === family) : all;
    }

    /** How many devices (of a family) there are, without looking at them. */
    count(family?: Family): number {
        return family ? (this.familyCounts.get(family) ?? 0) : this.devices.size;
    }

    /** The devices in insertion order, for a walk that must not copy the fleet. */
    ids(): IterableIterator<string> {
        return this.devices.keys();
    }

    /** Adds a device or updates its facts and features; announces it only when something changed. */
    upsert(description: DeviceDescription): Device {
        validateDescription(description);
        const existing = this.devices.get(description.id);
        if (existing) {
            const facts = existing.namedByUser ? {...description.facts, name: existing.facts.name} : description.facts;
            if (isDeepStrictEqual(existing.facts, facts) && isDeepStrictEqual(existing.features, description.features)) {
                return existing;
            }
            existing.facts = structuredClone(facts);
            existing.features = structuredClone(description.features);
            const kept = new Set(existing.features.map((feature) => feature.id));
            for (const key of Object.keys(existing.state)) if (!kept.has(key)) delete existing.state[key];
            this.bus.emit('device', {device: toPublic(existing)});
            this.scheduleSave(this.delays.structural);
            return existing;
        }
        const device: Device = {
            ...structuredClone(description),
            link: newLinkHealth(),
            state: {},
            extra: {},
            secrets: {},
        };
        this.devices.set(device.id, device);
        this.countFamily(device.family, 1);
        log.info(`new device ${device.id} (${device.facts.manufacturer} ${device.facts.model})`);
        this.bus.emit('device', {device: toPublic(device)});
        this.scheduleSave(this.delays.structural);
        return device;
    }

    /** The user's name for the device; the adapter's descriptions no longer change it. */
    rename(id: string, name: string): void {
        const device = this.require(id);
        if (device.namedByUser && device.facts.name === name) return;
        device.namedByUser = true;
        device.facts.name = name;
        this.bus.emit('device', {device: toPublic(device)});
        this.scheduleSave(0);
    }

    /** Merges feature values into the state; unknown feature ids are refused so typos cannot hide. */
    updateState(id: string, patch: DeviceState): void {
        const device = this.require(id);
        const known = new Set(device.features.map((feature) => feature.id));
        const changed: string[] = [];
        for (const [key, value] of Object.entries(patch)) {
            if (!known.has(key)) {
                log.warn(`${id}: state for unknown feature "${key}" ignored`);
                continue;
            }
            if (!isDeepStrictEqual(device.state[key], value)) {
                device.state[key] = structuredClone(value);
                changed.push(key);
            }
        }
        if (changed.length === 0) return;
        this.bus.emit('state', {deviceId: id, state: structuredClone(device.state), changed});
        this.scheduleSave(this.delays.state);
    }

    /** A packet arrived from the device: it is online and seen now. */
    markSeen(id: string): void {
        const device = this.require(id);
        device.link.lastSeen = Date.now();
        device.link.packetsIn++;
        if (!device.link.online) this.updateLink(id, {online: true, lastError: null});
        else this.scheduleSave(this.delays.link);
    }

    countSent(id: string): void {
        const device = this.devices.get(id);
        if (device) device.link.packetsOut++;
    }

    /**
     * A message a family decoded from the device (`in`) or is sending it (`out`), as the family
     * reads it, for the web UI's recent messages. Nothing is kept here: whoever listens keeps it,
     * masked. Ignored for a device the registry does not know.
     */
    noteTraffic(id: string, direction: 'in' | 'out', message: unknown): void {
        if (this.devices.has(id)) this.bus.emit('traffic', {deviceId: id, direction, message});
    }

    /** Counts a rejected packet and keeps its reason as the device's last error. */
    countBadPacket(id: string, reason: string): void {
        const device = this.devices.get(id);
        if (!device) return;
        device.link.badPackets++;
        device.link.lastError = reason;
        this.scheduleSave(this.delays.link);
    }

    countTimeout(id: string, reason: string): void {
        const device = this.devices.get(id);
        if (!device) return;
        device.link.timeouts++;
        device.link.lastError = reason;
        this.scheduleSave(this.delays.link);
    }

    /** Announces only changes of `online` or `lastError`: counters change too often to be news. */
    updateLink(id: string, patch: Partial<LinkHealth>): void {
        const device = this.require(id);
        const before = {online: device.link.online, lastError: device.link.lastError};
        Object.assign(device.link, patch);
        if (before.online !== device.link.online || before.lastError !== device.link.lastError) {
            this.bus.emit('link', {deviceId: id, link: {...device.link}});
        }
        this.scheduleSave(this.delays.link);
    }

    setExtra(id: string, key: string, value: unknown): void {
        const device = this.require(id);
        if (isDeepStrictEqual(device.extra[key], value)) return;
        device.extra[key] = structuredClone(value);
        this.scheduleSave(this.delays.structural);
    }

    setSecret(id: string, key: string, value: string): void {
        const device = this.require(id);
        registerSecret(value);
        if (device.secrets[key] === value) return;
        device.secrets[key] = value;
        this.scheduleSave(this.delays.structural);
    }

    emitEvent(id: string, featureId: string, eventType: string, attributes: Record<string, unknown> = {}): void {
        const device = this.require(id);
        const feature = device.features.find((candidate) => candidate.id === featureId);
        if (!feature || feature.kind !== 'event') throw new Error(`${id} has no event feature "${featureId}"`);
        this.bus.emit('event', {deviceId: id, featureId, eventType, attributes});
    }

    remove(id: string): boolean {
        const device = this.devices.get(id);
        if (!device) return false;
        this.devices.delete(id);
        this.countFamily(device.family, -1);
        log.info(`removed device ${id}`);
        this.bus.emit('removed', {deviceId: id, device: toPublic(device)});
        this.scheduleSave(this.delays.structural);
        return true;
    }

    /** Writes pending changes now. */
    async flush(): Promise<void> {
        if (this.saveTimer) {
            clearTimeout(this.saveTimer);
            this.saveTimer = null;
        }
        if (this.dirty || this.saving) await this.save();
    }

    /** Writes what is pending and releases the lock; later changes are no longer saved. */
    async close(): Promise<void> {
        this.closed = true;
        try {
            await this.flush();
        } finally {
            // Even when the last write fails, the next start must not find the registry locked by us.
            await this.unlock();
        }
    }

    private async unlock(): Promise<void> {
        await rm(this.lockFile, {force: true});
    }

    private get lockFile(): string {
        return `${this.file}.lock`;
    }

    /**
     * One writer per registry: a second process (a CLI command while the bridge runs) would
     * overwrite the other's changes at its next save. A lock left by a dead process is taken over.
     */
    private async lock(): Promise<void> {
        // Every command that writes the registry may be the first to use a data directory.
        await mkdir(path.dirname(this.file), {recursive: true, mode: 0o700});
        for (let attempt = 0; attempt < 2; attempt++) {
            try {
                await writeFile(this.lockFile, `${process.pid}\n`, {flag: 'wx', mode: 0o600});
                return;
            } catch (error) {
                if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
            }
            const owner = Number.parseInt(await readFile(this.lockFile, 'utf8').catch(() => ''), 10);
            if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
                throw new RegistryLockedError(
                    `${this.file} is in use by fogbridge process ${owner}; stop it first (if no fogbridge runs, delete ${this.lockFile})`,
                );
            }
            log.warn(`taking over the registry lock left by process ${owner || 'unknown'}, which is gone`);
            await rm(this.lockFile, {force: true});
        }
        throw new RegistryLockedError(`could not lock ${this.file}`);
    }

    private require(id: string): Device {
        const device = this.devices.get(id);
        if (!device) throw new Error(`unknown device ${id}`);
        return device;
    }

    private countFamily(family: Family, delta: number): void {
        this.familyCounts.set(family, (this.familyCounts.get(family) ?? 0) + delta);
    }

    /** A write within `delayMs`; a pending write due sooner already covers it. */
    private scheduleSave(delayMs: number): void {
        this.dirty = true;
        if (this.closed) return;
        if (this.saving) {
            this.delayWantedWhileSaving = Math.min(this.delayWantedWhileSaving ?? delayMs, delayMs);
            return;
        }
        const due = Date.now() + delayMs;
        if (this.saveTimer) {
            if (this.saveDue <= due) return;
            clearTimeout(this.saveTimer);
        }
        this.saveDue = due;
        this.saveTimer = setTimeout(() => {
            this.saveTimer = null;
            this.save().catch((error: Error) => {
                log.limited('error', 'registry-save', `could not write ${this.file}: ${error.message}; retrying every ${SAVE_RETRY_MS / 1000} s`);
                this.scheduleSave(SAVE_RETRY_MS);
            });
        }, delayMs);
        this.saveTimer.unref();
    }

    private async save(): Promise<void> {
        // Another write's failure is reported by its own caller; this one still writes.
        while (this.saving) await this.saving.catch(() => undefined);
        // Compact: at 10,000 devices indentation alone is megabytes to write and parse.
        const document = JSON.stringify({version: REGISTRY_VERSION, devices: [...this.devices.values()]});
        this.delayWantedWhileSaving = null;
        this.dirty = false;
        this.saving = writeFileAtomic(this.file, document, {currentIsValid: this.fileKnownValid});
        try {
            await this.saving;
            this.fileKnownValid = true;
        } catch (error) {
            // Nothing reached the disk: the changes are still to be written.
            this.dirty = true;
            throw error;
        } finally {
            this.saving = null;
        }
        const wanted = this.delayWantedWhileSaving;
        this.delayWantedWhileSaving = null;
        if (wanted !== null && !this.closed) this.scheduleSave(wanted);
    }
}

function validateDescription(description: DeviceDescription): void {
    if (!isValidDeviceId(description.id)) throw new Error(`invalid device id "${description.id}"`);
    const seen = new Set<string>();
    for (const feature of description.features) {
        if (!isValidFeatureId(feature.id)) throw new Error(`${description.id}: invalid feature id "${feature.id}"`);
        if (!FEATURE_KINDS.includes(feature.kind)) throw new Error(`${description.id}: unknown feature kind "${String(feature.kind)}"`);
        if (seen.has(feature.id)) throw new Error(`${description.id}: duplicate feature id "${feature.id}"`);
        seen.add(feature.id);
    }
}

/** Checks a parsed registry document (also used by the CLI, which reads the file without locking it). */
export function parseRegistry(value: unknown): Device[] {
    if (typeof value !== 'object' || value === null) throw new Error('not a JSON object');
    const document = value as {version?: unknown; devices?: unknown};
    if (document.version !== REGISTRY_VERSION) throw new Error(`unsupported registry version ${String(document.version)}`);
    if (!Array.isArray(document.devices)) throw new Error('"devices" is not a list');
    return document.devices.map((entry: unknown, index) => {
        const device = entry as Partial<Device>;
        if (typeof device?.id !== 'string' || !isValidDeviceId(device.id)) throw new Error(`device #${index} has no valid id`);
        for (const key of ['facts', 'link', 'state', 'extra', 'secrets'] as const) {
            if (typeof device[key] !== 'object' || device[key] === null) throw new Error(`device ${device.id} has no "${key}" object`);
        }
        if (!Array.isArray(device.features)) throw new Error(`device ${device.id} has no feature list`);
        return {...device, features: device.features.map(withNameObject), link: {...newLinkHealth(), ...device.link}} as Device;
    });
}

/**
 * Registries written before entity names were translated hold each name as a plain string: kept
 * as the device's own text until its family describes the device again with a translation key.
 */
function withNameObject(feature: Feature): Feature {
    const name: unknown = feature.name;
    return typeof name === 'string' ? {...feature, name: {text: name}} : feature;
}

function isAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (error) {
        return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
}
