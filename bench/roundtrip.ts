/**
 * Command round trip: HA side → Mosquitto → bridge → simulated device → bridge → Mosquitto → HA
 * side, next to the plain round trip HA side → Mosquitto → echo client → Mosquitto → HA side
 * measured through the same broker in the same run. One process per role, as in
 * performance.md §3.1: Mosquitto, the bridge, each simulator, the echo client, and this process
 * as "HA".
 *
 * `npm run bench -- roundtrip [--commands 1000]` prints one JSON line: the baseline and each leg
 * (icomen, miio) with its ratios to the baseline; times in ms.
 */
import type {ChildProcess} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import {miioDeviceId} from '../src/families/miio/adapter.js';
import {simulatedCloudKey} from '../src/simulate/miio.js';
import {startMosquitto} from '../test/support/mosquitto.js';
import {freePort} from '../test/support/net.js';
import {printResult} from './stats.js';
import {AVAILABILITY_TOPICS, closedLoop, connect, DeviceTopicWatch, echoStep, fogbridge, runEcho, startEcho, stopProcess, type Summary, summarise, switchStep} from './support.js';

const commandsArg = process.argv.indexOf('--commands');
const COMMANDS = commandsArg > 0 ? Number(process.argv[commandsArg + 1]) : 1000;
const WARMUP = 200;
const MIIO_PLUG_DID = 277_900_001;
/** The first simulated icomen plug's MAC (src/simulate/icomen.ts numbers them from 00:95:69:00:00:00). */
const ICOMEN_PLUG_ID = 'icomen-009569000000';

if (process.argv.includes('--echo')) {
    await runEcho(process.argv[process.argv.indexOf('--echo') + 1]!);
} else {
    const mosquitto = await startMosquitto();
    const children: ChildProcess[] = [];
    const dataDir = mkdtempSync(path.join(tmpdir(), 'fogbridge-bench-'));
    try {
        children.push(await startEcho(fileURLToPath(import.meta.url), mosquitto.url));
        const ha = await connect(mosquitto.url);
        const baseline = summarise(await closedLoop(ha, COMMANDS, WARMUP, echoStep));

        const [balancerPort, sessionPort, udpPort] = [await freePort(), await freePort(), await freePort()];
        children.push(
            fogbridge([
                'run',
                '--mqtt-url', mosquitto.url,
                '--data-dir', dataDir,
                '--log-level', 'error',
                '--ha.deviceRatePerSecond', '10000',
                '--ha.deviceBurst', '100000',
                // A closed loop on one device is thousands of packets a second: far above a real device's budget.
                '--icomen.flood.packetsPerSecond', '1000000',
                '--icomen.flood.burst', '1000000',
                '--miio.flood.packetsPerSecond', '1000000',
                '--miio.flood.burst', '1000000',
                '--icomen.host', '127.0.0.1',
                '--icomen.balancerPort', String(balancerPort),
                '--icomen.sessionPort', String(sessionPort),
                '--miio.host', '127.0.0.1',
                '--miio.port', String(udpPort),
                '--miio.gslb.enabled', 'false',
                '--miio.devices', JSON.stringify([{did: MIIO_PLUG_DID, key: simulatedCloudKey(MIIO_PLUG_DID)}]),
                '--rainmaker.enabled', 'false',
            ]),
        );
        const watch = await DeviceTopicWatch.start(ha, AVAILABILITY_TOPICS);
        const online = watch.until([ICOMEN_PLUG_ID, miioDeviceId(MIIO_PLUG_DID)], 'online', 30_000);
        // The simulators retry until the bridge listens.
        await new Promise((resolve) => setTimeout(resolve, 3000));
        children.push(fogbridge(['simulate', 'icomen', '--count', '1', '--port', String(balancerPort)], {stderr: 'ignore'}));
        children.push(fogbridge(['simulate', 'miio', '--model', 'chuangmi.plug.m1', '--did-base', String(MIIO_PLUG_DID), '--port', String(udpPort)], {stderr: 'ignore'}));
        await online;

        const leg = async (deviceId: string): Promise<Summary> => summarise(await closedLoop(ha, COMMANDS, WARMUP, switchStep([deviceId])));
        const legs = {icomen: await leg(ICOMEN_PLUG_ID), miio: await leg(miioDeviceId(MIIO_PLUG_DID))};
        await ha.endAsync();
        const ratios = (ms: Summary): {ms: Summary; ratioP50: number; ratioP99: number} => ({
            ms,
            ratioP50: Number((ms.p50 / baseline.p50).toFixed(2)),
            ratioP99: Number((ms.p99 / baseline.p99).toFixed(2)),
        });
        printResult({
            bench: 'roundtrip',
            commands: COMMANDS,
            baselineMs: baseline,
            legs: {icomen: ratios(legs.icomen), miio: ratios(legs.miio)},
            targets: {p99Ms: 2, ratioP99: 3},
        });
    } finally {
        await Promise.all(children.map((child) => stopProcess(child)));
        await mosquitto.stop();
        rmSync(dataDir, {recursive: true, force: true});
    }
}
