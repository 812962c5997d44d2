/**
 * The latest picture of every image feature (a vacuum's map), in memory only: PNG bytes are too
 * large and too short-lived for the registry file, and a restart only waits for the next one. The
 * families put pictures here; the consumers hear of them on the bus (`image`) and read them back
 * when they replay (HA's retained topic) or serve them (the web UI).
 */
import type {EventBus} from './bus.js';
import type {DeviceRegistry} from './registry.js';

/** A rendered vacuum map is a few hundred KiB; anything larger is a bug, not a picture. */
export const MAX_IMAGE_BYTES = 4 * 1024 * 1024;

export interface StoredImage {
    png: Buffer;
    /** ms since epoch: the consumers' cache-busting version. */
    updatedAt: number;
}

export class DeviceImages {
    private readonly images = new Map<string, StoredImage>();
    private readonly unsubscribers: (() => void)[];

    constructor(
        private readonly registry: DeviceRegistry,
        private readonly bus: EventBus,
        private readonly now: () => number = Date.now,
    ) {
        // Memory follows the devices: a removed device or a dropped image feature frees its picture.
        this.unsubscribers = [
            bus.on('removed', ({deviceId}) => this.forget(deviceId, () => true)),
            bus.on('device', ({device}) => this.forget(device.id, (featureId) => !device.features.some((feature) => feature.id === featureId && feature.kind === 'image'))),
        ];
    }

    /** Keeps `png` as the picture of the device's image feature and announces it. */
    publish(deviceId: string, featureId: string, png: Buffer): void {
        const feature = this.registry.get(deviceId)?.features.find((candidate) => candidate.id === featureId);
        if (feature?.kind !== 'image') throw new Error(`${deviceId} has no image feature "${featureId}"`);
        if (png.length > MAX_IMAGE_BYTES) throw new Error(`${deviceId}/${featureId}: an image of ${png.length} bytes is larger than ${MAX_IMAGE_BYTES}`);
        const image = {png, updatedAt: this.now()};
        this.images.set(key(deviceId, featureId), image);
        this.bus.emit('image', {deviceId, featureId, ...image});
    }

    get(deviceId: string, featureId: string): StoredImage | undefined {
        return this.images.get(key(deviceId, featureId));
    }

    close(): void {
        for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
        this.images.clear();
    }

    private forget(deviceId: string, dropped: (featureId: string) => boolean): void {
        const prefix = key(deviceId, '');
        for (const stored of this.images.keys()) if (stored.startsWith(prefix) && dropped(stored.slice(prefix.length))) this.images.delete(stored);
    }
}

/** Device ids never contain a slash. */
function key(deviceId: string, featureId: string): string {
    return `${deviceId}/${featureId}`;
}
