import type {DeviceState, LinkHealth, PublicDevice} from './device.js';
import {createLogger} from '../util/logger.js';

/** Everything that flows from the family adapters (through the registry) to the consumers. */
export interface BusEvents {
    /** A device appeared or its facts/features changed. */
    device: {device: PublicDevice};
    state: {deviceId: string; state: DeviceState; changed: string[]};
    link: {deviceId: string; link: LinkHealth};
    removed: {deviceId: string; device: PublicDevice};
    /** A transient device event (an alert, a vacuum event): never part of the state. */
    event: {deviceId: string; featureId: string; eventType: string; attributes: Record<string, unknown>};
    /**
     * A message a family decoded from a device (`in`) or sent to it (`out`), as the family reads it:
     * for debugging only, unmasked here (whoever keeps it masks it first).
     */
    traffic: {deviceId: string; direction: 'in' | 'out'; message: unknown};
    /** A new picture for an image feature; the latest per feature is kept by `DeviceImages`. */
    image: {deviceId: string; featureId: string; png: Buffer; updatedAt: number};
}

type Listener<K extends keyof BusEvents> = (payload: BusEvents[K]) => void;

const log = createLogger('core:bus');

/**
 * A small typed event bus. A throwing listener is logged and skipped, so one consumer (an HA
 * extension, the web UI) can never break another or the adapter that emitted.
 */
export class EventBus {
    private readonly listeners = new Map<keyof BusEvents, Set<Listener<never>>>();

    on<K extends keyof BusEvents>(event: K, listener: Listener<K>): () => void {
        let set = this.listeners.get(event) as Set<Listener<K>> | undefined;
        if (!set) {
            set = new Set();
            this.listeners.set(event, set as Set<Listener<never>>);
        }
        set.add(listener);
        return () => set.delete(listener);
    }

    emit<K extends keyof BusEvents>(event: K, payload: BusEvents[K]): void {
        const set = this.listeners.get(event) as Set<Listener<K>> | undefined;
        if (!set) return;
        for (const listener of set) {
            try {
                listener(payload);
            } catch (error) {
                log.error(`listener for "${event}" failed: ${(error as Error).stack ?? String(error)}`);
            }
        }
    }
}
