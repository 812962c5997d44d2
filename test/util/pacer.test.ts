/** The pacer both live maps draw through: once now, once at the end of the interval with the newest, no idle timers. */
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest';

import {Pacer} from '../../src/util/pacer.js';

const INTERVAL_MS = 5000;

/** A pacer whose job draws the newest value set for a key, as the live maps do. */
function pacedDrawing() {
    const newest = new Map<string, number>();
    const drawn: [string, number][] = [];
    const pacer = new Pacer<string>({intervalMs: INTERVAL_MS, run: (key) => drawn.push([key, newest.get(key)!])});
    const update = (key: string, value: number): void => {
        newest.set(key, value);
        pacer.poke(key);
    };
    return {pacer, drawn, update};
}

describe('Pacer', () => {
    beforeEach(() => {
        vi.useFakeTimers();
    });
    afterEach(() => {
        vi.useRealTimers();
    });

    it('runs a burst once now and once at the end of the interval, with the newest data', () => {
        const {pacer, drawn, update} = pacedDrawing();
        for (let value = 1; value <= 10; value++) update('robot', value);
        expect(drawn).toEqual([['robot', 1]]);
        expect(vi.getTimerCount()).toBe(1);
        vi.advanceTimersByTime(INTERVAL_MS - 1);
        expect(drawn).toEqual([['robot', 1]]);
        vi.advanceTimersByTime(1);
        expect(drawn).toEqual([['robot', 1], ['robot', 10]]);
        // Nothing new since: no run, no timer.
        vi.advanceTimersByTime(INTERVAL_MS * 3);
        expect(drawn).toHaveLength(2);
        expect(vi.getTimerCount()).toBe(0);
        pacer.stop();
    });

    it('runs at once again when the interval is over, and paces each key on its own', () => {
        const {pacer, drawn, update} = pacedDrawing();
        update('a', 1);
        update('b', 1);
        vi.advanceTimersByTime(INTERVAL_MS);
        update('a', 2);
        expect(drawn).toEqual([['a', 1], ['b', 1], ['a', 2]]);
        update('a', 3);
        update('b', 2);
        expect(vi.getTimerCount()).toBe(1);
        expect(drawn.at(-1)).toEqual(['b', 2]);
        vi.advanceTimersByTime(INTERVAL_MS);
        expect(drawn.at(-1)).toEqual(['a', 3]);
        pacer.stop();
    });

    it('holds no timer for keys with nothing waiting', () => {
        const {pacer, update} = pacedDrawing();
        for (let robot = 0; robot < 50; robot++) update(`robot-${robot}`, 1);
        expect(vi.getTimerCount()).toBe(0);
        pacer.stop();
    });

    it('stopping, or forgetting a key, clears its pending run', () => {
        const {pacer, drawn, update} = pacedDrawing();
        update('a', 1);
        update('a', 2);
        update('b', 1);
        update('b', 2);
        expect(vi.getTimerCount()).toBe(2);
        pacer.forget('a');
        expect(vi.getTimerCount()).toBe(1);
        pacer.stop();
        expect(vi.getTimerCount()).toBe(0);
        vi.advanceTimersByTime(INTERVAL_MS * 2);
        expect(drawn).toEqual([['a', 1], ['b', 1]]);
    });
});
