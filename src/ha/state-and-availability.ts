import {type PublicDevice, toPublic} from '../core/device.js';
import type {Extension} from '../core/extension.js';
import type {HaContext} from './context.js';
import {hasOwnStateTopic, hasReported, renderDeviceState, renderFeature} from './state.js';

/**
 * The device list is the whole fleet: serialised at most once per this interval, however many
 * devices connect, leave or change meanwhile.
 */
const DEVICE_LIST_INTERVAL_MS = 1000;

/**
 * What HA's entities read: each device's availability, its state (and the own state topic of a
 * vacuum or light), its transient events, and the `bridge/devices` list.
 */
export class StateAndAvailability implements Extension {
    readonly name = 'ha:state';
    private readonly unsubscribers: (() => void)[] = [];
    private deviceListTimer: NodeJS.Timeout | null = null;
    private deviceListPublishedAt = 0;

    constructor(private readonly context: HaContext) {}

    start(): void {
        const {bus, queue, registry, replay, topics} = this.context;
        this.unsubscribers.push(
            bus.on('device', ({device}) => {
                this.publishAvailability(device.id, device.link.online, false);
                this.publishState(device, false);
                this.scheduleDeviceList();
            }),
            bus.on('state', ({deviceId, state}) => {
                const device = registry.get(deviceId);
                if (device) this.publishState(toPublic({...device, state}), false);
            }),
            bus.on('link', ({deviceId, link}) => {
                this.publishAvailability(deviceId, link.online, false);
                // The device list carries `online` too.
                this.scheduleDeviceList();
            }),
            bus.on('removed', () => this.scheduleDeviceList()),
            bus.on('event', ({deviceId, featureId, eventType, attributes}) => {
                const payload = JSON.stringify({...attributes, event_type: eventType});
                queue.enqueue({topic: topics.featureEvent(deviceId, featureId), payload, retain: false, qos: 1}, {deviceId, coalesce: false});
            }),
            replay.add({
                deviceStates: (device) => {
                    this.publishAvailability(device.id, device.link.online, true);
                    this.publishState(device, true);
                },
                afterDevices: () => this.publishDeviceList(true),
            }),
        );
    }

    stop(): void {
        for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
        if (this.deviceListTimer) clearTimeout(this.deviceListTimer);
        this.deviceListTimer = null;
    }

    private scheduleDeviceList(): void {
        if (this.deviceListTimer) return;
        const wait = Math.max(0, this.deviceListPublishedAt + DEVICE_LIST_INTERVAL_MS - Date.now());
        this.deviceListTimer = setTimeout(() => {
            this.deviceListTimer = null;
            this.publishDeviceList(false);
        }, wait);
        this.deviceListTimer.unref();
    }

    private publishAvailability(deviceId: string, online: boolean, replayed: boolean): void {
        const {queue, topics} = this.context;
        queue.enqueue({topic: topics.availability(deviceId), payload: online ? 'online' : 'offline', retain: true, qos: 1}, replayed ? {replay: 'fast'} : {});
    }

    private publishState(device: PublicDevice, replayed: boolean): void {
        const {queue, topics} = this.context;
        const deviceId = device.id;
        const throttle = replayed ? {replay: 'fast' as const} : {deviceId};
        // A device seen for the first time has told nothing yet: a retained `{"switch":null}` would only claim so.
        if (hasReported(device.state, device.features)) {
            queue.enqueue({topic: topics.deviceState(deviceId), payload: JSON.stringify(renderDeviceState(device, device.state)), retain: true, qos: 1}, throttle);
        }
        for (const feature of device.features) {
            if (!hasOwnStateTopic(feature) || !hasReported(device.state, [feature])) continue;
            const payload = JSON.stringify(renderFeature(feature, device.state[feature.id] ?? null));
            queue.enqueue({topic: topics.featureState(deviceId, feature.id), payload, retain: true, qos: 1}, throttle);
        }
    }

    private publishDeviceList(replayed: boolean): void {
        const {queue, registry, topics} = this.context;
        this.deviceListPublishedAt = Date.now();
        const list = registry.list().map((device) => ({
            id: device.id,
            family: device.family,
            ...device.facts,
            online: device.link.online,
            features: device.features.map((feature) => ({id: feature.id, kind: feature.kind})),
        }));
        // The whole fleet in one payload: paced, however large.
        queue.enqueue({topic: topics.bridgeDevices, payload: JSON.stringify(list), retain: true, qos: 1}, replayed ? {replay: 'paced'} : {});
    }
}
