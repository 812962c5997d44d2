/**
 * The bridge process SIGKILLed while 200 plugs connect and report: the next start finds the
 * registry whole, and the plugs coming back are the same devices, not new ones.
 */
import {type ChildProcess, spawn} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';

import {afterEach, describe, expect, it} from 'vitest';

import {parseRegistry, registryFile} from '../../src/core/registry.js';
import {type SimulatedIcomenPlug, startIcomenPlugs} from '../../src/simulate/icomen.js';
import {readJsonWithBackup} from '../../src/util/atomic-file.js';
import {freePort, waitFor} from '../support/net.js';
import {quietLogger} from './harness.js';

const PLUGS = 200;

describe('bridge killed under load', () => {
    let dataDir = '';
    let bridge: ChildProcess | null = null;
    let plugs: SimulatedIcomenPlug[] = [];
    let load: NodeJS.Timeout | null = null;

    afterEach(async () => {
        if (load) clearInterval(load);
        await Promise.all(plugs.map((plug) => plug.stop()));
        plugs = [];
        if (bridge && bridge.exitCode === null && bridge.signalCode === null) {
            const exited = new Promise((resolve) => bridge!.once('exit', resolve));
            bridge.kill('SIGKILL');
            await exited;
        }
        bridge = null;
        rmSync(dataDir, {recursive: true, force: true});
    });

    async function registeredIds(): Promise<string[]> {
        const read = await readJsonWithBackup(registryFile(dataDir), parseRegistry);
        if (read.status === 'corrupt') throw new Error(read.error);
        return read.status === 'missing' ? [] : read.value.map((device) => device.id);
    }

    it('comes back with the registry intact and no duplicate devices', async () => {
        dataDir = mkdtempSync(path.join(tmpdir(), 'fogbridge-kill-'));
        const [balancerPort, sessionPort, brokerPort] = [await freePort(), await freePort(), await freePort()];
        const run = (): ChildProcess =>
            spawn(
                process.execPath,
                [
                    '--import', 'tsx', 'src/cli.ts', 'run',
                    '--data-dir', dataDir,
                    '--log-level', 'error',
                    '--ha.embeddedBroker.port', String(brokerPort),
                    '--icomen.host', '127.0.0.1',
                    '--icomen.balancerPort', String(balancerPort),
                    '--icomen.sessionPort', String(sessionPort),
                    '--miio.enabled', 'false',
                    '--rainmaker.enabled', 'false',
                    '--ecovacs.enabled', 'false',
                    '--web.enabled', 'false',
                ],
                {stdio: 'ignore'},
            );
        bridge = run();
        // The plugs retry until the bridge listens, as real ones do.
        plugs = await startIcomenPlugs({count: PLUGS, port: balancerPort, reconnectDelayMs: 50, logger: quietLogger()});
        await waitFor(async () => (await registeredIds()).length === PLUGS, 15_000, 'every plug written to the registry');

        // Load: button presses, each a state change the registry batches into its writes.
        load = setInterval(() => {
            for (let i = 0; i < 20; i++) plugs[Math.floor(Math.random() * PLUGS)]!.press();
        }, 5);
        await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 300));
        const killed = new Promise((resolve) => bridge!.once('exit', resolve));
        bridge.kill('SIGKILL');
        await killed;

        const afterKill = await registeredIds();
        expect(new Set(afterKill).size).toBe(afterKill.length);
        expect(afterKill).toHaveLength(PLUGS);

        bridge = run();
        await waitFor(() => plugs.every((plug) => plug.sessions >= 2 && plug.connected), 20_000, 'every plug reconnected');
        clearInterval(load);
        load = null;
        const exited = new Promise((resolve) => bridge!.once('exit', resolve));
        bridge.kill('SIGTERM');
        await exited;
        const afterRestart = await registeredIds();
        expect(new Set(afterRestart).size).toBe(afterRestart.length);
        expect(afterRestart.sort()).toEqual(afterKill.sort());
    }, 60_000);
});
