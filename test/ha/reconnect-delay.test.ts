import {describe, expect, it} from 'vitest';

import {reconnectDelayMs} from '../../src/ha/connection.js';

describe('reconnectDelayMs', () => {
    it('retries about every quarter second while the outage is short, jittered', () => {
        expect(reconnectDelayMs(0, () => 0)).toBe(125);
        expect(reconnectDelayMs(29_000, () => 0.999)).toBeLessThan(400);
    });

    it('backs off for a long outage, up to 30 s give or take its jitter', () => {
        expect(reconnectDelayMs(30_000, () => 0.5)).toBe(1000);
        expect(reconnectDelayMs(60_000, () => 0.5)).toBe(8000);
        expect(reconnectDelayMs(3_600_000, () => 0.999)).toBeLessThanOrEqual(36_000);
        expect(reconnectDelayMs(3_600_000, () => 0)).toBeGreaterThanOrEqual(24_000);
    });
});
