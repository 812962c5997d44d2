/**
 * A fake Home Assistant discovery consumer: feed it every message the bridge publishes under the
 * discovery prefix and it keeps the entity set HA would end up with, modelled on HA's MQTT discovery
 * (topic match, device payloads split into components keyed by (platform, discovery id), removal by
 * empty payload or by a component reduced to `{"platform": ...}`, unchanged payloads ignored).
 * Where HA would only log, it records an error instead, so tests can assert there were none.
 */
import {analyseDiscoveryMessage, parseDiscoveryTopic, type DiscoveredComponent, type DiscoveredDevice} from './discovery-validator.js';

export interface HaEntity {
    platform: string;
    uniqueId: string;
    /** HA's discovery id: `<device object id> <component key>`, or `[<node id> ]<object id>` for single-component topics. */
    discoveryId: string;
    discoveryTopic: string;
    componentKey: string;
    /** Expanded options, with the device payload's shared options merged in and `~` applied. */
    config: Record<string, unknown>;
    device: Record<string, unknown> | null;
    origin: Record<string, unknown> | null;
    /** Whether the last message that changed this entity was received with the retain flag. */
    retained: boolean;
    /** How many changed payloads arrived after the entity was first added. */
    updates: number;
}

export interface HaDevice {
    identifiers: string[];
    connections: Array<[string, string]>;
    /** The device block as last published (blocks sharing an identifier or connection are merged, like HA's registry). */
    info: Record<string, unknown>;
    /** unique_ids of the entities attached to this device. */
    entities: string[];
}

export interface DiscoveryReceipt {
    topic: string;
    /** The topic is not a discovery config topic (e.g. `homeassistant/status`): HA does not look at it. */
    ignored: boolean;
    added: string[];
    updated: string[];
    unchanged: string[];
    removed: string[];
    errors: string[];
}

export interface FakeHaDiscoveryConsumerOptions {
    discoveryPrefix?: string;
}

interface TrackedComponent {
    hash: string;
    /** True once the component was published as `{"platform": ...}`, after which leaving it out is fine. */
    reducedToPlatform: boolean;
}

export class FakeHaDiscoveryConsumer {
    private readonly discoveryPrefix: string;
    private readonly entitiesByHash = new Map<string, HaEntity>();
    /** Per device topic, the components its last payload listed: HA links them to that device discovery. */
    private readonly deviceComponents = new Map<string, Map<string, TrackedComponent>>();
    private readonly recordedErrors: string[] = [];

    constructor(options: FakeHaDiscoveryConsumerOptions = {}) {
        this.discoveryPrefix = options.discoveryPrefix ?? 'homeassistant';
    }

    /** Every problem seen so far, each prefixed with its topic. */
    get errors(): readonly string[] {
        return this.recordedErrors;
    }

    receive(topic: string, payload: string | Buffer, options: {retain?: boolean} = {}): DiscoveryReceipt {
        const receipt: DiscoveryReceipt = {topic, ignored: false, added: [], updated: [], unchanged: [], removed: [], errors: []};
        const fail = (message: string): void => {
            receipt.errors.push(message);
            this.recordedErrors.push(`${topic}: ${message}`);
        };
        if (parseDiscoveryTopic(topic, this.discoveryPrefix) === null) {
            receipt.ignored = true;
            return receipt;
        }
        const analysis = analyseDiscoveryMessage(topic, payload, {discoveryPrefix: this.discoveryPrefix});
        const discovery = analysis.discovery;
        if (analysis.messageErrors.length > 0 || discovery === null) {
            // HA logs and ignores the whole message.
            analysis.messageErrors.forEach(fail);
            return receipt;
        }
        if (discovery.migration) return receipt;

        const retained = options.retain ?? false;
        if (discovery.topic.style === 'device') this.receiveDevice(topic, discovery, retained, receipt, fail);
        else this.receiveSingle(topic, discovery, retained, receipt, fail);
        return receipt;
    }

    entities(): HaEntity[] {
        return [...this.entitiesByHash.values()];
    }

    entity(uniqueId: string): HaEntity | undefined {
        return this.entities().find((entity) => entity.uniqueId === uniqueId);
    }

    /** The device registry as HA would build it from the current entities. */
    devices(): HaDevice[] {
        const devices: HaDevice[] = [];
        for (const entity of this.entitiesByHash.values()) {
            if (entity.device === null) continue;
            const identifiers = toIdentifierList(entity.device.identifiers);
            const connections = toConnectionList(entity.device.connections);
            const matches = devices.filter((device) => sharesIdentity(device, identifiers, connections));
            const merged: HaDevice = {identifiers: [], connections: [], info: {}, entities: []};
            for (const device of matches) {
                absorb(merged, device.identifiers, device.connections, device.info, device.entities);
                devices.splice(devices.indexOf(device), 1);
            }
            absorb(merged, identifiers, connections, entity.device, [entity.uniqueId]);
            devices.push(merged);
        }
        return devices;
    }

    assertNoErrors(): void {
        if (this.recordedErrors.length === 0) return;
        throw new Error(`the fake HA consumer saw ${this.recordedErrors.length} problem(s):\n${this.recordedErrors.map((error) => `  - ${error}`).join('\n')}`);
    }

