import type {HaSettings} from '../config/schema.js';
import {type PublicDevice, toPublic} from '../core/device.js';
import type {Extension} from '../core/extension.js';
import type {DeviceRegistry} from '../core/registry.js';
import {createLogger} from '../util/logger.js';
import type {HaConnection} from './connection.js';
import type {OutboundQueue, ReplayLane} from './queue.js';

const log = createLogger('ha:replay');

/**
 * How often a replay tops up the queue: often, so that each top-up renders few devices (at the
 * fast lane's 20,000 messages a second, some 400) and live traffic never waits long behind one.
 */
const FEED_INTERVAL_MS = 20;

/**
 * One extension's share of a replay. Each step runs for every part (in extension order) before the
 * next step starts, so HA learns of the bridge before its devices and of every device before the
 * list. The devices are walked twice side by side, each walk fed as its lane of the queue drains.
 */
export interface ReplayPart {
    /** What belongs to no single device (the bridge's own entities). */
    beforeDevices?(): void;
    /** What HA shows of a device (availability, state), in the queue's `fast` lane. */
    deviceStates?(device: PublicDevice): void;
    /** The rest of a device (discovery, pictures), in the queue's `paced` lane. */
    device?(device: PublicDevice): void;
    /** What sums up the devices (the device list), once both walks are over. */
    afterDevices?(): void;
}

/** One walk over the devices of a replay: its lane, the parts' step it runs, and where it has got to. */
interface Walk {
    lane: ReplayLane;
    step: 'deviceStates' | 'device';
    next: number;
}

export interface ReplayOptions {
    settings: HaSettings;
    registry: DeviceRegistry;
    connection: HaConnection;
    queue: OutboundQueue;
}

/**
 * Makes HA converge: everything retained is re-published, behind live traffic, after every connect (a
 * broker restarted without persistence has lost it) and after HA's birth message (HA restarted
 * and needs discovery again). The extensions add what they publish; this decides when.
 */
export class Replay implements Extension {
    readonly name = 'ha:replay';
    private readonly parts = new Set<ReplayPart>();
    private readonly preparations = new Set<() => Promise<void>>();
    private preparing: Promise<void> | null = null;
    private prepared = false;
    private birthTimer: NodeJS.Timeout | null = null;
    /** The replay under way: the devices to publish, walked as the queue drains. */
    private cursor: {ids: string[]; walks: Walk[]; parts: ReplayPart[]} | null = null;
    private feedTimer: NodeJS.Timeout | null = null;
    private readonly unsubscribers: (() => void)[] = [];

    constructor(private readonly options: ReplayOptions) {}

    start(): void {
        const {connection, queue, settings} = this.options;
        this.unsubscribers.push(
            connection.onConnect(() => {
                queue.setReady(true);
                void this.request();
            }),
            connection.onDisconnect(() => queue.setReady(false)),
            connection.subscribe(settings.birthTopic, (_topic, payload) => this.onBirth(payload.toString())),
        );
    }

    stop(): void {
        for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
        if (this.birthTimer) clearTimeout(this.birthTimer);
        this.birthTimer = null;
        if (this.feedTimer) clearTimeout(this.feedTimer);
        this.feedTimer = null;
        this.cursor = null;
    }

    /** Returns the function that takes the part out again. */
    add(part: ReplayPart): () => void {
        this.parts.add(part);
        return () => this.parts.delete(part);
    }

    /**
     * Work the first replay waits for, started at the first connect: the scan for stale discovery,
     * which learns what HA still holds (ghost devices, components a device lost) before the replay
     * publishes over it. Returns the function that withdraws it.
     */
    prepareWith(preparation: () => Promise<void>): () => void {
        this.preparations.add(preparation);
        return () => this.preparations.delete(preparation);
    }

    /**
     * Replays now, or once the preparations are done: requests made meanwhile share that one
     * replay. Resolves once the replay is queued.
     */
    request(): Promise<void> {
        if (this.prepared) {
            this.run();
            return Promise.resolve();
        }
        this.preparing ??= Promise.all([...this.preparations].map((prepare) => prepare()))
            .catch((error: Error) => log.error(`preparing the replay failed, replaying anyway: ${error.message}`))
            .then(() => {
                this.prepared = true;
                this.run();
            });
        return this.preparing;
    }

    /** Starts a replay; one under way starts over, since what it already sent may be lost with the broker. */
    private run(): void {
        const ids = [...this.options.registry.ids()];
        log.info(`publishing discovery, availability and state for ${ids.length} device(s)`);
        const parts = [...this.parts];
        for (const part of parts) part.beforeDevices?.();
        const walks: Walk[] = [
            {lane: 'fast', step: 'deviceStates', next: 0},
            {lane: 'paced', step: 'device', next: 0},
        ];
        this.cursor = {ids, walks, parts};
        if (this.feedTimer) clearTimeout(this.feedTimer);
        this.feedTimer = null;
        this.feed();
    }

    /**
     * Keeps two feeds' worth of each lane in the queue: what is queued is what the broker gets
     * next, so a fleet's replay never fills the queue or pushes out live traffic, and each device
     * is rendered only when its turn comes (with its state as it is then).
     */
    private feed(): void {
        const cursor = this.cursor;
        if (!cursor) return;
        const {queue, registry} = this.options;
        for (const walk of cursor.walks) {
            while (walk.next < cursor.ids.length && queue.replayBacklogMs(walk.lane) < 2 * FEED_INTERVAL_MS) {
                const device = registry.get(cursor.ids[walk.next++]!);
                if (!device) continue;
                const snapshot = toPublic(device);
                for (const part of cursor.parts) part[walk.step]?.(snapshot);
            }
        }
        if (cursor.walks.some((walk) => walk.next < cursor.ids.length)) {
            this.feedTimer = setTimeout(() => {
                this.feedTimer = null;
                this.feed();
            }, FEED_INTERVAL_MS);
            this.feedTimer.unref();
            return;
        }
        this.cursor = null;
        for (const part of cursor.parts) part.afterDevices?.();
    }

    private onBirth(payload: string): void {
        if (payload !== 'online') return;
        const {birthDelayMinMs, birthDelayMaxMs} = this.options.settings;
        const delay = birthDelayMinMs + Math.random() * (birthDelayMaxMs - birthDelayMinMs);
        log.info(`Home Assistant is online; re-publishing in ${Math.round(delay)} ms`);
        if (this.birthTimer) clearTimeout(this.birthTimer);
        this.birthTimer = setTimeout(() => {
            this.birthTimer = null;
            void this.request();
        }, delay);
        this.birthTimer.unref();
    }
}
