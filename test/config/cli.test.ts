import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';

import {afterEach, beforeEach, describe, expect, it} from 'vitest';

import {runCli as cli} from '../support/cli.js';
import {freePort} from '../support/net.js';

/** A registry file as the bridge writes it, holding one icomen plug. */
function plug(id: string, secrets: Record<string, string>): object {
    return {
        id,
        family: 'icomen',
        facts: {manufacturer: 'ALDI', model: 'plug', name: id},
        link: {online: false, lastSeen: null, lastError: null, packetsIn: 0, packetsOut: 0, badPackets: 0, timeouts: 0, signalDbm: null},
        features: [{id: 'switch', kind: 'switch', name: null}],
        state: {},
        extra: {},
        secrets,
    };
}

function writeRegistry(dataDir: string, ...devices: object[]): void {
    writeFileSync(path.join(dataDir, 'registry.json'), JSON.stringify({version: 1, devices}));
}

describe('command line', () => {
    let dataDir: string;
    beforeEach(() => {
        dataDir = mkdtempSync(path.join(tmpdir(), 'fogbridge-cli-'));
    });
    afterEach(() => rmSync(dataDir, {recursive: true, force: true}));

    it('refuses a mistyped command in one line instead of starting the bridge', async () => {
        const port = await freePort();
        const outcome = await cli(['devcies', '--data-dir', dataDir, '--ha.embeddedBroker.port', String(port)]);
        expect(outcome.code).toBe(2);
        expect(outcome.stderr.trim()).toBe('fogbridge: unknown command or argument "devcies" (see fogbridge --help)');
    });

    it('lists devices without their secrets, and explains a damaged registry in one line', async () => {
        writeRegistry(dataDir, plug('icomen-aa', {token: 'super-secret-token'}));
        const listed = await cli(['devices', '--json', '--data-dir', dataDir]);
        expect(listed.code).toBe(0);
        expect(listed.stdout).toContain('icomen-aa');
        expect(listed.stdout).not.toContain('super-secret-token');

        writeFileSync(path.join(dataDir, 'registry.json'), JSON.stringify({version: 1}));
        const damaged = await cli(['devices', '--data-dir', dataDir]);
        expect(damaged.code).toBe(2);
        expect(damaged.stderr.trim().split('\n')).toHaveLength(1);
        expect(damaged.stderr).toContain('"devices" is not a list');
    });

    it('removes a device from the registry, and says so when there is none', async () => {
        writeRegistry(dataDir, plug('icomen-bb', {}));
        const removed = await cli(['remove', 'icomen-bb', '--data-dir', dataDir]);
        expect(removed.code).toBe(0);
        expect(removed.stdout).toContain('removed icomen-bb');
        const listed = await cli(['devices', '--json', '--data-dir', dataDir]);
        expect(JSON.parse(listed.stdout)).toEqual([]);
        const again = await cli(['remove', 'icomen-bb', '--data-dir', dataDir]);
        expect(again.code).toBe(2);
        expect(again.stderr.trim().split('\n').at(-1)).toMatch(/^fogbridge: no device "icomen-bb" in .*registry\.json \(see fogbridge devices\)$/);
    });
});
