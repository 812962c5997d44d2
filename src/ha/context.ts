import type {HaSettings} from '../config/schema.js';
import type {EventBus} from '../core/bus.js';
import type {DeviceImages} from '../core/images.js';
import type {DeviceRegistry} from '../core/registry.js';
import type {CommandRouter} from '../core/router.js';
import type {HaConnection} from './connection.js';
import {EntityNames} from './entity-names.js';
import type {OutboundQueue} from './queue.js';
import {Replay} from './replay.js';
import {TopicLayout} from './topics.js';

/** What the device edge held back from devices, for the bridge's diagnostic sensors. */
export interface EdgeCounterTotals {
    /** Packets dropped from devices over their budget, and how many devices flood now. */
    flood: {dropped: number; flooding: number};
    /** Hellos a device's listener left unanswered for a rate limit. */
    hellosUnanswered: number;
}

/** What every Home Assistant extension shares: one connection, one paced queue, one topic layout. */
export interface HaContext {
    settings: HaSettings;
    registry: DeviceRegistry;
    bus: EventBus;
    /** The latest picture of each image feature, re-published at every replay. */
    images: DeviceImages;
    router: CommandRouter;
    connection: HaConnection;
    queue: OutboundQueue;
    topics: TopicLayout;
    /** Entity names in the configured language. */
    names: EntityNames;
    /** The one pass that re-publishes everything retained; each extension adds its part. */
    replay: Replay;
    edgeCounters(): EdgeCounterTotals;
    /** The device's page in the web UI (its HA device page links there), or null without one. */
    deviceUiUrl(deviceId: string): string | null;
}

/** `translations`: the configured language's file (`util/translations.ts`). */
export function createHaContext({translations, ...services}: Omit<HaContext, 'topics' | 'replay' | 'names'> & {translations: Readonly<Record<string, string>>}): HaContext {
    const topics = new TopicLayout(services.settings.baseTopic, services.settings.discoveryPrefix);
    return {...services, topics, names: new EntityNames(translations), replay: new Replay(services)};
}
