/**
 * Simulated nodes against the running service: config → features, state from the node's reports,
 * commands through the router to `params/remote` and back as echoes, refusals, mapping, alerts and
 * an OTA job from `otafetch` to success.
 */
import {createHash} from 'node:crypto';
import {mkdirSync, writeFileSync} from 'node:fs';
import path from 'node:path';

import mqtt, {type MqttClient} from 'mqtt';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {EventBus} from '../../src/core/bus.js';
import type {LightCommand} from '../../src/core/commands.js';
import type {LightState, UpdateState} from '../../src/core/device.js';
import {DeviceRegistry} from '../../src/core/registry.js';
import {CommandRouter} from '../../src/core/router.js';
import {RainmakerService, firmwareDirectory} from '../../src/families/rainmaker/service.js';
import {type RainmakerNodes, type SimulatedRainmakerNode, startRainmakerNodes} from '../../src/simulate/rainmaker.js';
import {waitFor} from '../support/net.js';
import {type Harness, MQTT_HOST, startHarness} from './harness.js';

let harness: Harness;
let lights: RainmakerNodes;
let light: SimulatedRainmakerNode;
let lightId: string;
const extraClients: MqttClient[] = [];
const events: {deviceId: string; featureId: string; eventType: string; attributes: Record<string, unknown>}[] = [];

beforeAll(async () => {
    harness = await startHarness();
    harness.bus.on('event', (event) => events.push(event));
    mkdirSync(firmwareDirectory(harness.settings.rainmaker, harness.dataDir), {recursive: true});
    lights = await startRainmakerNodes({
        type: 'lightbulb',
        count: 2,
        host: '127.0.0.1',
        port: harness.ports.mqtt!,
        servername: MQTT_HOST,
        claim: (mac) => harness.claim(mac),
        mapping: {userId: 'local-admin', secretKey: 's3cret-mapping-key'},
        otaFetchDelayMs: null,
        reconnect: false,
    });
    light = lights.nodes[0]!;
    lightId = `rainmaker-${light.nodeId.toLowerCase()}`;
    await waitFor(() => (harness.registry.get(lightId)?.state.light as LightState | undefined)?.on === true, 5000, 'the light state');
});

afterAll(async () => {
    await Promise.all(extraClients.map((client) => client.endAsync(true)));
    await lights?.stop();
    await harness?.stop();
});

function lightState(): LightState {
    return harness.registry.get(lightId)!.state.light as LightState;
}

/** A second connection with the light's own certificate (client id = CN), as mosquitto_pub would make. */
async function asLight(): Promise<MqttClient> {
    const client = await mqtt.connectAsync({
        protocol: 'mqtts',
        host: '127.0.0.1',
        port: harness.ports.mqtt!,
        servername: MQTT_HOST,
        clientId: `${light.nodeId}`,
        reconnectPeriod: 0,
        ca: light.credentials.caPem,
        cert: light.credentials.certPem,
        key: light.credentials.keyPem,
    });
    extraClients.push(client);
    return client;
}

