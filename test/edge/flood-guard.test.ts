import {describe, expect, it} from 'vitest';

import {FloodGuard, FloodGuards} from '../../src/edge/flood-guard.js';
import {createLogger, type LogLevel, setLogSink} from '../../src/util/logger.js';

function guard(overrides: Partial<ConstructorParameters<typeof FloodGuard>[0]> = {}) {
    let clock = 1_000_000;
    const warnings: string[] = [];
    setLogSink((level: LogLevel, _namespace, message) => {
        if (level === 'warn') warnings.push(message);
    });
    const flood = new FloodGuard({packetsPerSecond: 10, burst: 5, cutOffAfterDrops: 20, backoffMs: 60_000, noun: 'plug', log: createLogger('test:flood'), now: () => clock, ...overrides});
    return {flood, warnings, advance: (ms: number) => (clock += ms)};
}

describe('FloodGuard', () => {
    it('passes a device within its budget and refills it over time', () => {
        const {flood, advance} = guard();
        for (let i = 0; i < 5; i++) expect(flood.admit('a')).toBe('pass');
        expect(flood.admit('a')).toBe('drop');
        advance(100);
        expect(flood.admit('a')).toBe('pass');
        expect(flood.stats()).toMatchObject({dropped: 1, flooding: 1});
        flood.close();
        setLogSink(null);
    });

    it('drops and counts the excess, warns once naming the device, then cuts it off for the back-off', () => {
        const {flood, warnings, advance} = guard();
        const verdicts = Array.from({length: 25}, () => flood.admit('aabbccddeeff'));
        expect(verdicts.filter((verdict) => verdict === 'pass')).toHaveLength(5);
        expect(verdicts.at(-1)).toBe('cut-off');
        expect(warnings.filter((line) => line.includes('aabbccddeeff') && line.includes('dropping'))).toHaveLength(1);
        expect(warnings.filter((line) => line.includes('keeps flooding'))).toHaveLength(1);
        expect(flood.isCutOff('aabbccddeeff')).toBe(true);
        // Another device is not affected.
        expect(flood.admit('other')).toBe('pass');
        advance(60_001);
        expect(flood.isCutOff('aabbccddeeff')).toBe(false);
        expect(flood.admit('aabbccddeeff')).toBe('pass');
        expect(flood.stats()).toMatchObject({dropped: 20, cutOffs: 1});
        flood.close();
        setLogSink(null);
    });

    it('forgets a flood after a quiet second, so occasional bursts are never cut off', () => {
        const {flood, advance} = guard({packetsPerSecond: 1, burst: 1, cutOffAfterDrops: 3});
        for (let round = 0; round < 10; round++) {
            flood.admit('bursty');
            expect(flood.admit('bursty')).toBe('drop');
            advance(1500);
        }
        expect(flood.stats().cutOffs).toBe(0);
        advance(10_001);
        expect(flood.stats().flooding).toBe(0);
        flood.close();
        setLogSink(null);
    });

    it('sums the live guards of one registry for the bridge diagnostics and leaves closed ones out', () => {
        setLogSink(() => {});
        const guards = new FloodGuards();
        const settings = {packetsPerSecond: 10, burst: 5, cutOffAfterDrops: 20, backoffSeconds: 60};
        const [first, second] = [guards.create(settings, 'plug', createLogger('test:flood')), guards.create(settings, 'plug', createLogger('test:flood'))];
        for (let i = 0; i < 8; i++) first.admit('x');
        for (let i = 0; i < 6; i++) second.admit('y');
        expect(guards.totals()).toEqual({dropped: 4, cutOffs: 0, flooding: 2});
        first.close();
        expect(guards.totals()).toEqual({dropped: 1, cutOffs: 0, flooding: 1});
        setLogSink(null);
    });
});
