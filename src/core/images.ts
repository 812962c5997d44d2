/**
 * The latest picture of every image feature (a vacuum's map): in memory for the consumers, and, when
 * given a directory, one PNG file per feature there, so that Home Assistant (the retained image
 * topic, at the replay) and the web UI show the map again at once after a restart instead of waiting
 * for the robot's next one. Pictures never go through the registry file: they are large and change
 * every few seconds while a robot cleans. The families put pictures here; the consumers hear of them
 * on the bus (`image`) and read them back when they replay or serve them.
 */
import {promises as fs} from 'node:fs';
import path from 'node:path';

import {replaceFile} from '../util/atomic-file.js';
import {createLogger} from '../util/logger.js';
import {Pacer} from '../util/pacer.js';
import type {EventBus} from './bus.js';
import {isValidDeviceId, isValidFeatureId} from './device.js';
import type {DeviceRegistry} from './registry.js';

/** A rendered vacuum map is a few hundred KiB; anything larger is a bug, not a picture. */
export const MAX_IMAGE_BYTES = 4 * 1024 * 1024;
/** A cleaning robot's map changes every few seconds; the file follows at this pace (and at close). */
export const IMAGE_SAVE_INTERVAL_MS = 60_000;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const log = createLogger('images');

export interface StoredImage {
    png: Buffer;
    /** ms since epoch: the consumers' cache-busting version. */
    updatedAt: number;
}

export interface DeviceImagesOptions {
    /** Where the pictures are kept across restarts (`<dataDir>/images`); none: memory only. */
    directory?: string;
    now?: () => number;
}

/** `<deviceId>.<featureId>.png`: device ids have no dot, so the name splits back unambiguously. */
const IMAGE_FILE = /^([^.]+)\.([^.]+)\.png$/;

export function imagesDirectory(dataDir: string): string {
    return path.join(dataDir, 'images');
}

export class DeviceImages {
    /** By device, then feature: a device's change looks at that device's pictures only. */
    private readonly images = new Map<string, Map<string, StoredImage>>();
    private readonly unsubscribers: (() => void)[];
    private readonly now: () => number;
    private readonly saver: Pacer<string> | null;
    /** Pictures newer than their file, by `key()`: written at the saver's next run, or at close. */
    private readonly unsaved = new Map<string, {deviceId: string; featureId: string}>();
    /** File operations one after the other: a removal never races a write of the same file. */
    private fileWork: Promise<void> = Promise.resolve();

    constructor(
        private readonly registry: DeviceRegistry,
        private readonly bus: EventBus,
        private readonly options: DeviceImagesOptions = {},
    ) {
        this.now = options.now ?? Date.now;
        this.saver = options.directory ? new Pacer({intervalMs: IMAGE_SAVE_INTERVAL_MS, run: (stored) => this.save(stored), now: this.now}) : null;
        // Memory and files follow the devices: a removed device or a dropped image feature frees its picture.
        this.unsubscribers = [
            bus.on('removed', ({deviceId}) => this.forget(deviceId, () => true)),
            bus.on('device', ({device}) => this.forget(device.id, (featureId) => !device.features.some((feature) => feature.id === featureId && feature.kind === 'image'))),
        ];
    }

    /**
     * The pictures kept by the last run, for the devices the registry still has with that image
     * feature; the files of others are removed (a device removed while the bridge was stopped).
     */
    async load(): Promise<void> {
        const {directory} = this.options;
        if (!directory) return;
        await fs.mkdir(directory, {recursive: true, mode: 0o700});
        for (const name of await fs.readdir(directory)) {
            const parts = IMAGE_FILE.exec(name);
            if (!parts) continue;
            const [deviceId, featureId] = [parts[1]!, parts[2]!];
            const file = path.join(directory, name);
            if (!isValidDeviceId(deviceId) || !isValidFeatureId(featureId) || !this.hasImageFeature(deviceId, featureId)) {
                await fs.rm(file, {force: true});
                continue;
            }
            try {
                const info = await fs.stat(file);
                if (info.size > MAX_IMAGE_BYTES) throw new Error(`${info.size} bytes is larger than ${MAX_IMAGE_BYTES}`);
                const png = await fs.readFile(file);
                if (!png.subarray(0, PNG_SIGNATURE.length).equals(PNG_SIGNATURE)) throw new Error('not a PNG');
                this.keep(deviceId, featureId, {png, updatedAt: info.mtimeMs});
            } catch (error) {
                log.warn(`${deviceId}/${featureId}: the kept picture is not used (${(error as Error).message}); the next one replaces it`);
            }
        }
    }

