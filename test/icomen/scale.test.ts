/**
 * Fault tests of issue 8 in short form: a connect storm, and a flooding plug among good ones. They
 * wait for conditions, never for time; the timing figures are the scale and flood benches' job.
 */
import {afterEach, describe, expect, it} from 'vitest';

import {deviceIdFor} from '../../src/families/icomen/adapter.js';
import {type SimulatedIcomenPlug, startIcomenPlugs} from '../../src/simulate/icomen.js';
import {waitFor} from '../support/net.js';
import {type Harness, quietLogger, startHarness} from './harness.js';

describe('icomen at scale', () => {
    let harness: Harness | null = null;
    let plugs: SimulatedIcomenPlug[] = [];

    afterEach(async () => {
        await Promise.all(plugs.map((plug) => plug.stop()));
        plugs = [];
        await harness?.dispose();
        harness = null;
    });

    const onlineCount = (): number => harness!.registry.list('icomen').filter((device) => device.link.online).length;

    it('brings 1,000 plugs back online after they all drop at once', async () => {
        harness = await startHarness();
        plugs = await startIcomenPlugs({count: 1000, port: harness.balancerPort, reconnectDelayMs: 20, logger: quietLogger()});
        await waitFor(() => onlineCount() === 1000, 20_000, '1,000 plugs online');

        for (const plug of plugs) plug.dropConnection();
        await waitFor(() => plugs.every((plug) => plug.sessions >= 2 && plug.connected), 20_000, 'every plug reconnected');
        await waitFor(() => onlineCount() === 1000, 20_000, '1,000 plugs online again');
        expect(harness.registry.count('icomen')).toBe(1000);
    }, 60_000);

    it('contains a flooding plug: drops and counts its excess, warns once, disconnects it, and another plug still obeys', async () => {
        harness = await startHarness({flood: {packetsPerSecond: 20, burst: 20, cutOffAfterDrops: 200, backoffSeconds: 30}});
        plugs = await startIcomenPlugs({count: 2, port: harness.balancerPort, reconnectDelayMs: 20, logger: quietLogger()});
        const [flooder, good] = plugs as [SimulatedIcomenPlug, SimulatedIcomenPlug];
        const floodId = deviceIdFor(flooder.mac);
        await waitFor(() => harness!.registry.get(floodId)?.link.online, 5000, 'the flooder online');
        const droppedBefore = harness.floodGuards.totals().dropped;

        for (let i = 0; i < 2000; i++) flooder.press();
        await waitFor(() => harness!.logs.some((line) => line.message.includes(`plug ${flooder.mac} keeps flooding`)), 5000, 'the flooder cut off');
        await waitFor(() => harness!.registry.get(floodId)?.link.online === false, 5000, 'the flooder offline');
        expect(harness.registry.get(floodId)!.link.lastError).toMatch(/flooding/);
        expect(harness.floodGuards.totals().dropped - droppedBefore).toBeGreaterThanOrEqual(200);
        expect(harness.logs.filter((line) => line.level === 'warn' && line.message.includes(flooder.mac) && line.message.includes('dropping the excess'))).toHaveLength(1);

        // Its reconnects are refused during the back-off; the good plug is served meanwhile.
        const goodId = deviceIdFor(good.mac);
        for (const on of [!good.on, good.on]) {
            await harness.router.route(goodId, 'switch', {kind: 'switch', on});
            await good.waitForState(on);
            await waitFor(() => harness!.registry.get(goodId)?.state.switch === on, 5000, `the good plug's state ${on}`);
        }
        expect(harness.registry.get(floodId)!.link.online).toBe(false);
    }, 30_000);
});
