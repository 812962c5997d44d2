/**
 * The bounded queue between the device side and the Home Assistant broker.
 *
 * Home Assistant needs the latest state, not every state: messages are coalesced per topic, so a
 * slow or absent broker costs at most one message per topic. The queue never holds more than
 * `capacity` messages (the oldest is dropped and counted), a device that floods is throttled by a
 * token bucket (its latest message waits for a token), and replays (everything retained, after a
 * reconnect or HA's birth) go behind live traffic in two lanes of their own pace (`ReplayLane`).
 */

import {createLogger} from '../util/logger.js';
import {TokenBucket} from '../util/token-bucket.js';

const log = createLogger('ha:queue');

export interface OutboundMessage {
    topic: string;
    payload: string;
    retain: boolean;
    qos: 0 | 1;
}

/**
 * A replay's lanes, each paced at its own rate behind live traffic. `fast`: the small messages that
 * are what HA shows (availability, states), so that a fleet is current again within seconds of a
 * broker restart; HA gets as much at once from the broker's retained store whenever it subscribes.
 * `paced`: what makes HA set entities up (discovery) and large payloads (pictures), in the gentle
 * bursts HA asks for.
 */
export type ReplayLane = 'fast' | 'paced';

export interface EnqueueOptions {
    /** Throttle against this device's budget. */
    deviceId?: string;
    /** A replayed message, sent in this lane behind live traffic. */
    replay?: ReplayLane;
    /** Events are not states: each one is kept, none replaces another. */
    coalesce?: boolean;
}

export interface QueueOptions {
    capacity: number;
    deviceRatePerSecond: number;
    deviceBurst: number;
    /** Messages per second of each replay lane. */
    replayRatePerSecond: Record<ReplayLane, number>;
    maxInflight?: number;
    /** Resolves when the broker has the message (PUBACK for QoS 1); rejects if it could not be sent. */
    send(message: OutboundMessage): Promise<void>;
    now?: () => number;
}

export interface QueueStats {
    pending: number;
    inflight: number;
    sent: number;
    dropped: number;
    throttled: number;
    failed: number;
}

interface Entry {
    message: OutboundMessage;
    deviceId?: string;
}

interface ReplayLaneState {
    pending: Map<string, Entry>;
    bucket: TokenBucket;
    msPerToken: number;
}

/** After a failed send, wait this long before trying again, so a broken link is not hammered. */
const RETRY_AFTER_FAILURE_MS = 1000;

export class OutboundQueue {
    private readonly live = new Map<string, Entry>();
    private readonly replay: Record<ReplayLane, ReplayLaneState>;
    private readonly deferred = new Map<string, Entry>();
    /**
     * Where a message may wait, in the order the queue gives them up when full: throttled floods
     * first, then what a later replay sends again, live states last.
     */
    private readonly waiting: Map<string, Entry>[];
    private readonly buckets = new Map<string, TokenBucket>();
    /** The newest entry per key, pending or in flight: a failed older send must not be retried over it. */
    private readonly newest = new Map<string, Entry>();
    private readonly options: Required<Omit<QueueOptions, 'send'>> & Pick<QueueOptions, 'send'>;
    private ready = false;
    private closed = false;
    private replaysEnded = false;
    private inflight = 0;
    private sequence = 0;
    private timer: NodeJS.Timeout | null = null;
    private timerDue = 0;
    private readonly counters = {sent: 0, dropped: 0, throttled: 0, failed: 0};

    constructor(options: QueueOptions) {
        this.options = {maxInflight: 64, now: Date.now, ...options};
        const lane = (ratePerSecond: number): ReplayLaneState => ({
            pending: new Map<string, Entry>(),
            // A replay starts paced: its first burst is earned, not handed out at once.
            bucket: new TokenBucket(ratePerSecond, Math.max(1, Math.ceil(ratePerSecond / 10)), this.options.now(), 0),
            msPerToken: Math.ceil(1000 / ratePerSecond),
        });
        this.replay = {fast: lane(options.replayRatePerSecond.fast), paced: lane(options.replayRatePerSecond.paced)};
        this.waiting = [this.deferred, this.replay.paced.pending, this.replay.fast.pending, this.live];
    }

