import {afterEach, describe, expect, it} from 'vitest';

import type {SwitchCommand} from '../../src/core/commands.js';
import type {VacuumState} from '../../src/core/device.js';
import {miioDeviceId} from '../../src/families/miio/adapter.js';
import {DEMO_MIIO_DEVICES, type MiioSimulator, simulatedCloudKey, startMiioDemo, startMiioSimulator} from '../../src/simulate/miio.js';
import {waitFor} from '../support/net.js';
import {type MiioHarness, startMiioService} from './harness.js';

describe('bridge and simulated devices over real UDP sockets', () => {
    let harness: MiioHarness | undefined;
    let simulator: MiioSimulator | undefined;

    afterEach(async () => {
        await simulator?.stop();
        await harness?.stop();
        simulator = undefined;
        harness = undefined;
    });

    it('a vacuum connects, tells its model, is polled, and "start" from the router makes it clean', async () => {
        const did = 277_000_101;
        harness = await startMiioService({devices: [{did, key: simulatedCloudKey(did)}], pollIntervalSeconds: 5});
        simulator = await startMiioSimulator({model: 'roborock.vacuum.s5', host: '127.0.0.1', port: harness.port, didBase: did, tickMs: 60_000});
        const id = miioDeviceId(did);
        const registry = harness.registry;
        await waitFor(() => registry.get(id)?.state.vacuum, 5000, 'the first status');
        const device = registry.get(id)!;
        expect(device.facts).toMatchObject({manufacturer: 'Roborock', model: 'roborock.vacuum.s5', firmware: '3.5.8_002034'});
        expect(device.link.online).toBe(true);
        expect(device.state).toMatchObject({vacuum: {activity: 'docked', fanSpeed: 'medium'}, battery: 100, cloud_key: 'ok', status: 'charging'});
        expect(device.features.map((feature) => feature.id)).toContain('event');
        // The local token is kept as a secret only.
        expect(device.secrets.localToken).toBe(simulator.devices[0]!.localToken);
        expect(JSON.stringify(device.extra)).not.toContain(simulator.devices[0]!.localToken);

        await harness.router.route(id, 'vacuum', {kind: 'vacuum', action: 'start'});
        await waitFor(() => (registry.get(id)?.state.vacuum as VacuumState | undefined)?.activity === 'cleaning', 5000, 'cleaning');
        expect(simulator.devices[0]!.received).toContain('app_start');
        // Cleaning drains the battery; the robot pushes every change.
        for (let tick = 0; tick < 3; tick++) simulator.devices[0]!.tick();
        await waitFor(() => registry.get(id)?.state.battery === 97, 5000, 'the battery to drain');
        expect(registry.get(id)!.state.clean_time).toBe(3);

        await harness.router.route(id, 'fan_speed', {kind: 'select', option: 'max'});
        await waitFor(() => registry.get(id)?.state.fan_speed === 'max', 5000, 'fan speed max');
        await expect(harness.router.route(id, 'vacuum', {kind: 'vacuum', action: 'set_fan_speed', fanSpeed: 'warp'})).rejects.toThrow(/unknown fan speed/);

        const events: string[] = [];
        harness.bus.on('event', (event) => events.push(event.eventType));
        await harness.router.route(id, 'vacuum', {kind: 'vacuum', action: 'return_to_base'});
        await waitFor(() => (registry.get(id)?.state.vacuum as VacuumState | undefined)?.activity === 'returning', 5000, 'returning');
        for (let tick = 0; tick < 5; tick++) simulator.devices[0]!.tick();
        await waitFor(() => (registry.get(id)?.state.vacuum as VacuumState | undefined)?.activity === 'docked', 5000, 'docked');
        await waitFor(() => events.includes('back_to_dock'), 5000, 'the back_to_dock event');
    });

    it('a plug switches on and off, and its state follows the device', async () => {
        const did = 277_000_201;
        harness = await startMiioService({devices: [{did, key: simulatedCloudKey(did)}]});
        simulator = await startMiioSimulator({model: 'chuangmi.plug.m1', host: '127.0.0.1', port: harness.port, didBase: did});
        const id = miioDeviceId(did);
        const registry = harness.registry;
        await waitFor(() => registry.get(id)?.state.switch === false, 5000, 'the first plug state');
        expect(registry.get(id)!.state.temperature).toBe(31);
        // `ap.rssi` of its _otc.info.
        expect(registry.get(id)!.link.signalDbm).toBe(-40);
        await harness.router.route(id, 'switch', {kind: 'switch', on: true});
        await waitFor(() => registry.get(id)?.state.switch === true, 5000, 'plug on');
        expect(simulator.devices[0]!.plugOn).toBe(true);
        await harness.router.route(id, 'switch', {kind: 'switch', on: false});
        await waitFor(() => registry.get(id)?.state.switch === false, 5000, 'plug off');
        // As an intake might build it from JSON it did not check.
        await expect(harness.router.route(id, 'switch', {kind: 'switch', on: 'on'} as unknown as SwitchCommand)).rejects.toThrow(/true or false/);
    });

    it('demo mode: the bridge knows the simulated demo devices\' keys', async () => {
        harness = await startMiioService({}, {demo: true});
        const demo = await startMiioDemo(harness.settings.miio);
        try {
            const [vacuum, plug] = DEMO_MIIO_DEVICES.map((device) => miioDeviceId(device.did));
            await waitFor(() => harness!.registry.get(vacuum!)?.state.battery === 100 && harness!.registry.get(plug!)?.state.switch === false, 5000, 'both demo devices');
            expect(harness.registry.get(vacuum!)!.facts.name).toBe('Demo vacuum');
        } finally {
            await demo.stop();
        }
    });

    it('a device with an unknown did appears with its link and a "cloud key needed" status', async () => {
        harness = await startMiioService();
        simulator = await startMiioSimulator({model: 'roborock.vacuum.s5', host: '127.0.0.1', port: harness.port, didBase: 277_000_301, keepaliveIntervalMs: 100});
        const id = miioDeviceId(277_000_301);
        const device = await waitFor(() => harness!.registry.get(id), 5000, 'the unknown device');
        await waitFor(() => device.link.online, 5000, 'online');
        expect(device.state.cloud_key).toBe('missing');
        expect(device.link.lastError).toMatch(/cloud key needed.*miio add --did 277000301/);
        expect(device.features.map((feature) => feature.id)).toEqual(['cloud_key']);
        await expect(harness.router.route(id, 'cloud_key', {kind: 'select', option: 'ok'})).rejects.toThrow(/sensor "cloud_key" takes no command/);
    });
});
