import {describe, expect, it} from 'vitest';

import {DeadlineWheel} from '../../src/util/deadline-wheel.js';

describe('DeadlineWheel', () => {
    it('hands each item over at the first tick at or after its time, never before, at most a slot late', () => {
        const wheel = new DeadlineWheel<string>(1000, 10_000);
        wheel.add('a', 12_000);
        wheel.add('b', 12_001);
        wheel.add('c', 15_500);
        expect(wheel.takeDue(11_999)).toEqual([]);
        expect(wheel.takeDue(12_000)).toEqual(['a']);
        expect(wheel.takeDue(12_999)).toEqual([]);
        expect(wheel.takeDue(13_000)).toEqual(['b']);
        expect(wheel.size).toBe(1);
        // A late tick takes everything it skipped.
        expect(wheel.takeDue(40_000)).toEqual(['c']);
        expect(wheel.size).toBe(0);
    });

    it('takes an item added for a time already passed with the next slot', () => {
        const wheel = new DeadlineWheel<string>(1000, 10_000);
        expect(wheel.takeDue(20_000)).toEqual([]);
        wheel.add('late', 5000);
        expect(wheel.takeDue(20_999)).toEqual([]);
        expect(wheel.takeDue(21_000)).toEqual(['late']);
    });

    it('keeps an item added twice twice (the caller checks what it takes)', () => {
        const wheel = new DeadlineWheel<string>(250, 0);
        wheel.add('x', 300);
        wheel.add('x', 600);
        expect(wheel.takeDue(500)).toEqual(['x']);
        expect(wheel.takeDue(750)).toEqual(['x']);
    });
});
