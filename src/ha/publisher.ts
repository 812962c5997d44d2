import type {IPublishPacket} from 'mqtt';

import type {Settings} from '../config/schema.js';
import type {EventBus} from '../core/bus.js';
import {type PublicDevice, toPublic} from '../core/device.js';
import {LOG_LEVELS, type LogLevel, createLogger, getLogLevel, setLogLevel} from '../util/logger.js';
import type {DeviceRegistry} from '../core/registry.js';
import type {CommandRouter} from '../core/router.js';
import {decodeCommand} from './commands.js';
import type {HaConnection} from './connection.js';
import {buildBridgeDiscovery, buildDiscovery} from './discovery.js';
import type {OutboundQueue} from './queue.js';
import {hasOwnStateTopic, renderDeviceState, renderFeature} from './state.js';
import {BRIDGE_DEVICE_ID, TopicLayout} from './topics.js';

const log = createLogger('ha:publisher');

/** How long to listen for retained discovery configs at start-up before clearing stale ones. */
const STALE_SCAN_MS = 1500;

export interface HaPublisherOptions {
    settings: Settings['ha'];
    registry: DeviceRegistry;
    bus: EventBus;
    router: CommandRouter;
    connection: HaConnection;
    queue: OutboundQueue;
}

/**
 * The Home Assistant side: turns registry changes into discovery, availability and state, turns
 * command topics into routed commands, and makes HA converge after every reconnect and every HA
 * restart (birth message).
 */
export class HaPublisher {
    readonly topics: TopicLayout;
    private readonly unsubscribers: (() => void)[] = [];
    private birthTimer: NodeJS.Timeout | null = null;
    private staleScanTimer: NodeJS.Timeout | null = null;
    private staleScanDone = false;
    /** Per device, the components (id → platform) in the discovery last published or found retained. */
    private readonly publishedComponents = new Map<string, Map<string, string>>();
    /** Per device, components it no longer has, kept in its discovery as `{"p": …}` so HA removes them. */
    private readonly removedComponents = new Map<string, Map<string, string>>();

    constructor(private readonly options: HaPublisherOptions) {
        this.topics = new TopicLayout(options.settings.baseTopic, options.settings.discoveryPrefix);
    }

    start(): void {
        const {bus, connection, queue, settings} = this.options;
        this.unsubscribers.push(
            bus.on('device', ({device}) => {
                this.publishDevice(device, false);
                this.publishDeviceList(false);
            }),
            bus.on('state', ({deviceId, state}) => {
                const device = this.options.registry.get(deviceId);
                if (device) this.publishState(toPublic({...device, state}), false);
            }),
            bus.on('link', ({deviceId, link}) => {
                this.publishAvailability(deviceId, link.online, false);
                // The device list carries `online` too; coalescing keeps a flapping device cheap.
                this.publishDeviceList(false);
            }),
            bus.on('removed', ({deviceId, device}) => this.clearDevice(deviceId, device.features)),
            bus.on('event', ({deviceId, featureId, eventType, attributes}) => {
                const payload = JSON.stringify({...attributes, event_type: eventType});
                queue.enqueue({topic: this.topics.featureEvent(deviceId, featureId), payload, retain: false, qos: 1}, {deviceId, coalesce: false});
            }),
        );
        for (const filter of this.topics.commandFilters) connection.subscribe(filter, (topic, payload, packet) => this.onCommand(topic, payload, packet));
        connection.subscribe(settings.birthTopic, (_topic, payload) => this.onBirth(payload.toString()));
        connection.onConnect(() => {
            queue.setReady(true);
            if (this.staleScanDone) this.publishAll();
            else this.scanForStaleDiscovery();
        });
        connection.onDisconnect(() => queue.setReady(false));
    }

    stop(): void {
        for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
        if (this.birthTimer) clearTimeout(this.birthTimer);
        if (this.staleScanTimer) clearTimeout(this.staleScanTimer);
        this.birthTimer = null;
        this.staleScanTimer = null;
    }