    private receiveDevice(
        topic: string,
        discovery: DiscoveredDevice,
        retained: boolean,
        receipt: DiscoveryReceipt,
        fail: (message: string) => void,
    ): void {
        const {nodeId, objectId} = discovery.topic;
        const deviceKey = nodeId === null ? objectId : `${nodeId} ${objectId}`;
        const previous = this.deviceComponents.get(deviceKey) ?? new Map<string, TrackedComponent>();
        if (discovery.removal) {
            for (const tracked of previous.values()) this.removeEntity(tracked.hash, receipt);
            this.deviceComponents.delete(deviceKey);
            return;
        }

        const current = new Map<string, TrackedComponent>();
        for (const component of Object.values(discovery.components)) {
            const discoveryId = nodeId === null ? `${objectId} ${component.key}` : `${objectId} ${nodeId} ${component.key}`;
            const hash = `${component.platform} ${discoveryId}`;
            if (component.removed) {
                this.removeEntity(hash, receipt);
                current.set(component.key, {hash, reducedToPlatform: true});
                continue;
            }
            current.set(component.key, {hash, reducedToPlatform: false});
            this.applyComponent(topic, discovery, component, discoveryId, hash, retained, receipt, fail);
        }
        for (const [key, tracked] of previous) {
            if (current.has(key) || tracked.reducedToPlatform || !this.entitiesByHash.has(tracked.hash)) continue;
            // HA's documented removal is two steps; leaving a component out at once strands the entity.
            fail(`components.${key}: dropped from the device payload without first being published as {"platform": ...}; HA keeps the entity`);
            current.set(key, tracked);
        }
        this.deviceComponents.set(deviceKey, current);
    }

    private receiveSingle(
        topic: string,
        discovery: DiscoveredDevice,
        retained: boolean,
        receipt: DiscoveryReceipt,
        fail: (message: string) => void,
    ): void {
        const {component: platform, nodeId, objectId} = discovery.topic;
        const discoveryId = nodeId === null ? objectId : `${nodeId} ${objectId}`;
        const hash = `${platform} ${discoveryId}`;
        if (discovery.removal) {
            this.removeEntity(hash, receipt);
            return;
        }
        const component = discovery.components[objectId];
        if (component) this.applyComponent(topic, discovery, component, discoveryId, hash, retained, receipt, fail);
    }

    private applyComponent(
        topic: string,
        discovery: DiscoveredDevice,
        component: DiscoveredComponent,
        discoveryId: string,
        hash: string,
        retained: boolean,
        receipt: DiscoveryReceipt,
        fail: (message: string) => void,
    ): void {
        if (component.errors.length > 0) {
            // HA logs the schema error and does not set up (or update) this one entity.
            component.errors.forEach(fail);
            return;
        }
        const uniqueId = String(component.config.unique_id);
        const clash = this.entities().find(
            (entity) => entity.platform === component.platform && entity.uniqueId === uniqueId && `${entity.platform} ${entity.discoveryId}` !== hash,
        );
        if (clash) {
            fail(`unique_id "${uniqueId}" is already used by ${clash.discoveryTopic} (${clash.componentKey}); HA ignores the second ${component.platform}`);
            return;
        }
        const existing = this.entitiesByHash.get(hash);
        const next: HaEntity = {
            platform: component.platform,
            uniqueId,
            discoveryId,
            discoveryTopic: topic,
            componentKey: component.key,
            config: component.config,
            device: discovery.device,
            origin: discovery.origin,
            retained,
            updates: existing?.updates ?? 0,
        };
        if (!existing) {
            this.entitiesByHash.set(hash, next);
            receipt.added.push(uniqueId);
            return;
        }
        if (existing.uniqueId !== uniqueId) {
            fail(`components.${component.key}: unique_id changed from "${existing.uniqueId}" to "${uniqueId}"; HA keeps the registry entry of the old one`);
        }
        if (sameDiscovery(existing, next)) {
            // HA: "Ignoring unchanged update".
            receipt.unchanged.push(uniqueId);
            return;
        }
        next.updates = existing.updates + 1;
        this.entitiesByHash.set(hash, next);
        receipt.updated.push(uniqueId);
    }

    private removeEntity(hash: string, receipt: DiscoveryReceipt): void {
        const entity = this.entitiesByHash.get(hash);
        if (!entity) return;
        this.entitiesByHash.delete(hash);
        receipt.removed.push(entity.uniqueId);
    }
}

function sameDiscovery(left: HaEntity, right: HaEntity): boolean {
    return (
        stableJson(left.config) === stableJson(right.config) &&
        stableJson(left.device) === stableJson(right.device) &&
        stableJson(left.origin) === stableJson(right.origin)
    );
}

/** JSON with sorted keys, so key order alone never counts as a change. */
function stableJson(value: unknown): string {
    return JSON.stringify(value, (_key, item: unknown) => {
        if (typeof item !== 'object' || item === null || Array.isArray(item)) return item;
        return Object.fromEntries(Object.entries(item).sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0)));
    });
}

function toIdentifierList(value: unknown): string[] {
    if (typeof value === 'string') return [value];
    return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function toConnectionList(value: unknown): Array<[string, string]> {
    if (!Array.isArray(value)) return [];
    return value.filter(
        (item): item is [string, string] => Array.isArray(item) && item.length === 2 && typeof item[0] === 'string' && typeof item[1] === 'string',
    );
}

function sharesIdentity(device: HaDevice, identifiers: readonly string[], connections: ReadonlyArray<[string, string]>): boolean {
    return (
        identifiers.some((identifier) => device.identifiers.includes(identifier)) ||
        connections.some(([type, value]) => device.connections.some(([knownType, knownValue]) => knownType === type && knownValue === value))
    );
}

function absorb(
    into: HaDevice,
    identifiers: readonly string[],
    connections: ReadonlyArray<[string, string]>,
    info: Record<string, unknown>,
    entities: readonly string[],
): void {
    for (const identifier of identifiers) if (!into.identifiers.includes(identifier)) into.identifiers.push(identifier);
    for (const connection of connections) {
        if (!sharesIdentity(into, [], [connection])) into.connections.push(connection);
    }
    into.info = {...into.info, ...info};
    for (const uniqueId of entities) if (!into.entities.includes(uniqueId)) into.entities.push(uniqueId);
}