    /** Keeps `png` as the picture of the device's image feature and announces it. */
    publish(deviceId: string, featureId: string, png: Buffer): void {
        if (!this.hasImageFeature(deviceId, featureId)) throw new Error(`${deviceId} has no image feature "${featureId}"`);
        if (png.length > MAX_IMAGE_BYTES) throw new Error(`${deviceId}/${featureId}: an image of ${png.length} bytes is larger than ${MAX_IMAGE_BYTES}`);
        const image = {png, updatedAt: this.now()};
        this.keep(deviceId, featureId, image);
        this.bus.emit('image', {deviceId, featureId, ...image});
        if (this.saver) {
            const stored = key(deviceId, featureId);
            this.unsaved.set(stored, {deviceId, featureId});
            this.saver.poke(stored);
        }
    }

    get(deviceId: string, featureId: string): StoredImage | undefined {
        return this.images.get(deviceId)?.get(featureId);
    }

    /** Writes the pictures newer than their files, then forgets everything. */
    async close(): Promise<void> {
        for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
        this.saver?.stop();
        for (const stored of [...this.unsaved.keys()]) this.save(stored);
        await this.fileWork;
        this.images.clear();
    }

    private hasImageFeature(deviceId: string, featureId: string): boolean {
        return this.registry.get(deviceId)?.features.some((feature) => feature.id === featureId && feature.kind === 'image') ?? false;
    }

    private keep(deviceId: string, featureId: string, image: StoredImage): void {
        let features = this.images.get(deviceId);
        if (!features) {
            features = new Map();
            this.images.set(deviceId, features);
        }
        features.set(featureId, image);
    }

    private save(stored: string): void {
        const ids = this.unsaved.get(stored);
        const image = ids && this.get(ids.deviceId, ids.featureId);
        this.unsaved.delete(stored);
        if (!ids || !image) return;
        const file = this.fileOf(ids.deviceId, ids.featureId);
        this.queueFileWork(`saving ${stored}`, () => replaceFile(file, image.png, 0o600));
    }

    private forget(deviceId: string, dropped: (featureId: string) => boolean): void {
        const features = this.images.get(deviceId);
        if (!features) return;
        for (const featureId of [...features.keys()]) {
            if (!dropped(featureId)) continue;
            features.delete(featureId);
            const stored = key(deviceId, featureId);
            this.unsaved.delete(stored);
            this.saver?.forget(stored);
            if (this.options.directory) {
                const file = this.fileOf(deviceId, featureId);
                this.queueFileWork(`removing ${stored}`, () => fs.rm(file, {force: true}));
            }
        }
        if (features.size === 0) this.images.delete(deviceId);
    }

    private fileOf(deviceId: string, featureId: string): string {
        return path.join(this.options.directory!, `${deviceId}.${featureId}.png`);
    }

    private queueFileWork(what: string, work: () => Promise<void>): void {
        // A full disk costs the picture after a restart, never the running map: one line, no throw.
        this.fileWork = this.fileWork.then(work).catch((error: unknown) => log.limited('warn', `image-file:${what}`, `${what}: ${(error as Error).message}`));
    }
}

/** The pacer's key for one picture; device ids never contain a slash. */
function key(deviceId: string, featureId: string): string {
    return `${deviceId}/${featureId}`;
}