    /** Returns false (and queues nothing) for a topic with a wildcard, which no broker may receive, and for a replay after `endReplays`. */
    enqueue(message: OutboundMessage, options: EnqueueOptions = {}): boolean {
        if (/[+#]/.test(message.topic)) {
            this.counters.dropped++;
            log.limited('error', 'wildcard-topic', `refusing to publish to ${message.topic}: a topic with + or # is a filter, not a destination`);
            return false;
        }
        if (options.replay && this.replaysEnded) return false;
        const key = options.coalesce === false ? `${message.topic}\u0000${this.sequence++}` : message.topic;
        const entry: Entry = {message, deviceId: options.deviceId};
        this.newest.set(key, entry);
        // A newer message for a topic replaces the older one wherever it waits.
        for (const map of this.waiting) map.delete(key);
        if (options.replay) {
            this.insert(this.replay[options.replay].pending, key, entry);
        } else if (options.deviceId && !this.takeDeviceToken(options.deviceId)) {
            this.counters.throttled++;
            this.insert(this.deferred, key, entry);
            this.scheduleTimer(this.msUntilToken());
        } else {
            this.insert(this.live, key, entry);
        }
        this.drain();
        return true;
    }

    /** The broker connection is up (or down): only then are messages handed over. */
    setReady(ready: boolean): void {
        this.ready = ready && !this.closed;
        if (this.ready) this.drain();
    }

    /** Drops everything pending for a topic (a device removed before its state went out). */
    forget(topicPrefix: string): void {
        for (const map of this.waiting) {
            for (const key of map.keys()) if (key.startsWith(topicPrefix)) map.delete(key);
        }
        for (const key of this.newest.keys()) if (key.startsWith(topicPrefix)) this.newest.delete(key);
    }

    stats(): QueueStats {
        return {pending: this.pending(), inflight: this.inflight, ...this.counters};
    }

    /**
     * At a stop: drops what the replay lanes hold and takes no more, so that the stop waits only
     * for live traffic (the next start replays everything again).
     */
    endReplays(): void {
        this.replaysEnded = true;
        for (const lane of Object.values(this.replay)) {
            for (const [key, entry] of lane.pending) if (this.newest.get(key) === entry) this.newest.delete(key);
            lane.pending.clear();
        }
    }

    /** Resolves once nothing is pending or in flight (used at shutdown and in tests). */
    async idle(timeoutMs = 5000): Promise<boolean> {
        // Without a broker nothing drains: waiting would only delay a stop.
        if (!this.ready) return this.pending() + this.inflight === 0;
        const deadline = this.options.now() + timeoutMs;
        while (this.pending() + this.inflight > 0) {
            if (this.options.now() > deadline) return false;
            await new Promise((resolve) => setTimeout(resolve, 10));
        }
        return true;
    }

    close(): void {
        this.closed = true;
        if (this.timer) clearTimeout(this.timer);
        this.timer = null;
        this.ready = false;
    }

    private pending(): number {
        let pending = 0;
        for (const map of this.waiting) pending += map.size;
        return pending;
    }

    private insert(map: Map<string, Entry>, key: string, entry: Entry): void {
        if (this.pending() >= this.options.capacity) {
            const victim = this.waiting.find((candidate) => candidate.size > 0) ?? this.live;
            const oldest = victim.entries().next();
            if (!oldest.done) {
                const [victimKey, victimEntry] = oldest.value;
                victim.delete(victimKey);
                if (this.newest.get(victimKey) === victimEntry) this.newest.delete(victimKey);
                this.counters.dropped++;
                log.limited('warn', 'queue-full', `the queue towards Home Assistant holds ${this.options.capacity} topics: dropped ${victimKey} (${this.counters.dropped} dropped so far; raise ha.queueCapacity)`);
            }
        }
        map.set(key, entry);
    }

    /** How long what a replay lane holds takes to go out at its pace: a replay feeds itself by this, so it never holds a whole fleet here. */
    replayBacklogMs(lane: ReplayLane): number {
        return (this.replay[lane].pending.size * 1000) / this.options.replayRatePerSecond[lane];
    }

    private drain(): void {
        while (this.ready && this.inflight < this.options.maxInflight) {
            const next = this.take(this.live) ?? this.takeReplayed('fast') ?? this.takeReplayed('paced');
            if (!next) break;
            this.inflight++;
            const [key, entry] = next;
            this.options.send(entry.message).then(
                () => {
                    this.inflight--;
                    this.counters.sent++;
                    if (this.newest.get(key) === entry) this.newest.delete(key);
                    this.drain();
                },
                () => {
                    this.inflight--;
                    this.counters.failed++;
                    // Not delivered: put it back unless a newer message for that topic was queued
                    // since (waiting or already sent), which an old retry would overwrite.
                    if (this.newest.get(key) === entry) this.insert(this.live, key, entry);
                    this.scheduleTimer(RETRY_AFTER_FAILURE_MS);
                },
            );
        }
        if (!this.ready || this.inflight >= this.options.maxInflight) return;
        let wait = Infinity;
        for (const {pending, msPerToken} of Object.values(this.replay)) if (pending.size > 0) wait = Math.min(wait, msPerToken);
        if (wait !== Infinity) this.scheduleTimer(wait);
    }

    private takeReplayed(lane: ReplayLane): [string, Entry] | undefined {
        const {pending, bucket} = this.replay[lane];
        return pending.size > 0 && bucket.take(this.options.now()) ? this.take(pending) : undefined;
    }

    private take(map: Map<string, Entry>): [string, Entry] | undefined {
        const first = map.entries().next();
        if (first.done) return undefined;
        map.delete(first.value[0]);
        return first.value;
    }

    /** Scans every throttled topic, so only from the timer, never per message. */
    private releaseDeferred(): void {
        for (const [key, entry] of this.deferred) {
            if (entry.deviceId && this.takeDeviceToken(entry.deviceId)) {
                this.deferred.delete(key);
                this.live.set(key, entry);
            }
        }
        if (this.deferred.size > 0) this.scheduleTimer(this.msUntilToken());
    }

    private takeDeviceToken(deviceId: string): boolean {
        const now = this.options.now();
        let bucket = this.buckets.get(deviceId);
        if (!bucket) {
            bucket = new TokenBucket(this.options.deviceRatePerSecond, this.options.deviceBurst, now);
            this.buckets.set(deviceId, bucket);
        }
        return bucket.take(now);
    }

    private msUntilToken(): number {
        return Math.ceil(1000 / this.options.deviceRatePerSecond);
    }

    /** One timer for every kind of wait; an earlier need (a replay lane's pace) moves it forward. */
    private scheduleTimer(delayMs: number): void {
        if (this.closed) return;
        const due = Date.now() + delayMs;
        if (this.timer) {
            if (this.timerDue <= due) return;
            clearTimeout(this.timer);
        }
        this.timerDue = due;
        this.timer = setTimeout(() => {
            this.timer = null;
            this.releaseDeferred();
            this.drain();
        }, delayMs);
        this.timer.unref();
    }
}
