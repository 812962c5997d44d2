/**
 * One flooding plug among many (issue 8): the other plugs' command p99 without and with a plug
 * that sends 0x06 reports as fast as it can, in separate processes (bridge, fleet, flooder, echo),
 * with the plain broker echo measured in the same run.
 *
 * `npm run bench -- flood [--devices 1000] [--commands 1000]` prints one JSON line with both
 * figures, their ratio (target ≤ 2), and the bridge's flood counters as HA sees them.
 */
import {type ChildProcess, spawn} from 'node:child_process';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import {deviceIdFor} from '../src/families/icomen/adapter.js';
import {macHex} from '../src/families/icomen/codec.js';
import {simulatedPlugMac, startIcomenPlugs} from '../src/simulate/icomen.js';
import {createLogger, setLogLevel} from '../src/util/logger.js';
import {startMosquitto} from '../test/support/mosquitto.js';
import {freePort} from '../test/support/net.js';
import {printResult} from './stats.js';
import {argument, AVAILABILITY_TOPICS, DeviceTopicWatch, closedLoop, connect, echoStep, fogbridge, runEcho, sleep, startEcho, stopProcess, summarise, switchStep} from './support.js';

const DEVICES = Number(argument('devices', '1000'));
const COMMANDS = Number(argument('commands', '1000'));
const WARMUP = 100;
const COMMANDED_DEVICES = 20;
/** Far from the fleet's MACs. */
const FLOODER_INDEX = 0x800000;
const self = fileURLToPath(import.meta.url);

/** The flooder: one plug that reports its button as fast as its socket takes it, reconnecting whenever cut off. */
async function runFlooder(port: number): Promise<void> {
    setLogLevel('error');
    const [plug] = await startIcomenPlugs({count: 1, port, macOffset: FLOODER_INDEX, reconnectDelayMs: 200, logger: createLogger('bench:flooder')});
    process.stdout.write('ready\n');
    for (;;) {
        for (let i = 0; i < 200; i++) plug!.press();
        await new Promise((resolve) => setImmediate(resolve));
    }
}

if (process.argv.includes('--echo')) {
    await runEcho(argument('echo', ''));
} else if (process.argv.includes('--flooder')) {
    await runFlooder(Number(argument('flooder', '0')));
} else {
    const mosquitto = await startMosquitto();
    const children: ChildProcess[] = [];
    const dir = mkdtempSync(path.join(tmpdir(), 'fogbridge-flood-'));
    try {
        children.push(await startEcho(self, mosquitto.url));
        const ha = await connect(mosquitto.url);
        const [balancerPort, sessionPort] = [await freePort(), await freePort()];
        const settingsFile = path.join(dir, 'settings.json');
        writeFileSync(
            settingsFile,
            JSON.stringify({
                dataDir: path.join(dir, 'data'),
                logLevel: 'warn',
                ha: {mqtt: {url: mosquitto.url}},
                icomen: {host: '127.0.0.1', balancerPort, sessionPort},
                miio: {enabled: false},
                rainmaker: {enabled: false},
            }),
        );
        const watch = await DeviceTopicWatch.start(ha, AVAILABILITY_TOPICS);
        children.push(fogbridge(['run', '--config', settingsFile], {stderr: 'ignore'}));
        const ids = Array.from({length: DEVICES}, (_, index) => deviceIdFor(macHex(simulatedPlugMac(index))));
        children.push(fogbridge(['simulate', 'icomen', '--count', String(DEVICES), '--port', String(balancerPort)], {stderr: 'ignore'}));
        await watch.until(ids, 'online', 120_000);
        const commanded = Array.from({length: COMMANDED_DEVICES}, (_, index) => ids[Math.floor((index * DEVICES) / COMMANDED_DEVICES)]!);

        const echoMs = summarise(await closedLoop(ha, COMMANDS, WARMUP, echoStep));
        const step = switchStep(commanded);
        const withoutFlood = summarise(await closedLoop(ha, COMMANDS, WARMUP, step));

        const flooder = spawn(process.execPath, ['--import', 'tsx', self, '--flooder', String(balancerPort)], {stdio: ['ignore', 'pipe', 'ignore']});
        children.push(flooder);
        await new Promise((resolve) => flooder.stdout!.once('data', resolve));
        // Let the flood reach the guard, past the plug's burst.
        await sleep(1000);
        const withFlood = summarise(await closedLoop(ha, COMMANDS, WARMUP, step));
        const diagnostics = await new Promise<string>((resolve) => {
            ha.on('message', (topic, payload) => {
                if (topic === 'fogbridge/bridge/diagnostics' && payload.toString().includes('"flood_dropped":') && !payload.toString().includes('"flood_dropped":0,')) resolve(payload.toString());
            });
            void ha.subscribeAsync('fogbridge/bridge/diagnostics', {qos: 0});
        });
        await ha.endAsync();
        printResult({
            bench: 'flood',
            devices: DEVICES,
            commands: COMMANDS,
            echoMs,
            withoutFloodMs: withoutFlood,
            withFloodMs: withFlood,
            ratioP99: Number((withFlood.p99 / withoutFlood.p99).toFixed(2)),
            flooder: deviceIdFor(macHex(simulatedPlugMac(FLOODER_INDEX))),
            bridgeDiagnostics: JSON.parse(diagnostics) as unknown,
            targets: {ratioP99: 2},
        });
    } finally {
        await Promise.all(children.map((child) => stopProcess(child, 30_000)));
        await mosquitto.stop();
        rmSync(dir, {recursive: true, force: true});
    }
}
