/**
 * Things due at a time, kept in buckets of `slotMs`: adding is O(1), and a tick visits only the
 * buckets that fell due, so watching 10,000 devices' silence every second costs nothing while
 * none is due (a scan would visit every device at every tick).
 *
 * Lazy on purpose: an item is not moved when its deadline moves (a device's packet would then cost
 * a bucket change); whoever takes it checks it and adds it again for its new time.
 */
export class DeadlineWheel<T> {
    private readonly slots = new Map<number, T[]>();
    /** The first slot not yet taken. */
    private nextSlot: number;
    private count = 0;

    constructor(
        private readonly slotMs: number,
        now: number,
    ) {
        this.nextSlot = Math.floor(now / slotMs);
    }

    /** Items waiting, taken or not yet. */
    get size(): number {
        return this.count;
    }

    /** `item` is taken by the first `takeDue` at or after `dueAt`, at most one slot late (a time already passed: with the next slot); never before. */
    add(item: T, dueAt: number): void {
        const slot = Math.max(Math.ceil(dueAt / this.slotMs), this.nextSlot);
        const bucket = this.slots.get(slot);
        if (bucket) bucket.push(item);
        else this.slots.set(slot, [item]);
        this.count++;
    }

    /** Removes and returns every item due by `now`. */
    takeDue(now: number): T[] {
        const due: T[] = [];
        const lastSlot = Math.floor(now / this.slotMs);
        for (; this.nextSlot <= lastSlot; this.nextSlot++) {
            const bucket = this.slots.get(this.nextSlot);
            if (!bucket) continue;
            this.slots.delete(this.nextSlot);
            for (const item of bucket) due.push(item);
        }
        this.count -= due.length;
        return due;
    }
}