    /** Discovery, availability and state of every device, paced as a bulk replay. */
    publishAll(): void {
        const devices = this.options.registry.list();
        log.info(`publishing discovery, availability and state for ${devices.length} device(s)`);
        // The bridge's own availability belongs to "everything" too: a retained copy cleared by hand
        // (or lost with a broker's store) would otherwise leave every entity unavailable.
        this.options.queue.enqueue({topic: this.topics.bridgeState, payload: 'online', retain: true, qos: 1}, {bulk: true});
        this.publishBridge();
        for (const device of devices) this.publishDevice(toPublic(device), true);
        this.publishDeviceList(true);
    }

    private publishBridge(): void {
        const {queue} = this.options;
        queue.enqueue({topic: this.topics.bridgeDiscovery, payload: JSON.stringify(buildBridgeDiscovery(this.topics)), retain: true, qos: 1}, {bulk: true});
        queue.enqueue({topic: this.topics.bridgeLogLevel, payload: getLogLevel(), retain: true, qos: 1}, {bulk: true});
    }

    private onBridgeCommand(featureId: string, payload: string): void {
        if (featureId !== 'log_level' || !(LOG_LEVELS as readonly string[]).includes(payload)) {
            log.warn(`bridge command refused: "${payload.slice(0, 20)}" on ${featureId} (the bridge takes a log level: ${LOG_LEVELS.join(', ')})`);
            return;
        }
        setLogLevel(payload as LogLevel);
        log.info(`log level set to ${payload} from Home Assistant`);
        this.options.queue.enqueue({topic: this.topics.bridgeLogLevel, payload, retain: true, qos: 1});
    }

    private publishDevice(device: PublicDevice, bulk: boolean): void {
        const payload = JSON.stringify(buildDiscovery(device, this.topics, this.trackRemovedComponents(device)));
        log.debug(`discovery for ${device.id}: ${device.features.length} component(s)`);
        this.options.queue.enqueue({topic: this.topics.discovery(device.id), payload, retain: true, qos: 1}, {bulk});
        this.publishAvailability(device.id, device.link.online, bulk);
        this.publishState(device, bulk);
    }

    private trackRemovedComponents(device: PublicDevice): Map<string, string> {
        const current = new Map(device.features.map((feature) => [feature.id, feature.kind as string]));
        const removed = this.removedComponents.get(device.id) ?? new Map<string, string>();
        for (const [id, platform] of this.publishedComponents.get(device.id) ?? []) {
            if (current.has(id) || removed.has(id)) continue;
            removed.set(id, platform);
            // A removed light or vacuum leaves its own retained state topic behind otherwise.
            if (hasOwnStateTopic({kind: platform})) {
                this.options.queue.enqueue({topic: this.topics.featureState(device.id, id), payload: '', retain: true, qos: 1});
            }
        }
        for (const id of current.keys()) removed.delete(id);
        this.publishedComponents.set(device.id, current);
        if (removed.size) this.removedComponents.set(device.id, removed);
        else this.removedComponents.delete(device.id);
        return removed;
    }

    private publishAvailability(deviceId: string, online: boolean, bulk: boolean): void {
        this.options.queue.enqueue({topic: this.topics.availability(deviceId), payload: online ? 'online' : 'offline', retain: true, qos: 1}, {bulk});
    }

    private publishState(device: PublicDevice, bulk: boolean): void {
        const {queue} = this.options;
        const deviceId = device.id;
        const throttle = bulk ? {bulk} : {deviceId};
        queue.enqueue({topic: this.topics.deviceState(deviceId), payload: JSON.stringify(renderDeviceState(device, device.state)), retain: true, qos: 1}, throttle);
        for (const feature of device.features) {
            if (!hasOwnStateTopic(feature)) continue;
            const payload = JSON.stringify(renderFeature(feature, device.state[feature.id] ?? null));
            queue.enqueue({topic: this.topics.featureState(deviceId, feature.id), payload, retain: true, qos: 1}, throttle);
        }
    }

