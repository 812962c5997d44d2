/**
 * Device-side flood control, shared by every family's listener: each device has a budget of packets
 * per second. Beyond it the device's packets are dropped and counted before they cost anything
 * more (decryption, the registry, Home Assistant), a warning names the device once, and a device
 * that keeps flooding is cut off (disconnected, or ignored on UDP) for a back-off period, so one
 * broken or hostile device cannot slow every other device's commands.
 */
import type {FloodGuardSettings} from '../config/schema.js';
import type {Logger} from '../util/logger.js';
import {TokenBucket} from '../util/token-bucket.js';

export interface FloodGuardOptions {
    /** Sustained packets per second a device may send. */
    packetsPerSecond: number;
    /** Packets a device may send at once (a reconnect, a burst of reports). */
    burst: number;
    /** Drops within one flood that cut the device off. */
    cutOffAfterDrops: number;
    /** How long a cut-off device stays cut off. */
    backoffMs: number;
    /** How devices are named in the log ("plug", "miIO device"). */
    noun: string;
    log: Logger;
    now?: () => number;
    /** Called once by `close()`: the registry that made the guard forgets it. */
    onClose?: () => void;
    /** Told of every packet dropped: a guard in another thread reports its counters only then. */
    onDrop?: () => void;
}

/** What to do with a packet: handle it, drop it, or drop it and cut the device off. */
export type FloodVerdict = 'pass' | 'drop' | 'cut-off';

export interface FloodStats {
    /** Packets dropped over budget since start. */
    dropped: number;
    /** Devices cut off since start. */
    cutOffs: number;
    /** Devices flooding now: dropped within the last `FLOODING_WINDOW_MS`, or cut off. */
    flooding: number;
}

interface DeviceBudget {
    bucket: TokenBucket;
    /** Drops since the flood began; a second without drops ends it. */
    floodDrops: number;
    lastDropAt: number;
    blockedUntil: number;
    warned: boolean;
}

/** A flood is over once the device has gone this long without a drop. */
const FLOOD_QUIET_MS = 1000;
/** How long a device counts as flooding after its last drop. */
const FLOODING_WINDOW_MS = 10_000;

export class FloodGuard {
    private readonly budgets = new Map<string, DeviceBudget>();
    /** Devices dropped from recently: the only ones the flooding count looks at. */
    private readonly recentFlooders = new Set<string>();
    private readonly now: () => number;
    private dropped = 0;
    private cutOffs = 0;

    constructor(private readonly options: FloodGuardOptions) {
        this.now = options.now ?? Date.now;
    }

    /** One packet from `device`: spends a token, or counts a drop. */
    admit(device: string): FloodVerdict {
        const now = this.now();
        const budget = this.budgetFor(device, now);
        if (now < budget.blockedUntil) {
            this.countDrop(budget, now);
            return 'drop';
        }
        if (budget.bucket.take(now)) return 'pass';
        if (now - budget.lastDropAt > FLOOD_QUIET_MS) budget.floodDrops = 0;
        this.countDrop(budget, now);
        this.recentFlooders.add(device);
        budget.floodDrops++;
        if (!budget.warned) {
            budget.warned = true;
            this.options.log.warn(
                `${this.options.noun} ${device} sends more than ${this.options.packetsPerSecond} packets/s: dropping the excess` +
                    ` (cut off for ${this.options.backoffMs / 1000} s after ${this.options.cutOffAfterDrops} drops in a row)`,
            );
        }
        if (budget.floodDrops < this.options.cutOffAfterDrops) return 'drop';
        budget.floodDrops = 0;
        budget.blockedUntil = now + this.options.backoffMs;
        this.cutOffs++;
        this.options.log.warn(`${this.options.noun} ${device} keeps flooding: cut off for ${this.options.backoffMs / 1000} s`);
        return 'cut-off';
    }

    /** Whether `device` is in its back-off period (a reconnect then is refused). */
    isCutOff(device: string): boolean {
        const budget = this.budgets.get(device);
        return budget !== undefined && this.now() < budget.blockedUntil;
    }

    /** For a packet not yet proven to be the device's: dropped, and counted, only while the device is cut off. */
    dropIfCutOff(device: string): boolean {
        const budget = this.budgets.get(device);
        const now = this.now();
        if (!budget || now >= budget.blockedUntil) return false;
        this.countDrop(budget, now);
        return true;
    }

    stats(): FloodStats {
        const now = this.now();
        for (const device of this.recentFlooders) {
            const budget = this.budgets.get(device);
            if (!budget || (now - budget.lastDropAt > FLOODING_WINDOW_MS && now >= budget.blockedUntil)) this.recentFlooders.delete(device);
        }
        return {dropped: this.dropped, cutOffs: this.cutOffs, flooding: this.recentFlooders.size};
    }

    /** The guard's listener stopped: its counters leave the totals. */
    close(): void {
        this.options.onClose?.();
    }

    private countDrop(budget: DeviceBudget, now: number): void {
        this.dropped++;
        budget.lastDropAt = now;
        this.options.onDrop?.();
    }

    private budgetFor(device: string, now: number): DeviceBudget {
        let budget = this.budgets.get(device);
        if (!budget) {
            budget = {bucket: new TokenBucket(this.options.packetsPerSecond, this.options.burst, now), floodDrops: 0, lastDropAt: 0, blockedUntil: 0, warned: false};
            this.budgets.set(device, budget);
        }
        return budget;
    }
}

/**
 * The guards of one device edge (the device MQTT broker's and each family listener's), so that the
 * bridge's diagnostics can sum them without knowing the families. Owned by the edge, not the
 * process: two bridges in one process keep their counters apart.
 */
export class FloodGuards {
    private readonly live = new Set<FloodGuard>();
    /** Guards kept in another thread, known by the figures it last reported. */
    private readonly reported = new Set<() => FloodStats>();

    create(settings: FloodGuardSettings, noun: string, log: Logger, onDrop?: () => void): FloodGuard {
        const guard: FloodGuard = new FloodGuard({
            packetsPerSecond: settings.packetsPerSecond,
            burst: settings.burst,
            cutOffAfterDrops: settings.cutOffAfterDrops,
            backoffMs: settings.backoffSeconds * 1000,
            noun,
            log,
            onClose: () => this.live.delete(guard),
            ...(onDrop ? {onDrop} : {}),
        });
        this.live.add(guard);
        return guard;
    }

    /** Adds a guard this registry cannot hold (another thread's) to the totals; returns the removal. */
    report(read: () => FloodStats): () => void {
        this.reported.add(read);
        return () => this.reported.delete(read);
    }

    /** The sum over every guard not yet closed. */
    totals(): FloodStats {
        const total: FloodStats = {dropped: 0, cutOffs: 0, flooding: 0};
        const add = (stats: FloodStats): void => {
            total.dropped += stats.dropped;
            total.cutOffs += stats.cutOffs;
            total.flooding += stats.flooding;
        };
        for (const guard of this.live) add(guard.stats());
        for (const read of this.reported) add(read());
        return total;
    }
}
