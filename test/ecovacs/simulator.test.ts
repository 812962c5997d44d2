/**
 * A simulated bot and the family's service on either side of a real Mosquitto: the service's broker
 * connection stands in for the device edge (which will deliver connects and messages itself).
 */
import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';

import mqtt, {type MqttClient} from 'mqtt';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {EventBus} from '../../src/core/bus.js';
import type {VacuumState} from '../../src/core/device.js';
import {DeviceRegistry} from '../../src/core/registry.js';
import {CommandRouter} from '../../src/core/router.js';
import {ecovacsDeviceId} from '../../src/families/ecovacs/adapter.js';
import {EcovacsService} from '../../src/families/ecovacs/service.js';
import {ecovacsSettingsSchema} from '../../src/families/ecovacs/settings.js';
import {type EcovacsBots, startEcovacsBots} from '../../src/simulate/ecovacs.js';
import {startMosquitto, type MosquittoInstance} from '../support/mosquitto.js';
import {freePort, waitFor} from '../support/net.js';

let mosquitto: MosquittoInstance;
let edge: MqttClient;
let service: EcovacsService;
let registry: DeviceRegistry;
let router: CommandRouter;
let bots: EcovacsBots;
const atrSeen: string[] = [];

beforeAll(async () => {
    mosquitto = await startMosquitto();
    const dataDir = mkdtempSync(path.join(tmpdir(), 'fogbridge-ecovacs-'));
    registry = new DeviceRegistry({file: path.join(dataDir, 'registry.json'), bus: new EventBus()});
    await registry.load();
    router = new CommandRouter(registry);
    edge = await mqtt.connectAsync(mosquitto.url, {clientId: 'helperbot@bumper/helperbot', reconnectPeriod: 0});
    service = new EcovacsService({settings: ecovacsSettingsSchema.parse({relayTimeoutMs: 2000, xmppHost: '127.0.0.1', xmppPort: await freePort()}), registry, router, dataDir}, {publish: (topic, payload) => edge.publish(topic, payload)});
    edge.on('message', (topic, payload) => {
        if (topic.startsWith('iot/atr/')) atrSeen.push(`${topic.split('/')[2]} ${payload.toString()}`);
        service.onPublish(topic, payload);
    });
    await edge.subscribeAsync(service.subscriptions);
    await service.start();
    bots = await startEcovacsBots({url: mosquitto.url, count: 1, tickMs: 50});
    const bot = bots.bots[0]!;
    service.onClientConnected(bot.clientId, bot.serial);
});

afterAll(async () => {
    await bots?.stop();
    await service?.stop();
    await edge?.endAsync(true);
    await mosquitto?.stop();
});

describe('simulated bot ↔ helper bot through Mosquitto', () => {
    it('is read completely at connect: battery, charge, consumables, water, rooms', async () => {
        const id = ecovacsDeviceId(bots.bots[0]!.endpoint.id);
        await waitFor(() => (registry.get(id)?.extra.bot as {rooms?: unknown[]} | undefined)?.rooms?.length, 5000, 'the rooms');
        await waitFor(() => registry.get(id)?.state.main_brush_left !== undefined, 5000, 'the consumables');
        const device = registry.get(id)!;
        expect(device.state).toMatchObject({charging: true, vacuum: {activity: 'docked', fanSpeed: 'normal'}, water_level: 'medium', mop_attached: true});
        expect(typeof device.state.battery).toBe('number');
        expect(device.extra.bot).toMatchObject({rooms: [{id: '0', name: 'Living Room'}, {id: '1', name: 'Kitchen'}, {id: '2', name: 'Workshop'}]});
    });

    it('cleans on start: the bot\'s atr shows cleaning, then it can be sent home', async () => {
        const bot = bots.bots[0]!;
        const id = ecovacsDeviceId(bot.endpoint.id);
        await router.route(id, 'vacuum', {kind: 'vacuum', action: 'start'});
        expect(bot.received).toContain('clean');
        await waitFor(() => atrSeen.some((line) => line.startsWith('onCleanInfo') && line.includes('"motionState":"working"')), 5000, 'onCleanInfo working');
        await waitFor(() => (registry.get(id)?.state.vacuum as VacuumState | undefined)?.activity === 'cleaning', 5000, 'cleaning');
        await waitFor(() => (registry.get(id)?.state.clean_area as number | undefined) ?? 0 > 0, 5000, 'the area growing');
        await router.route(id, 'vacuum', {kind: 'vacuum', action: 'pause'});
        await waitFor(() => (registry.get(id)?.state.vacuum as VacuumState).activity === 'paused', 5000, 'paused');
        await router.route(id, 'vacuum', {kind: 'vacuum', action: 'start'});
        expect(bot.received).toContain('clean');
        await waitFor(() => (registry.get(id)?.state.vacuum as VacuumState).activity === 'cleaning', 5000, 'cleaning again (resume)');
        await router.route(id, 'vacuum', {kind: 'vacuum', action: 'return_to_base'});
        await waitFor(() => (registry.get(id)?.state.vacuum as VacuumState).activity === 'docked', 5000, 'docked').catch((error: Error) => {
            throw new Error(`${error.message}: ${JSON.stringify(registry.get(id)?.state)} ${atrSeen.slice(-6).join(' / ')} ${bot.phase}`);
        });
    });

    it('relays a REST command and answers errno 4200 for a bot that went away', async () => {
        const bot = bots.bots[0]!;
        const reply = await service.relay({did: bot.endpoint.id, command: 'getBattery', payload: {header: {pri: '1'}}, format: 'j'});
        expect(reply).toMatchObject({kind: 'reply', format: 'j', payload: {body: {code: 0, data: {value: expect.any(Number)}}}});
        service.onClientDisconnected(bot.clientId);
        expect(await service.relay({did: bot.endpoint.id, command: 'getBattery', payload: {}, format: 'j'})).toEqual({kind: 'offline'});
        expect(await service.relay({did: 'nobody', command: 'getBattery', payload: {}, format: 'j'})).toEqual({kind: 'unknown'});
        expect(registry.get(ecovacsDeviceId(bot.endpoint.id))!.link.online).toBe(false);
    });
});
