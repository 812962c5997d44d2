import type {Settings} from '../config/schema.js';
import type {Family} from '../core/device.js';
import type {DeviceRegistry} from '../core/registry.js';
import type {CommandRouter} from '../core/router.js';

/**
 * Raw topics on the Home Assistant side's broker, for families that keep a legacy MQTT API of their
 * own (icomen-mqtt-bridge's `icomen/…` topics). Knows nothing of discovery.
 */
export interface TopicPort {
    publish(topic: string, payload: string, options?: {retain?: boolean}): void;
    /** `handler` sees only non-retained messages: a retained command would replay at every connect. */
    subscribe(filter: string, handler: (topic: string, payload: Buffer) => void): void;
}

export interface FamilyContext {
    settings: Settings;
    registry: DeviceRegistry;
    router: CommandRouter;
    topics: TopicPort;
}

export interface FamilyService {
    start(): Promise<void>;
    stop(): Promise<void>;
}

export interface FamilyModule {
    family: Family;
    enabled(settings: Settings): boolean;
    create(context: FamilyContext): FamilyService;
}
