/**
 * A token bucket: `ratePerSecond` tokens refill continuously up to `burst`. The clock is passed in
 * so that callers with their own (tests, the queue's injectable `now`) stay deterministic.
 */
export class TokenBucket {
    private tokens: number;
    private updatedAt: number;

    constructor(
        private readonly ratePerSecond: number,
        private readonly burst: number,
        now: number,
        /** Tokens at the start; a full bucket unless a caller wants its first burst earned. */
        initialTokens: number = burst,
    ) {
        this.tokens = initialTokens;
        this.updatedAt = now;
    }

    /** Whether a token is there, without taking it (for checks against several buckets at once). */
    canTake(now: number): boolean {
        this.refill(now);
        return this.tokens >= 1;
    }

    /** Takes one token if there is one. */
    take(now: number): boolean {
        if (!this.canTake(now)) return false;
        this.tokens--;
        return true;
    }

    private refill(now: number): void {
        if (now <= this.updatedAt) return; // a clock that steps back earns nothing
        this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.ratePerSecond);
        this.updatedAt = now;
    }
}
