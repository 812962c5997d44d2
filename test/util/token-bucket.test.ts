import {describe, expect, it} from 'vitest';

import {TokenBucket} from '../../src/util/token-bucket.js';

describe('TokenBucket', () => {
    it('hands out its burst, then refills at its rate up to the burst', () => {
        const bucket = new TokenBucket(2, 3, 0);
        expect([bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([true, true, true, false]);
        expect(bucket.take(499)).toBe(false);
        expect(bucket.take(500)).toBe(true);
        expect(bucket.canTake(10_000)).toBe(true);
        expect([bucket.take(10_000), bucket.take(10_000), bucket.take(10_000), bucket.take(10_000)]).toEqual([true, true, true, false]);
    });

    it('can start empty, and checking does not spend a token', () => {
        const bucket = new TokenBucket(10, 1, 0, 0);
        expect(bucket.canTake(0)).toBe(false);
        expect(bucket.canTake(100)).toBe(true);
        expect(bucket.canTake(100)).toBe(true);
        expect(bucket.take(100)).toBe(true);
        expect(bucket.take(100)).toBe(false);
    });

    it('ignores a clock that steps back', () => {
        const bucket = new TokenBucket(1, 1, 1000, 0);
        expect(bucket.take(0)).toBe(false);
        expect(bucket.take(1000)).toBe(false);
    });
});
