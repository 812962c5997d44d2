import {mkdtempSync, readFileSync, rmSync, statSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';

import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest';
import yargs from 'yargs';

import {miioCommand} from '../../src/families/miio/cli.js';
import {miioFamily} from '../../src/families/miio/index.js';
import {familyCli} from '../../src/settings.js';

describe('fogbridge miio add', () => {
    let dir: string;

    beforeEach(() => {
        dir = mkdtempSync(path.join(tmpdir(), 'fogbridge-miio-cli-'));
        vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    });
    afterEach(() => {
        vi.restoreAllMocks();
        rmSync(dir, {recursive: true, force: true});
    });

    const run = (args: string[]): Promise<unknown> =>
        yargs(args).command(miioCommand(familyCli(miioFamily))).strict().fail((message, error) => {
            throw error ?? new Error(message);
        }).parseAsync();

    it('stores did and key (as a secret, file 0600) and creates the device entry', async () => {
        await run(['miio', 'add', '--did', '123456789', '--key', 'AbCdEfGh12345678', '--name', 'Kitchen robot', '--model', 'roborock.vacuum.s5', '--data-dir', dir]);
        const file = path.join(dir, 'registry.json');
        const document = JSON.parse(readFileSync(file, 'utf8')) as {devices: {id: string; facts: {name: string; model: string}; secrets: Record<string, string>; extra: Record<string, unknown>}[]};
        expect(document.devices).toHaveLength(1);
        const device = document.devices[0]!;
        expect(device.id).toBe('miio-123456789');
        expect(device.facts).toMatchObject({name: 'Kitchen robot', model: 'roborock.vacuum.s5'});
        expect(device.secrets).toEqual({cloudKey: 'AbCdEfGh12345678'});
        expect(device.extra).toMatchObject({did: 123456789, model: 'roborock.vacuum.s5'});
        expect(statSync(file).mode & 0o777).toBe(0o600);
        // Adding again updates the key without duplicating the device.
        await run(['miio', 'add', '--did', '123456789', '--key', 'ZyXwVuTs98765432', '--data-dir', dir]);
        const again = JSON.parse(readFileSync(file, 'utf8')) as typeof document;
        expect(again.devices).toHaveLength(1);
        expect(again.devices[0]!.secrets.cloudKey).toBe('ZyXwVuTs98765432');
        expect(again.devices[0]!.facts.name).toBe('Kitchen robot');
    });

    it('creates a data directory that does not exist yet (a fresh clone, a new --data-dir), private to the user', async () => {
        const fresh = path.join(dir, 'not', 'yet');
        await run(['miio', 'add', '--did', '123456789', '--key', 'AbCdEfGh12345678', '--data-dir', fresh]);
        expect(statSync(path.join(fresh, 'registry.json')).isFile()).toBe(true);
        expect(statSync(fresh).mode & 0o777).toBe(0o700);
    });

    it('refuses a local token, a short key and a bad did, saying why', async () => {
        await expect(run(['miio', 'add', '--did', '1', '--key', '00112233445566778899aabbccddeeff', '--data-dir', dir])).rejects.toThrow(/local token.*16-character key/);
        await expect(run(['miio', 'add', '--did', '1', '--key', 'short', '--data-dir', dir])).rejects.toThrow(/exactly 16 characters/);
        await expect(run(['miio', 'add', '--did', '4294967295', '--key', 'AbCdEfGh12345678', '--data-dir', dir])).rejects.toThrow(/--did/);
    });
});
