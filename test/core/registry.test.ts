import {spawn} from 'node:child_process';
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';

import {afterEach, beforeEach, describe, expect, it} from 'vitest';

import {EventBus, type BusEvents} from '../../src/core/bus.js';
import type {Feature} from '../../src/core/device.js';
import {DeviceRegistry, RegistryCorruptError, RegistryLockedError} from '../../src/core/registry.js';

const SWITCH: Feature[] = [{id: 'switch', kind: 'switch', name: null}];
const description = (id: string) => ({id, family: 'icomen' as const, facts: {manufacturer: 'ALDI', model: 'plug', name: id}, features: SWITCH});

describe('DeviceRegistry', () => {
    let dir: string;
    let file: string;
    beforeEach(() => {
        dir = mkdtempSync(path.join(tmpdir(), 'fogbridge-registry-'));
        file = path.join(dir, 'registry.json');
    });
    afterEach(() => rmSync(dir, {recursive: true, force: true}));

    function record(bus: EventBus): {[K in keyof BusEvents]: BusEvents[K][]} {
        const seen = {device: [], state: [], link: [], removed: [], event: [], traffic: [], image: []} as {[K in keyof BusEvents]: BusEvents[K][]};
        for (const key of Object.keys(seen) as (keyof BusEvents)[]) bus.on(key, (payload) => (seen[key] as unknown[]).push(payload));
        return seen;
    }

    it('keeps a name the user gave over the adapter\'s, across a restart', async () => {
        const bus = new EventBus();
        const seen = record(bus);
        const registry = new DeviceRegistry({file, bus});
        await registry.load();
        registry.upsert(description('icomen-aa'));
        registry.rename('icomen-aa', 'Kettle');
        registry.rename('icomen-aa', 'Kettle');
        registry.upsert(description('icomen-aa'));
        expect(seen.device.map(({device}) => device.facts.name)).toEqual(['icomen-aa', 'Kettle']);
        await registry.close();
        const again = new DeviceRegistry({file, bus: new EventBus()});
        await again.load();
        again.upsert({...description('icomen-aa'), facts: {...description('icomen-aa').facts, firmware: '2'}});
        expect(again.get('icomen-aa')!.facts).toMatchObject({name: 'Kettle', firmware: '2'});
        await again.close();
    });

    it('announces new devices, real changes only, and keeps secrets off the bus', async () => {
        const bus = new EventBus();
        const seen = record(bus);
        const registry = new DeviceRegistry({file, bus});
        await registry.load();
        registry.upsert(description('icomen-aa'));
        registry.upsert(description('icomen-aa'));
        registry.setSecret('icomen-aa', 'token', 'super-secret-token');
        registry.updateState('icomen-aa', {switch: true});
        registry.updateState('icomen-aa', {switch: true});
        registry.updateState('icomen-aa', {nonsense: 1});
        registry.markSeen('icomen-aa');
        registry.markSeen('icomen-aa');
        expect(seen.device).toHaveLength(1);
        expect(JSON.stringify(seen)).not.toContain('super-secret-token');
        expect(seen.state).toEqual([{deviceId: 'icomen-aa', state: {switch: true}, changed: ['switch']}]);
        expect(seen.link.map((event) => event.link.online)).toEqual([true]);
        expect(registry.get('icomen-aa')!.link.packetsIn).toBe(2);
        await registry.close();
    });

    it('passes the messages a family notes on as traffic, for known devices only', async () => {
        const bus = new EventBus();
        const seen = record(bus);
        const registry = new DeviceRegistry({file, bus});
        await registry.load();
        registry.upsert(description('icomen-aa'));
        registry.noteTraffic('icomen-aa', 'in', {power: true});
        registry.noteTraffic('icomen-aa', 'out', {command: 'on'});
        registry.noteTraffic('icomen-unknown', 'out', {command: 'on'});
        expect(seen.traffic).toEqual([
            {deviceId: 'icomen-aa', direction: 'in', message: {power: true}},
            {deviceId: 'icomen-aa', direction: 'out', message: {command: 'on'}},
        ]);
        await registry.close();
    });

    it('keeps changes whose write failed and writes them at close', async () => {
        const registry = new DeviceRegistry({file, bus: new EventBus()});
        await registry.load();
        // A directory where the temporary file goes makes the next write fail.
        mkdirSync(`${file}.tmp`);
        registry.upsert(description('icomen-bb'));
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(existsSync(file)).toBe(false);
        rmSync(`${file}.tmp`, {recursive: true});
        await registry.close();
        const saved = JSON.parse(readFileSync(file, 'utf8')) as {devices: {id: string}[]};
        expect(saved.devices.map((device) => device.id)).toEqual(['icomen-bb']);
    });

    it('releases its lock at close even when the last write fails', async () => {
        const registry = new DeviceRegistry({file, bus: new EventBus()});
        await registry.load();
        mkdirSync(`${file}.tmp`);
        registry.upsert(description('icomen-cc'));
        await expect(registry.close()).rejects.toThrow();
        expect(existsSync(`${file}.lock`)).toBe(false);
    });

    it('has one writer at a time, and takes over the lock of a process that is gone', async () => {
        const first = new DeviceRegistry({file, bus: new EventBus()});
        await first.load();
        const second = new DeviceRegistry({file, bus: new EventBus()});
        await expect(second.load()).rejects.toThrow(RegistryLockedError);
        await expect(second.load()).rejects.toThrow(`is in use by fogbridge process ${process.pid}; stop it first`);
        await first.close();
        await second.load();
        await second.close();

        writeFileSync(`${file}.lock`, '2147483646\n');
        const third = new DeviceRegistry({file, bus: new EventBus()});
        await third.load();
        await third.close();
    });

    it('refuses malformed descriptions', async () => {
        const registry = new DeviceRegistry({file, bus: new EventBus()});
        expect(() => registry.upsert({...description('Bad Id')})).toThrow(/invalid device id/);
        expect(() => registry.upsert({...description('icomen-x'), features: [...SWITCH, ...SWITCH]})).toThrow(/duplicate feature/);
        expect(() => registry.upsert({...description('icomen-x'), features: [{id: 'x', kind: 'toaster', name: null} as unknown as Feature]})).toThrow(/unknown feature kind/);
    });

    it('persists devices, state and secrets in a 0600 file and starts them offline', async () => {
        const first = new DeviceRegistry({file, bus: new EventBus()});
        await first.load();
        first.upsert(description('icomen-bb'));
        first.updateState('icomen-bb', {switch: true});
        first.markSeen('icomen-bb');
        first.setSecret('icomen-bb', 'key', 'abcdefghijklmnop');
        await first.close();
        expect(statSync(file).mode & 0o777).toBe(0o600);

        const second = new DeviceRegistry({file, bus: new EventBus()});
        await second.load();
        const device = second.get('icomen-bb')!;
        expect(device.state).toEqual({switch: true});
        expect(device.secrets).toEqual({key: 'abcdefghijklmnop'});
        expect(device.link.online).toBe(false);
        expect(device.link.packetsIn).toBe(1);
    });

    it('reads an entity name written before names were translated as the device\'s own text, until its family describes it again', async () => {
        const battery: Feature = {id: 'battery', kind: 'sensor', name: {key: 'battery'}};
        const registry = new DeviceRegistry({file, bus: new EventBus()});
        await registry.load();
        registry.upsert({...description('icomen-ee'), features: [...SWITCH, battery]});
        await registry.close();
        const document = JSON.parse(readFileSync(file, 'utf8')) as {devices: {features: {name: unknown}[]}[]};
        document.devices[0]!.features[1]!.name = 'Battery';
        writeFileSync(file, JSON.stringify(document));

        const older = new DeviceRegistry({file, bus: new EventBus()});
        await older.load();
        expect(older.get('icomen-ee')!.features.map((feature) => feature.name)).toEqual([null, {text: 'Battery'}]);
        older.upsert({...description('icomen-ee'), features: [...SWITCH, battery]});
        expect(older.get('icomen-ee')!.features[1]!.name).toEqual({key: 'battery'});
        await older.close();
    });

    it('uses the last good copy when the registry is cut short, and says so', async () => {
        const registry = new DeviceRegistry({file, bus: new EventBus()});
        await registry.load();
        registry.upsert(description('icomen-cc'));
        await registry.flush();
        registry.upsert(description('icomen-dd'));
        await registry.close();
        const text = readFileSync(file, 'utf8');
        writeFileSync(file, text.slice(0, text.length / 2));

        const recovered = new DeviceRegistry({file, bus: new EventBus()});
        await recovered.load();
        expect(recovered.list().map((device) => device.id)).toEqual(['icomen-cc']);
    });

    it('fails start-up with a clear error when neither the registry nor its backup is readable', async () => {
        writeFileSync(file, '{"version":1,"devices":[{"id":');
        const registry = new DeviceRegistry({file, bus: new EventBus()});
        await expect(registry.load()).rejects.toThrow(RegistryCorruptError);
        await expect(registry.load()).rejects.toThrow(/registry\.json \(\d+ bytes\) is not a valid document/);
    });

    it('never leaves an unreadable registry when the writer is killed at any moment', async () => {
        const writer = path.join(dir, 'writer.mts');
        writeFileSync(
            writer,
            `import {EventBus} from ${JSON.stringify(path.resolve('src/core/bus.ts'))};
import {DeviceRegistry} from ${JSON.stringify(path.resolve('src/core/registry.ts'))};
import {setLogLevel} from ${JSON.stringify(path.resolve('src/util/logger.ts'))};
setLogLevel('error');
const registry = new DeviceRegistry({file: process.argv[2], bus: new EventBus(), stateSaveDelayMs: 0});
await registry.load();
let n = registry.list().length;
process.stdout.write('ready\\n');
for (;;) {
    registry.upsert({id: 'icomen-' + (n++).toString(16).padStart(12, '0'), family: 'icomen', facts: {manufacturer: 'x', model: 'y', name: 'z'.repeat(200)}, features: [{id: 'switch', kind: 'switch', name: null}]});
    await registry.flush();
}
`,
        );
        let previousCount = 0;
        for (let round = 0; round < 8; round++) {
            const child = spawn(process.execPath, ['--import', 'tsx', writer, file], {stdio: ['ignore', 'pipe', 'inherit']});
            await new Promise<void>((resolve, reject) => {
                child.stdout.once('data', () => resolve());
                child.once('exit', (code) => reject(new Error(`writer exited early with code ${code}`)));
            });
            await new Promise((resolve) => setTimeout(resolve, 40 + Math.random() * 120));
            child.kill('SIGKILL');
            await new Promise((resolve) => child.once('exit', resolve));

            const registry = new DeviceRegistry({file, bus: new EventBus()});
            await registry.load();
            const count = registry.list().length;
            await registry.close();
            // Nothing once written is lost: each round starts from what the last one saved.
            expect(count).toBeGreaterThanOrEqual(previousCount);
            previousCount = count;
        }
        expect(previousCount).toBeGreaterThan(0);
    }, 60_000);
});
