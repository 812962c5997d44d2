import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';

import {afterEach, beforeEach, describe, expect, it} from 'vitest';

import {loadSettings} from '../../src/settings.js';
import {EventBus} from '../../src/core/bus.js';
import {DeviceRegistry} from '../../src/core/registry.js';
import {HaConnection} from '../../src/ha/connection.js';
import {OutboundQueue} from '../../src/ha/queue.js';
import {Replay} from '../../src/ha/replay.js';

describe('Replay', () => {
    let dir: string;
    let registry: DeviceRegistry;
    let replay: Replay;
    const calls: string[] = [];

    beforeEach(async () => {
        calls.length = 0;
        dir = mkdtempSync(path.join(tmpdir(), 'fogbridge-replay-'));
        registry = new DeviceRegistry({file: path.join(dir, 'registry.json'), bus: new EventBus()});
        await registry.load();
        for (const id of ['icomen-aa', 'icomen-bb']) registry.upsert({id, family: 'icomen', facts: {manufacturer: 'ALDI', model: 'plug', name: id}, features: []});
        const settings = loadSettings().ha;
        // Only request() is exercised: the connection and the queue are never started.
        const connection = new HaConnection('mqtt://127.0.0.1:1', settings, 'fogbridge/bridge/state');
        const queue = new OutboundQueue({capacity: 10, deviceRatePerSecond: 1, deviceBurst: 1, replayRatePerSecond: {fast: 10, paced: 10}, send: async () => {}});
        replay = new Replay({settings, registry, connection, queue});
    });
    afterEach(async () => {
        await registry.close();
        rmSync(dir, {recursive: true, force: true});
    });

    function part(name: string): void {
        replay.add({
            beforeDevices: () => calls.push(`${name} before`),
            deviceStates: (device) => calls.push(`${name} states ${device.id}`),
            device: (device) => calls.push(`${name} ${device.id}`),
            afterDevices: () => calls.push(`${name} after`),
        });
    }

    it('runs each step for every part before the next step', async () => {
        part('bridge');
        part('state');
        await replay.request();
        expect(calls).toEqual([
            'bridge before',
            'state before',
            // Both walks in one feed (the parts queue nothing here): the fast lane's first.
            'bridge states icomen-aa',
            'state states icomen-aa',
            'bridge states icomen-bb',
            'state states icomen-bb',
            'bridge icomen-aa',
            'state icomen-aa',
            'bridge icomen-bb',
            'state icomen-bb',
            'bridge after',
            'state after',
        ]);
    });

    it('waits for its preparations once, serving every request made meanwhile with one replay', async () => {
        let finishScan!: () => void;
        let scans = 0;
        replay.prepareWith(() => {
            scans++;
            return new Promise((resolve) => (finishScan = resolve));
        });
        replay.add({afterDevices: () => calls.push('replayed')});
        const first = replay.request();
        const second = replay.request();
        expect(calls).toEqual([]);
        finishScan();
        await Promise.all([first, second]);
        expect(calls).toEqual(['replayed']);
        await replay.request();
        expect({scans, calls}).toEqual({scans: 1, calls: ['replayed', 'replayed']});
    });
});