describe('RainMaker adapter', () => {
    it('turns the lightbulb config into a light with hs colour, buttons, firmware and alert', () => {
        const device = harness.registry.get(lightId)!;
        expect(device.family).toBe('rainmaker');
        expect(device.facts).toMatchObject({manufacturer: 'Espressif (RainMaker)', model: 'led_light', name: 'Light', firmware: '1.0'});
        expect(device.features.map((feature) => `${feature.kind}:${feature.id}`)).toEqual([
            'light:light',
            'button:system_reboot',
            'button:system_factory_reset',
            'button:system_wi_fi_reset',
            'update:firmware',
            'event:alert',
        ]);
        expect(device.features[0]).toMatchObject({colorModes: ['hs'], name: null});
        expect(lightState()).toEqual({on: true, brightness: 64, hs: {h: 180, s: 100}, colorMode: 'hs'});
        expect(device.extra.config).toMatchObject({node_id: light.nodeId, info: {fw_version: '1.0'}});
        expect(device.link.online).toBe(true);
    });

    it('records the user mapping with the user id and keeps the secret out of extra', () => {
        const device = harness.registry.get(lightId)!;
        expect(device.extra.mapping).toMatchObject({userId: 'local-admin', reset: true});
        expect(device.secrets.mappingSecret).toBe('s3cret-mapping-key');
        expect(JSON.stringify(device.extra)).not.toContain('s3cret-mapping-key');
        expect(harness.logsWith(`node ${light.nodeId} mapped to user "local-admin"`)).toHaveLength(1);
    });

    it('sends a brightness command as params/remote and takes the state from the echo only', async () => {
        const before = light.received.length;
        const states: unknown[] = [];
        const off = harness.bus.on('state', (event) => {
            if (event.deviceId === lightId) states.push(event.state.light);
        });
        await harness.router.route(lightId, 'light', {kind: 'light', change: {on: true, brightness: 153}});
        const command = await waitFor(() => light.received.slice(before).find((message) => message.topic.endsWith('/params/remote')), 5000, 'the command at the node');
        expect(command.topic).toBe(`node/${light.nodeId}/params/remote`);
        expect(JSON.parse(command.payload)).toEqual({Light: {Power: true, Brightness: 60}});
        await waitFor(() => lightState().brightness === 153, 5000, 'the echoed brightness');
        expect(light.params.Light!.Brightness).toBe(60);
        expect(states).toHaveLength(1);
        off();
    });

    it('refuses commands with wrong types before they reach the node', async () => {
        const before = light.received.length;
        // As an intake might build it from JSON it did not check.
        const bright = {kind: 'light', change: {on: true, brightness: 'bright'}} as unknown as LightCommand;
        await expect(harness.router.route(lightId, 'light', bright)).rejects.toThrow('brightness must be a number');
        await expect(harness.router.route(lightId, 'light', {kind: 'light', change: {on: true, colorTempKelvin: 3000}})).rejects.toThrow('no colour temperature');
        expect(harness.logsWith('command refused', 'brightness must be a number')).toHaveLength(1);
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(light.received.length).toBe(before);
    });

    it('refuses a config that is not JSON or not the schema, for that node only', async () => {
        const other = lights.nodes[1]!;
        const otherId = `rainmaker-${other.nodeId.toLowerCase()}`;
        const featuresBefore = harness.registry.get(otherId)!.features;
        await other.publish(`$aws/rules/esp_node_config/node/${other.nodeId}/config`, '{"node_id": "broken');
        await other.publish(`$aws/rules/esp_node_config/node/${other.nodeId}/config`, JSON.stringify({node_id: other.nodeId, devices: 'none'}));
        await waitFor(() => harness.logsWith(`node ${other.nodeId}: config refused`).length === 2, 5000, 'two config refusals');
        expect(harness.logsWith(`node ${other.nodeId}: config refused: not JSON`)).toHaveLength(1);
        expect(harness.logsWith(`node ${other.nodeId}: config refused: config does not match the node config schema`)).toHaveLength(1);
        expect(harness.registry.get(otherId)!.features).toEqual(featuresBefore);
        expect(harness.registry.get(otherId)!.link.badPackets).toBe(2);
        expect(harness.registry.get(lightId)!.link.badPackets).toBe(0);
        // The node keeps working.
        await harness.router.route(otherId, 'light', {kind: 'light', change: {on: false}});
        await waitFor(() => (harness.registry.get(otherId)!.state.light as LightState).on === false, 5000, 'the other light to switch off');
    });

    it('ignores params with wrong types or unknown names, keeping the good ones', async () => {
        const before = lightState();
        await light.publish(`$aws/rules/esp_set_params/node/${light.nodeId}/params/local`, JSON.stringify({Light: {Power: 'off', Brightness: 10, Sparkle: true}, Ghost: {Power: true}}));
        await waitFor(() => lightState().brightness === 26, 5000, 'the good param');
        expect(lightState().on).toBe(before.on);
        const line = harness.logsWith(`node ${light.nodeId}: params: ignored`)[0]!;
        expect(line.message).toContain('"Light.Power" is not bool');
        expect(line.message).toContain('unknown param "Light.Sparkle"');
        expect(line.message).toContain('unknown device "Ghost"');
        await light.publish(`node/${light.nodeId}/params/local`, 'not json');
        await waitFor(() => harness.logsWith(`node ${light.nodeId}: params refused: not JSON`).length === 1, 5000, 'the refusal');
    });

    it('accepts the plain topic form like the Basic-Ingest one', async () => {
        await light.publish(`node/${light.nodeId}/params/local`, JSON.stringify({Light: {Hue: 30}}));
        await waitFor(() => lightState().hs?.h === 30, 5000, 'the hue from the plain topic');
    });

    it('does not let a second node publish into the first node\'s topics', async () => {
        const intruder = lights.nodes[1]!;
        const brightness = lightState().brightness;
        // No PUBACK comes: the broker drops the intruder instead.
        intruder.publish(`$aws/rules/esp_set_params/node/${light.nodeId}/params/local`, JSON.stringify({Light: {Brightness: 99}})).catch(() => undefined);
        await waitFor(() => harness.logsWith(`node ${intruder.nodeId}: publish to "$aws/rules/esp_set_params/node/${light.nodeId}/params/local" refused`).length === 1, 5000, 'the ACL log line');
        await waitFor(() => !intruder.connected, 5000, 'the intruder to be disconnected');
        expect(lightState().brightness).toBe(brightness);
        await waitFor(() => harness.registry.get(`rainmaker-${intruder.nodeId.toLowerCase()}`)!.link.online === false, 5000, 'the intruder offline');
        expect(harness.registry.get(lightId)!.link.online).toBe(true);
    });

    it('turns an alert into an event and keeps time series values', async () => {
        await light.raiseAlert('Bulb overheating');
        await waitFor(() => events.find((event) => event.deviceId === lightId), 5000, 'the alert event');
        expect(events.find((event) => event.deviceId === lightId)).toEqual({deviceId: lightId, featureId: 'alert', eventType: 'alert', attributes: {message: 'Bulb overheating'}});
        await light.publish(`$aws/rules/esp_ts_ingest/node/${light.nodeId}/tsdata`, JSON.stringify({ts_data_version: '2021-09-13', ts_data: [{name: 'Light.Brightness', type: 'esp.param.brightness', dt: 'int', records: [{t: 1767225600, v: 40}, {t: 1767225660, v: 50}]}]}));
        await waitFor(() => harness.registry.get(lightId)!.extra.timeSeries, 5000, 'the time series');
        expect(harness.registry.get(lightId)!.extra.timeSeries).toEqual({'Light.Brightness': {t: 1767225660, v: 50}});
        await waitFor(() => lightState().brightness === 128, 5000, 'the brightness from the series');
    });

    it('keeps no time series for undeclared params or values of the wrong type', async () => {
        const before = harness.registry.get(lightId)!.extra.timeSeries;
        const series = [
            ...Array.from({length: 50}, (_, index) => ({name: `Light.Made-up ${index}`, records: [{t: 1767225700, v: 1}]})),
            {name: 'Light.Brightness', records: [{t: 1767225700, v: 'x'.repeat(1000)}]},
        ];
        await light.publish(`$aws/rules/esp_ts_ingest/node/${light.nodeId}/tsdata`, JSON.stringify({ts_data_version: '2021-09-13', ts_data: series}));
        await light.publish(`$aws/rules/esp_simple_ts_ingest/node/${light.nodeId}/simple_tsdata`, JSON.stringify({name: 'Ghost.Power', t: 1767225700, v: true}));
        await waitFor(() => harness.logsWith(`node ${light.nodeId}: simple_tsdata refused: no records for a declared`).length === 1, 5000, 'the simple_tsdata refusal');
        expect(harness.logsWith(`node ${light.nodeId}: tsdata refused: no records for a declared`)).toHaveLength(1);
        // A declared series afterwards is stored: the refused ones must not have come along with it.
        await light.publish(`$aws/rules/esp_ts_ingest/node/${light.nodeId}/tsdata`, JSON.stringify({ts_data_version: '2021-09-13', ts_data: [{name: 'Light.Brightness', records: [{t: 1767225800, v: 60}]}]}));
        await waitFor(() => (harness.registry.get(lightId)!.extra.timeSeries as Record<string, {t: number}>)['Light.Brightness']?.t === 1767225800, 5000, 'the declared series');
        expect(harness.registry.get(lightId)!.extra.timeSeries).toEqual({...(before as object), 'Light.Brightness': {t: 1767225800, v: 60}});
    });

    it('runs an OTA job from otafetch to success on the update feature', async () => {
        const image = Buffer.alloc(200_000, 0xa5);
        writeFileSync(path.join(firmwareDirectory(harness.settings.rainmaker, harness.dataDir), 'led_light-1.1.bin'), image);
        await harness.service.refreshFirmware();
        const firmware = (): UpdateState => harness.registry.get(lightId)!.state.firmware as UpdateState;
        expect(firmware()).toEqual({installedVersion: '1.0', latestVersion: '1.1', inProgress: false, progress: null});
        const progress: UpdateState[] = [];
        const off = harness.bus.on('state', (event) => {
            if (event.deviceId === lightId && event.changed.includes('firmware')) progress.push(event.state.firmware as UpdateState);
        });
        await harness.router.route(lightId, 'firmware', {kind: 'update', action: 'install'});
        const job = harness.registry.get(lightId)!.extra.otaJob as {id: string};
        // The node was told at once; it also asks (otafetch) and gets the same job again.
        await light.otaFetch();
        await waitFor(() => light.otaReports.some((report) => report.status === 'success'), 10_000, 'the node to report success');
        await waitFor(() => firmware().installedVersion === '1.1' && firmware().inProgress === false, 5000, 'the update state');
        expect(firmware()).toEqual({installedVersion: '1.1', latestVersion: '1.1', inProgress: false, progress: null});
        expect(progress.some((state) => state.inProgress === true && state.progress === 100)).toBe(true);
        expect(light.otaReports.every((report) => report.jobId === job.id)).toBe(true);
        const offers = light.received.filter((message) => message.topic === `node/${light.nodeId}/otaurl`).map((message) => JSON.parse(message.payload));
        expect(offers.length).toBeGreaterThanOrEqual(1);
        expect(offers[0]).toMatchObject({ota_job_id: job.id, fw_version: '1.1', file_size: 200_000, file_md5: createHash('md5').update(image).digest('hex')});
        expect(offers[0].url).toMatch(new RegExp(`^https://${MQTT_HOST.replace(/\./g, '\\.')}:\\d+/ota/job-[0-9a-f]{16}/led_light-1\\.1\\.bin$`));
        expect(harness.registry.get(lightId)!.extra.otaJob).toMatchObject({status: 'success'});
        await expect(harness.router.route(lightId, 'firmware', {kind: 'update', action: 'install'})).rejects.toThrow('already runs 1.1');
        off();
    });

    it('fails a command to an offline node at once', async () => {
        const intruder = lights.nodes[1]!;
        const id = `rainmaker-${intruder.nodeId.toLowerCase()}`;
        await expect(harness.router.route(id, 'light', {kind: 'light', change: {on: true}})).rejects.toThrow(/offline/);
    });

    it('rebuilds nodes from the registry file after a restart, without a config from the node', async () => {
        const before = lightState();
        await harness.service.stop();
        // Releases the registry's lock as a stopping bridge does.
        await harness.registry.close();
        const registry = new DeviceRegistry({file: path.join(harness.dataDir, 'registry.json'), bus: new EventBus()});
        await registry.load();
        const router = new CommandRouter(registry);
        const service = new RainmakerService({settings: harness.settings.rainmaker, dataDir: harness.dataDir, registry, images: {publish: () => {}}, router, topics: {publish: () => {}, subscribe: () => () => {}}, edge: harness.edge.forFamily('rainmaker')});
        await service.start();
        try {
            expect(registry.get(lightId)!.link.online).toBe(false);
            expect(registry.get(lightId)!.state.light).toEqual(before);
            // The node reconnects (no config, no state: rainmaker.md §9) and takes commands at once.
            const node = await asLight();
            await node.subscribeAsync(`node/${light.nodeId}/params/remote`, {qos: 1});
            await waitFor(() => registry.get(lightId)!.link.online, 5000, 'the light online again');
            const command = new Promise<string>((resolve) => node.once('message', (_topic, payload) => resolve(payload.toString())));
            await router.route(lightId, 'light', {kind: 'light', change: {on: false}});
            expect(JSON.parse(await command)).toEqual({Light: {Power: false}});
        } finally {
            await service.stop();
            await registry.close();
        }
    });
});
