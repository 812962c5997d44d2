import {type ChildProcess, spawn} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';

import {afterEach, describe, expect, it} from 'vitest';

import {startDemo} from '../src/demo.js';
import {icomenFamily} from '../src/families/icomen/index.js';
import {type TestBridge, startTestBridge} from './support/bridge.js';
import {HaTestClient} from './support/ha-client.js';
import {freePort, waitFor} from './support/net.js';

describe('--demo', () => {
    let bridge: TestBridge | undefined;
    let ha: HaTestClient | undefined;
    let child: ChildProcess | undefined;
    let dataDir: string | undefined;

    afterEach(async () => {
        child?.kill('SIGKILL');
        await ha?.close();
        await bridge?.dispose();
        if (dataDir) rmSync(dataDir, {recursive: true, force: true});
        bridge = ha = child = dataDir = undefined;
    });

    it('removes its simulated devices from the registry and from Home Assistant when it stops', async () => {
        bridge = await startTestBridge({families: [icomenFamily], settings: {icomen: {host: '127.0.0.1'}}});
        ha = await HaTestClient.connect(bridge.haUrl);
        const demo = await startDemo(bridge, [icomenFamily]);
        const ids = await waitFor(() => {
            const online = bridge!.registry.list('icomen').filter((device) => device.link.online);
            return online.length === 3 ? online.map((device) => device.id) : null;
        }, 8000, 'three demo plugs online');
        for (const id of ids) await ha.waitForDiscovery(id, {timeoutMs: 8000});

        await demo.stop();

        expect(bridge.registry.list()).toEqual([]);
        for (const id of ids) {
            await ha.waitFor((message) => message.topic === ha!.discoveryTopic(id) && message.payload === '', {timeoutMs: 8000, what: `${id} removed from HA`});
        }
    });

    it('a demo that was killed leaves nothing behind after the next start', async () => {
        dataDir = mkdtempSync(path.join(tmpdir(), 'fogbridge-demo-'));
        const args = [
            '--data-dir', dataDir,
            '--ha.embeddedBroker.port', String(await freePort()),
            '--icomen.host', '127.0.0.1',
            '--icomen.balancerPort', String(await freePort()),
            '--icomen.sessionPort', String(await freePort()),
            '--miio.enabled', 'false',
            '--rainmaker.enabled', 'false',
            '--ecovacs.enabled', 'false',
            '--web.port', String(await freePort()),
        ];
        const registryIds = (): string[] => {
            try {
                return (JSON.parse(readFileSync(path.join(dataDir!, 'registry.json'), 'utf8')) as {devices: {id: string}[]}).devices.map((device) => device.id);
            } catch {
                return [];
            }
        };
        child = spawnCli(['run', '--demo', ...args]);
        await waitFor(() => registryIds().length === 3, 15_000, 'the demo plugs in the registry');
        child.kill('SIGKILL');
        await new Promise((resolve) => child!.once('exit', resolve));

        const restarted = spawnCli(['run', ...args]);
        child = restarted;
        let stderr = '';
        restarted.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        await waitFor(() => /removed 3 device\(s\) left by a demo/.test(stderr), 15_000, 'the leftovers removed');
        restarted.kill('SIGTERM');
        const code = await new Promise((resolve) => restarted.once('exit', resolve));
        expect(code).toBe(0);
        expect(registryIds()).toEqual([]);
    });
});

function spawnCli(args: string[]): ChildProcess {
    return spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {stdio: ['ignore', 'ignore', 'pipe'], env: {...process.env, FOGBRIDGE_LOG_LEVEL: 'info'}});
}
