import {mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';

import * as tar from 'tar';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';

import {EventBus} from '../../src/core/bus.js';
import {DeviceRegistry, registryFile} from '../../src/core/registry.js';
import {loadOrCreateCa} from '../../src/edge/tls/ca.js';
import {runCli as cli} from '../support/cli.js';

/** Every file under `dir` (relative path → bytes and mode), as a restore must reproduce it. */
function snapshot(dir: string): Map<string, {bytes: string; mode: number}> {
    const files = new Map<string, {bytes: string; mode: number}>();
    for (const entry of readdirSync(dir, {recursive: true, withFileTypes: true})) {
        if (!entry.isFile()) continue;
        const full = path.join(entry.parentPath, entry.name);
        files.set(path.relative(dir, full), {bytes: readFileSync(full).toString('base64'), mode: statSync(full).mode & 0o777});
    }
    return files;
}

describe('fogbridge backup', () => {
    let work: string;
    let source: string;

    beforeEach(async () => {
        work = mkdtempSync(path.join(tmpdir(), 'fogbridge-backup-'));
        source = path.join(work, 'data');
        mkdirSync(source);
        const registry = new DeviceRegistry({file: registryFile(source), bus: new EventBus()});
        await registry.load();
        registry.upsert({id: 'icomen-0095691a2b3c', family: 'icomen', facts: {manufacturer: 'Easy Home', model: 'plug', name: 'Kitchen'}, features: [{id: 'switch', kind: 'switch', name: null}]});
        registry.upsert({id: 'miio-277000001', family: 'miio', facts: {manufacturer: 'Xiaomi', model: 'chuangmi.plug.m1', name: 'Lamp'}, features: []});
        registry.setSecret('miio-277000001', 'cloudKey', 'AbCdEfGh12345678');
        await registry.flush();
        // Written twice, so that the `.bak` hard link exists too, and closed without releasing its lock: as a running bridge leaves it.
        registry.rename('icomen-0095691a2b3c', 'Kitchen plug');
        await registry.flush();
        await loadOrCreateCa(source);
    });

    afterEach(() => rmSync(work, {recursive: true, force: true}));

    it('restores every device, key and certificate into an empty directory, modes kept', async () => {
        const archive = path.join(work, 'backup.tar.gz');
        const created = await cli(['backup', 'create', archive, '--data-dir', source]);
        expect(created.stderr).toBe('');
        expect(created.code).toBe(0);
        expect(statSync(archive).mode & 0o777).toBe(0o600);

        const target = path.join(work, 'new-machine', 'data');
        const restored = await cli(['backup', 'restore', archive, '--data-dir', target]);
        expect(restored.stderr).toBe('');
        expect(restored.code).toBe(0);

        const expected = new Map([...snapshot(source)].filter(([file]) => !/\.(lock|bak|tmp)$/.test(file)));
        expect(expected.get('registry.json')?.mode).toBe(0o600);
        expect([...expected.keys()].some((file) => file.startsWith('tls/'))).toBe(true);
        expect(snapshot(target)).toEqual(expected);

        const registry = new DeviceRegistry({file: registryFile(target), bus: new EventBus()});
        await registry.load();
        expect(registry.list().map((device) => [device.id, device.facts.name])).toEqual([
            ['icomen-0095691a2b3c', 'Kitchen plug'],
            ['miio-277000001', 'Lamp'],
        ]);
        expect(registry.get('miio-277000001')?.secrets.cloudKey).toBe('AbCdEfGh12345678');
        await registry.close();
    });

    it('refuses a directory that is not empty, and an archive that is not a backup', async () => {
        const archive = path.join(work, 'backup.tar.gz');
        await cli(['backup', 'create', archive, '--data-dir', source]);
        const occupied = await cli(['backup', 'restore', archive, '--data-dir', source]);
        expect(occupied.code).toBe(2);
        expect(occupied.stderr).toContain('is not empty');

        const stranger = path.join(work, 'stranger.tar.gz');
        writeFileSync(path.join(work, 'notes.txt'), 'hello');
        await tar.create({gzip: true, file: stranger, cwd: work}, ['notes.txt']);
        const notOurs = await cli(['backup', 'restore', stranger, '--data-dir', path.join(work, 'empty')]);
        expect(notOurs.code).toBe(2);
        expect(notOurs.stderr).toContain('not a fogbridge backup');

        writeFileSync(path.join(work, 'garbage.tar.gz'), 'not an archive at all');
        const garbage = await cli(['backup', 'restore', path.join(work, 'garbage.tar.gz'), '--data-dir', path.join(work, 'empty')]);
        expect(garbage.code).toBe(2);
        expect(garbage.stderr).toContain('not a readable backup');
    });

    it('never overwrites an existing file when creating', async () => {
        const archive = path.join(work, 'backup.tar.gz');
        writeFileSync(archive, 'precious');
        const outcome = await cli(['backup', 'create', archive, '--data-dir', source]);
        expect(outcome.code).not.toBe(0);
        expect(readFileSync(archive, 'utf8')).toBe('precious');
    });
});
