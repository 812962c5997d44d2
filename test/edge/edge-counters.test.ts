/** The edge owns its counters: two bridges in one process (each with its own edge) never mix them. */
import {afterEach, describe, expect, it} from 'vitest';

import {DeviceEdge} from '../../src/edge/index.js';
import {settingsSchema} from '../../src/settings.js';
import {createLogger, setLogSink} from '../../src/util/logger.js';

const BUDGET = {packetsPerSecond: 10, burst: 5, cutOffAfterDrops: 1000, backoffSeconds: 60};

describe('device edge counters', () => {
    afterEach(() => setLogSink(null));

    it('sums its own families’ flood guards and unanswered hellos, never another edge’s', async () => {
        setLogSink(() => {});
        const settings = settingsSchema.parse({}).edge;
        const [first, second] = [new DeviceEdge(settings, '/nonexistent'), new DeviceEdge(settings, '/nonexistent')];
        const firstFamily = first.forFamily('toy');
        const secondFamily = second.forFamily('toy');
        const flooded = firstFamily.floodGuard(BUDGET, 'toy device', createLogger('test:edge'));
        const calm = secondFamily.floodGuard(BUDGET, 'toy device', createLogger('test:edge'));
        let firstHellos = 7;
        firstFamily.reportUnansweredHellos(() => firstHellos);
        secondFamily.reportUnansweredHellos(() => 0);

        for (let i = 0; i < 25; i++) flooded.admit('loud');
        calm.admit('quiet');
        expect(first.counters()).toEqual({flood: {dropped: 20, cutOffs: 0, flooding: 1}, hellosUnanswered: 7});
        expect(second.counters()).toEqual({flood: {dropped: 0, cutOffs: 0, flooding: 0}, hellosUnanswered: 0});
        firstHellos = 9;
        expect(first.counters().hellosUnanswered).toBe(9);

        // A family that stops takes its counters with it.
        flooded.close();
        await firstFamily.release();
        expect(first.counters()).toEqual({flood: {dropped: 0, cutOffs: 0, flooding: 0}, hellosUnanswered: 0});
        calm.close();
    });
});
