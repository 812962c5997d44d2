import type {PublicDevice} from '../core/device.js';
import type {Extension} from '../core/extension.js';
import {createLogger} from '../util/logger.js';
import type {HaContext} from './context.js';
import {buildDiscovery} from './discovery.js';
import {hasOwnStateTopic} from './state.js';
import type {TopicLayout} from './topics.js';

const log = createLogger('ha:discovery');

/** How long to listen for retained discovery configs at start-up before clearing stale ones. */
const STALE_SCAN_MS = 1500;

/**
 * Devices in and out of Home Assistant: one retained discovery config per device, components a
 * device lost removed the way HA asks, removed devices cleared, and at start-up the retained
 * configs of devices this instance no longer knows cleared too.
 */
export class DeviceDiscovery implements Extension {
    readonly name = 'ha:discovery';
    private readonly unsubscribers: (() => void)[] = [];
    private staleScan: {timer: NodeJS.Timeout; unsubscribe: () => void} | null = null;
    /** Per device, the components (id → platform) in the discovery last published or found retained. */
    private readonly publishedComponents = new Map<string, Map<string, string>>();
    /** Per device, components it no longer has, kept in its discovery as `{"p": …}` so HA removes them. */
    private readonly removedComponents = new Map<string, Map<string, string>>();

    constructor(private readonly context: HaContext) {}

    start(): void {
        const {bus, replay} = this.context;
        this.unsubscribers.push(
            bus.on('device', ({device}) => this.publish(device, false)),
            bus.on('removed', ({deviceId, device}) => this.clearDevice(deviceId, device.features)),
            replay.prepareWith(() => this.scanForStaleDiscovery()),
            replay.add({device: (device) => this.publish(device, true)}),
        );
    }

    stop(): void {
        for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
        // A scan cut short never finishes, so the replay waiting for it never runs on a stopped bridge.
        if (this.staleScan) {
            clearTimeout(this.staleScan.timer);
            this.staleScan.unsubscribe();
            this.staleScan = null;
        }
    }

    private publish(device: PublicDevice, replayed: boolean): void {
        const {queue, topics, names} = this.context;
        const payload = JSON.stringify(buildDiscovery(device, topics, names, this.trackRemovedComponents(device), this.context.deviceUiUrl(device.id)));
        log.debug(`discovery for ${device.id}: ${device.features.length} component(s)`);
        queue.enqueue({topic: topics.discovery(device.id), payload, retain: true, qos: 1}, replayed ? {replay: 'paced'} : {});
    }

    private trackRemovedComponents(device: PublicDevice): Map<string, string> {
        const {queue, topics} = this.context;
        const current = new Map(device.features.map((feature) => [feature.id, feature.kind as string]));
        const removed = this.removedComponents.get(device.id) ?? new Map<string, string>();
        for (const [id, platform] of this.publishedComponents.get(device.id) ?? []) {
            if (current.has(id) || removed.has(id)) continue;
            removed.set(id, platform);
            // A removed light, vacuum or image leaves its own retained topic behind otherwise.
            for (const topic of ownRetainedTopics(topics, device.id, {id, kind: platform})) queue.enqueue({topic, payload: '', retain: true, qos: 1});
        }
        for (const id of current.keys()) removed.delete(id);
        this.publishedComponents.set(device.id, current);
        if (removed.size) this.removedComponents.set(device.id, removed);
        else this.removedComponents.delete(device.id);
        return removed;
    }

    /**
     * Empty retained payloads remove the device from HA and leave nothing behind on the broker: the
     * device's availability and state topics go with its config, whoever published them.
     */
    private clearDevice(deviceId: string, features: {id: string; kind: string}[]): void {
        const {queue, settings, topics} = this.context;
        this.publishedComponents.delete(deviceId);
        this.removedComponents.delete(deviceId);
        queue.forget(`${settings.baseTopic}/${deviceId}/`);
        const cleared = [topics.discovery(deviceId), topics.availability(deviceId), topics.deviceState(deviceId)];
        for (const feature of features) cleared.push(...ownRetainedTopics(topics, deviceId, feature));
        for (const topic of cleared) queue.enqueue({topic, payload: '', retain: true, qos: 1});
        log.info(`removed ${deviceId} from Home Assistant`);
    }

    /**
     * At the first connect, retained configs that this fogbridge instance published for devices no
     * longer in the registry would live on as ghost entities: clear them. Configs of other
     * integrations, and of other fogbridge instances (another base topic), are left alone.
     */
    private scanForStaleDiscovery(): Promise<void> {
        const {connection, registry, topics} = this.context;
        const stale = new Map<string, {id: string; kind: string}[]>();
        const unsubscribe = connection.subscribe(topics.discoveryFilter, (topic, payload, packet) => {
            if (!packet.retain || payload.length === 0) return;
            const deviceId = topics.deviceIdFromDiscovery(topic);
            if (!deviceId) return;
            const features = ownComponents(payload, topics.identifier(deviceId));
            if (!features) return;
            // A known device's retained components tell which ones its next discovery must remove.
            if (registry.has(deviceId)) this.publishedComponents.set(deviceId, new Map(features.map(({id, kind}) => [id, kind])));
            else stale.set(deviceId, features);
        });
        return new Promise((resolve) => {
            const timer = setTimeout(() => {
                this.staleScan = null;
                unsubscribe();
                for (const [deviceId, features] of stale) {
                    log.info(`clearing stale discovery of ${deviceId}, which is no longer in the registry`);
                    this.clearDevice(deviceId, features);
                }
                resolve();
            }, STALE_SCAN_MS);
            timer.unref();
            this.staleScan = {timer, unsubscribe};
        });
    }
}

/**
 * The live components of a retained config that this instance published (origin fogbridge and our
 * own device identifier, which carries the base topic), or null for anyone else's.
 */
function ownComponents(payload: Buffer, identifier: string): {id: string; kind: string}[] | null {
    try {
        const config = JSON.parse(payload.toString()) as {
            o?: {name?: string};
            dev?: {identifiers?: unknown; ids?: unknown};
            cmps?: Record<string, {p?: string; unique_id?: string}>;
        };
        if (config.o?.name !== 'fogbridge') return null;
        const identifiers = config.dev?.identifiers ?? config.dev?.ids;
        const ours = Array.isArray(identifiers) ? identifiers.includes(identifier) : identifiers === identifier;
        if (!ours) return null;
        return Object.entries(config.cmps ?? {})
            .filter(([, component]) => component.unique_id !== undefined)
            .map(([id, component]) => ({id, kind: component.p ?? ''}));
    } catch {
        return null;
    }
}

/** The retained topics a feature has to itself: a vacuum's or light's state, an image's picture. */
function ownRetainedTopics(topics: TopicLayout, deviceId: string, feature: {id: string; kind: string}): string[] {
    if (hasOwnStateTopic(feature)) return [topics.featureState(deviceId, feature.id)];
    if (feature.kind === 'image') return [topics.featureImage(deviceId, feature.id)];
    return [];
}
