/** A restarted bridge shows the last map at once (retained image topic, web UI), before the robot sends one. */
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';

import {afterEach, describe, expect, it} from 'vitest';

import {miioDeviceId} from '../../src/families/miio/adapter.js';
import {miioFamily} from '../../src/families/miio/index.js';
import {type MiioSimulator, simulatedCloudKey, startMiioSimulator} from '../../src/simulate/miio.js';
import {startTestBridge, type TestBridge} from '../support/bridge.js';
import {HaTestClient} from '../support/ha-client.js';
import {freePort} from '../support/net.js';

const VACUUM_DID = 277_300_001;
const vacuumId = miioDeviceId(VACUUM_DID);

describe('miIO maps across a restart', () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'fogbridge-map-restart-'));
    let bridge: TestBridge | undefined;
    let ha: HaTestClient | undefined;
    let robot: MiioSimulator | undefined;

    afterEach(async () => {
        await robot?.stop();
        await ha?.close();
        await bridge?.dispose();
        rmSync(dataDir, {recursive: true, force: true});
    });

    /** The bridge over the kept data directory, on the embedded HA broker: its retained messages die with it. */
    async function startBridge(udpPort: number, webPort: number): Promise<TestBridge> {
        return startTestBridge({
            families: [miioFamily],
            dataDir,
            settings: {
                web: {enabled: true, host: '127.0.0.1', port: webPort},
                miio: {
                    host: '127.0.0.1',
                    port: udpPort,
                    gslb: {enabled: false},
                    maps: {renderIntervalSeconds: 1, freshMapIntervalSeconds: 2},
                    devices: [{did: VACUUM_DID, key: simulatedCloudKey(VACUUM_DID), name: 'Robot'}],
                },
            },
        });
    }

    it('re-publishes the kept picture on the retained image topic and serves it on the web UI', async () => {
        const [udpPort, webPort] = [await freePort(), await freePort()];
        const imageTopic = `fogbridge/${vacuumId}/map/image`;
        bridge = await startBridge(udpPort, webPort);
        ha = await HaTestClient.connect(bridge.haUrl);
        robot = await startMiioSimulator({model: 'roborock.vacuum.s5', host: '127.0.0.1', port: udpPort, didBase: VACUUM_DID, tickMs: 60_000});
        await ha.waitFor((message) => message.topic === imageTopic && message.payload.length > 0, {timeoutMs: 15_000, what: 'the first map picture'});
        await robot.stop();
        robot = undefined;
        await bridge.stop();
        const drawn = ha.messages.filter((message) => message.topic === imageTopic).at(-1)!;
        await ha.close();

        // No robot this time: whatever picture there is comes from the data directory.
        bridge = await startBridge(udpPort, webPort);
        ha = await HaTestClient.connect(bridge.haUrl);
        const kept = await ha.waitFor((message) => message.topic === imageTopic && message.payload.length > 0, {timeoutMs: 8000, what: 'the kept map picture'});
        expect(kept.payload).toBe(drawn.payload);
        // The status goes with the picture: still the last run's, not "no map".
        await ha.waitForState(vacuumId, (state) => state.map_status === 'ok');
        const served = await fetch(`http://127.0.0.1:${webPort}/api/devices/${vacuumId}/image/map`);
        expect(served.status).toBe(200);
        expect(Buffer.from(await served.arrayBuffer()).toString('base64')).toBe(drawn.payload);
    });
});