    private publishDeviceList(bulk: boolean): void {
        const list = this.options.registry.list().map((device) => ({
            id: device.id,
            family: device.family,
            ...device.facts,
            online: device.link.online,
            features: device.features.map((feature) => ({id: feature.id, kind: feature.kind})),
        }));
        this.options.queue.enqueue({topic: this.topics.bridgeDevices, payload: JSON.stringify(list), retain: true, qos: 1}, {bulk});
    }

    /** Empty retained payloads remove the device from HA and leave nothing behind on the broker. */
    private clearDevice(deviceId: string, features: {id: string; kind: string}[]): void {
        const {queue} = this.options;
        this.publishedComponents.delete(deviceId);
        this.removedComponents.delete(deviceId);
        queue.forget(`${this.options.settings.baseTopic}/${deviceId}/`);
        const topics = [this.topics.discovery(deviceId), this.topics.availability(deviceId), this.topics.deviceState(deviceId)];
        for (const feature of features) {
            if (hasOwnStateTopic(feature)) topics.push(this.topics.featureState(deviceId, feature.id));
        }
        for (const topic of topics) queue.enqueue({topic, payload: '', retain: true, qos: 1});
        log.info(`removed ${deviceId} from Home Assistant`);
        this.publishDeviceList(false);
    }

    /**
     * At the first connect, retained configs that this fogbridge instance published for devices no
     * longer in the registry would live on as ghost entities: clear them. Configs of other
     * integrations, and of other fogbridge instances (another base topic), are left alone.
     */
    private scanForStaleDiscovery(): void {
        if (this.staleScanTimer) return; // a reconnect during the scan: the running scan continues
        const {connection} = this.options;
        const filter = this.topics.discoveryFilter;
        const stale = new Map<string, {id: string; kind: string}[]>();
        connection.subscribe(filter, (topic, payload, packet) => {
            if (!packet.retain || payload.length === 0) return;
            const deviceId = this.topics.deviceIdFromDiscovery(topic);
            if (!deviceId) return;
            const features = ownComponents(payload, this.topics.identifier(deviceId));
            if (!features) return;
            // A known device's retained components tell which ones its next discovery must remove.
            if (this.options.registry.has(deviceId)) this.publishedComponents.set(deviceId, new Map(features.map(({id, kind}) => [id, kind])));
            else stale.set(deviceId, features);
        });
        this.staleScanTimer = setTimeout(() => {
            this.staleScanTimer = null;
            connection.unsubscribe(filter);
            this.staleScanDone = true;
            for (const [deviceId, features] of stale) {
                log.info(`clearing stale discovery of ${deviceId}, which is no longer in the registry`);
                this.clearDevice(deviceId, features);
            }
            this.publishAll();
        }, STALE_SCAN_MS);
        this.staleScanTimer.unref();
    }

    private onBirth(payload: string): void {
        if (payload !== 'online') return;
        const {birthDelayMinMs, birthDelayMaxMs} = this.options.settings;
        const delay = birthDelayMinMs + Math.random() * (birthDelayMaxMs - birthDelayMinMs);
        log.info(`Home Assistant is online; re-publishing in ${Math.round(delay)} ms`);
        if (this.birthTimer) clearTimeout(this.birthTimer);
        this.birthTimer = setTimeout(() => {
            this.birthTimer = null;
            this.publishAll();
        }, delay);
        this.birthTimer.unref();
    }

    private onCommand(topic: string, payload: Buffer, packet: IPublishPacket): void {
        if (packet.retain) {
            log.warn(`ignoring retained message on command topic ${topic}: commands are never retained`);
            return;
        }
        const target = this.topics.parseCommand(topic);
        if (!target) return;
        if (target.deviceId === BRIDGE_DEVICE_ID) return this.onBridgeCommand(target.featureId, payload.toString());
        const {deviceId, featureId, attribute} = target;
        // The router logs every refusal and failure with its reason; nothing is left to do here.
        this.options.router.decodeAndRoute(deviceId, featureId, (feature) => decodeCommand(feature, attribute, payload)).catch(() => undefined);
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
