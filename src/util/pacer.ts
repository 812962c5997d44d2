/**
 * Runs a job per key at most once per interval: a poke runs it at once when the key's interval is
 * over, else once when it ends. The pacer holds no data: the job reads whatever is newest when it
 * runs, so a burst of pokes costs one run now and one at the end of the interval. A key with nothing
 * waiting holds no timer.
 */
export interface PacerOptions<Key> {
    intervalMs: number;
    /** Runs from a timer as well: it must not throw. */
    run(key: Key): void;
    now?: () => number;
}

interface PacedKey {
    lastRunAt: number | null;
    timer: NodeJS.Timeout | null;
}

export class Pacer<Key> {
    private readonly keys = new Map<Key, PacedKey>();
    private readonly now: () => number;

    constructor(private readonly options: PacerOptions<Key>) {
        this.now = options.now ?? Date.now;
    }

    /** Something changed for `key`: the job runs now, or at the end of the key's interval. */
    poke(key: Key): void {
        let paced = this.keys.get(key);
        if (!paced) {
            paced = {lastRunAt: null, timer: null};
            this.keys.set(key, paced);
        }
        if (paced.timer) return;
        const wait = paced.lastRunAt === null ? 0 : paced.lastRunAt + this.options.intervalMs - this.now();
        if (wait <= 0) return this.run(key, paced);
        const waiting = paced;
        paced.timer = setTimeout(() => {
            waiting.timer = null;
            this.run(key, waiting);
        }, wait);
        // A pending run never keeps the process alive on its own.
        paced.timer.unref();
    }

    /** Drops the key and its pending run. */
    forget(key: Key): void {
        const paced = this.keys.get(key);
        if (paced?.timer) clearTimeout(paced.timer);
        this.keys.delete(key);
    }

    stop(): void {
        for (const key of [...this.keys.keys()]) this.forget(key);
    }

    private run(key: Key, paced: PacedKey): void {
        paced.lastRunAt = this.now();
        this.options.run(key);
    }
}
