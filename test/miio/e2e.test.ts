import {PNG} from 'pngjs';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {LABEL_COLOUR, renderScale, ROBOT_COLOUR, roomColour} from '../../src/core/vacuum-map.js';

import {miioDeviceId} from '../../src/families/miio/adapter.js';
import {miioFamily} from '../../src/families/miio/index.js';
import {type MiioSimulator, simulatedCloudKey, startMiioSimulator} from '../../src/simulate/miio.js';
import {startTestBridge, type TestBridge} from '../support/bridge.js';
import {HaTestClient} from '../support/ha-client.js';
import {type MosquittoInstance, startMosquitto} from '../support/mosquitto.js';
import {freePort} from '../support/net.js';

const VACUUM_DID = 277_100_001;
const PLUG_DID = 277_200_001;
const vacuumId = miioDeviceId(VACUUM_DID);
const plugId = miioDeviceId(PLUG_DID);

type Tree = Record<string, unknown>;

describe('miIO end to end: simulated devices → bridge → Mosquitto → HA', () => {
    let mosquitto: MosquittoInstance;
    let bridge: TestBridge;
    let ha: HaTestClient;
    const simulators: MiioSimulator[] = [];

    beforeAll(async () => {
        mosquitto = await startMosquitto();
        ha = await HaTestClient.connect(mosquitto.url);
        const udpPort = await freePort();
        bridge = await startTestBridge({
            families: [miioFamily],
            haUrl: mosquitto.url,
            settings: {
                miio: {
                    host: '127.0.0.1',
                    port: udpPort,
                    gslb: {enabled: false},
                    maps: {renderIntervalSeconds: 1, freshMapIntervalSeconds: 2},
                    devices: [
                        {did: VACUUM_DID, key: simulatedCloudKey(VACUUM_DID), name: 'Robot', rooms: {'16': 'Kitchen', '18': 'Bathroom'}},
                        {did: PLUG_DID, key: simulatedCloudKey(PLUG_DID)},
                    ],
                },
            },
        });
        simulators.push(await startMiioSimulator({model: 'roborock.vacuum.s5', host: '127.0.0.1', port: udpPort, didBase: VACUUM_DID, tickMs: 60_000}));
        simulators.push(await startMiioSimulator({model: 'chuangmi.plug.m1', host: '127.0.0.1', port: udpPort, didBase: PLUG_DID}));
    });

    afterAll(async () => {
        for (const simulator of simulators) await simulator.stop();
        await bridge?.dispose();
        await ha?.close();
        await mosquitto?.stop();
    });

    /** The discovery that describes the model (the first one, before `_otc.info`, only has the link). */
    async function discoveryWith(deviceId: string, component: string): Promise<Tree & {cmps: Record<string, Tree>}> {
        const message = await ha.waitFor(
            (candidate) => candidate.topic === ha.discoveryTopic(deviceId) && candidate.payload.length > 0 && component in ((JSON.parse(candidate.payload) as {cmps: Tree}).cmps ?? {}),
            {timeoutMs: 8000, what: `discovery of ${deviceId} with ${component}`},
        );
        ha.assertDiscoveryValid();
        return JSON.parse(message.payload) as Tree & {cmps: Record<string, Tree>};
    }

    it('publishes valid discovery for the vacuum: vacuum, battery, error, consumables, fan-speed select, events', async () => {
        const discovery = await discoveryWith(vacuumId, 'vacuum');
        expect(discovery.dev).toMatchObject({name: 'Robot', manufacturer: 'Roborock', model: 'roborock.vacuum.s5', sw_version: '3.5.8_002034'});
        const {cmps} = discovery;
        expect(cmps.vacuum).toMatchObject({
            p: 'vacuum',
            name: null,
            supported_features: ['status', 'start', 'stop', 'pause', 'return_home', 'locate', 'clean_spot', 'fan_speed'],
            fan_speed_list: ['low', 'medium', 'high', 'max', 'off'],
        });
        expect(cmps.vacuum).not.toHaveProperty('schema');
        expect(cmps.battery).toMatchObject({p: 'sensor', device_class: 'battery', unit_of_measurement: '%', state_class: 'measurement'});
        expect(cmps.error).toMatchObject({p: 'sensor', device_class: 'enum'});
        expect(cmps.main_brush_left).toMatchObject({p: 'sensor', unit_of_measurement: '%', entity_category: 'diagnostic'});
        expect(cmps.fan_speed).toMatchObject({p: 'select', options: ['low', 'medium', 'high', 'max', 'off']});
        expect(cmps.event).toMatchObject({p: 'event', event_types: expect.arrayContaining(['back_to_dock', 'clean_complete'])});
        expect(cmps.cloud_key).toMatchObject({p: 'sensor', device_class: 'enum', entity_category: 'diagnostic'});
        await ha.waitForAvailability(vacuumId, 'online', {timeoutMs: 8000});
        await ha.waitForState(vacuumId, (state) => state.battery === 100 && state.cloud_key === 'ok', {timeoutMs: 8000});
    });

    it('"start" from the HA side makes the vacuum clean, and the events reach HA', async () => {
        const vacuumTopic = `${ha.baseTopic}/${vacuumId}/vacuum/state`;
        await ha.waitFor((message) => message.topic === vacuumTopic && (JSON.parse(message.payload) as Tree).state === 'docked', {timeoutMs: 8000, what: 'docked'});
        const since = Date.now();
        await ha.command(vacuumId, 'vacuum', 'start');
        await ha.waitFor((message) => message.topic === vacuumTopic && (JSON.parse(message.payload) as Tree).state === 'cleaning', {since, timeoutMs: 8000, what: 'cleaning'});
        expect(simulators[0]!.devices[0]!.received).toContain('app_start');

        await ha.command(vacuumId, 'fan_speed', 'max');
        await ha.waitFor((message) => message.topic === vacuumTopic && (JSON.parse(message.payload) as Tree).fan_speed === 'max', {since, timeoutMs: 8000, what: 'fan speed max'});

        await ha.command(vacuumId, 'vacuum', 'return_to_base');
        await ha.waitFor((message) => message.topic === vacuumTopic && (JSON.parse(message.payload) as Tree).state === 'returning', {since, timeoutMs: 8000, what: 'returning'});
        for (let tick = 0; tick < 5; tick++) simulators[0]!.devices[0]!.tick();
        const event = await ha.waitFor((message) => message.topic === `${ha.baseTopic}/${vacuumId}/event/event`, {since, timeoutMs: 8000, what: 'the back_to_dock event'});
        expect(JSON.parse(event.payload)).toMatchObject({event_type: 'back_to_dock'});
        await ha.waitFor((message) => message.topic === vacuumTopic && (JSON.parse(message.payload) as Tree).state === 'docked', {since, timeoutMs: 8000, what: 'docked again'});
    });

    it('the vacuum shows its rooms in HA, and a room clean from HA reaches the robot as app_segment_clean', async () => {
        const discovery = await discoveryWith(vacuumId, 'vacuum');
        const segmentsTopic = discovery.cmps.vacuum!.clean_segments_command_topic;
        expect(segmentsTopic).toBe(`${ha.baseTopic}/${vacuumId}/vacuum/clean_segments/set`);
        const vacuumTopic = `${ha.baseTopic}/${vacuumId}/vacuum/state`;
        const withRooms = await ha.waitFor((message) => message.topic === vacuumTopic && 'segments' in (JSON.parse(message.payload) as Tree), {timeoutMs: 8000, what: 'the rooms'});
        expect((JSON.parse(withRooms.payload) as Tree).segments).toEqual({'16': 'Kitchen', '17': 'Room 17', '18': 'Bathroom', '19': 'Room 19'});

        const robot = simulators[0]!.devices[0]!;
        const since = Date.now();
        // As HA publishes it: a JSON list of segment id strings.
        await ha.publish(segmentsTopic as string, '["18","16"]');
        await ha.waitFor((message) => message.topic === vacuumTopic && (JSON.parse(message.payload) as Tree).state === 'cleaning', {since, timeoutMs: 8000, what: 'cleaning the rooms'});
        expect(robot.received).toContain('app_segment_clean');
        expect(robot.lastSegmentClean).toEqual([18, 16]);
        expect(robot.status).toMatchObject({state: 18, in_cleaning: 3});

        // A room the robot does not have is refused by the bridge: the robot never hears of it.
        const asked = robot.received.length;
        await ha.publish(segmentsTopic as string, '["42"]');
        await ha.command(vacuumId, 'vacuum', 'pause');
        await ha.waitFor((message) => message.topic === vacuumTopic && (JSON.parse(message.payload) as Tree).state === 'paused', {since, timeoutMs: 8000, what: 'paused'});
        expect(robot.received.slice(asked).filter((method) => method !== 'get_status')).toEqual(['app_pause']);
        // "start" resumes the paused room job, not a full clean.
        await ha.command(vacuumId, 'vacuum', 'start');
        await expect.poll(() => robot.received.includes('resume_segment_clean'), {timeout: 8000}).toBe(true);
        expect(robot.status.state).toBe(18);

        // A rename (the web UI's) is kept by the bridge and shown at once; the robot is not asked.
        const before = robot.received.length;
        await bridge.router.route(vacuumId, 'vacuum', {kind: 'vacuum', action: 'rename_segment', segment: '17', name: 'Hall'});
        await ha.waitFor((message) => message.topic === vacuumTopic && ((JSON.parse(message.payload) as {segments?: Tree}).segments?.['17'] === 'Hall'), {since, timeoutMs: 8000, what: 'the renamed room'});
        expect(bridge.registry.get(vacuumId)!.extra.roomNames).toEqual({'17': 'Hall'});
        expect(robot.received.slice(before).filter((method) => method !== 'get_status')).toEqual([]);
    });

    it('the robot\'s uploaded map becomes a PNG on the image entity: rooms in their colours, the robot where it is', async () => {
        const discovery = await discoveryWith(vacuumId, 'map');
        const imageTopic = `${ha.baseTopic}/${vacuumId}/map/image`;
        expect(discovery.cmps.map).toMatchObject({p: 'image', name: 'Map', image_topic: imageTopic, image_encoding: 'b64', content_type: 'image/png'});
        expect(discovery.cmps.map_status).toMatchObject({p: 'sensor', device_class: 'enum', entity_category: 'diagnostic'});
        const robot = simulators[0]!.devices[0]!;
        const message = await ha.waitFor((candidate) => candidate.topic === imageTopic && candidate.payload.length > 0, {timeoutMs: 15_000, what: 'the map picture'});
        const png = PNG.sync.read(Buffer.from(message.payload, 'base64'));
        const scale = renderScale({width: 60, height: 40});
        expect([png.width, png.height]).toEqual([60 * scale, 40 * scale]);
        /** The colour at the centre of map pixel (x, y) of the simulated flat. */
        const colourAt = (x: number, y: number): number[] => {
            const offset = ((y * scale + Math.floor(scale / 2)) * png.width + x * scale + Math.floor(scale / 2)) * 4;
            return [...png.data.subarray(offset, offset + 4)];
        };
        expect(colourAt(5, 20)).toEqual(roomColour(16));
        expect(colourAt(40, 5)).toEqual(roomColour(17));
        expect(colourAt(35, 32)).toEqual(roomColour(18));
        expect(colourAt(robot.robotPixel.x, robot.robotPixel.y)).toEqual(ROBOT_COLOUR);
        // Each room carries its name: label pixels on the left room (16) and on the right ones (17, 18).
        const labelColumns = new Set<number>();
        for (let offset = 0; offset < png.data.length; offset += 4) if (LABEL_COLOUR.every((value, index) => png.data[offset + index] === value)) labelColumns.add(Math.floor((offset / 4) % png.width / scale));
        expect([...labelColumns].some((x) => x < 29)).toBe(true);
        expect([...labelColumns].some((x) => x > 30)).toBe(true);
        await ha.waitForState(vacuumId, (state) => state.map_status === 'ok', {timeoutMs: 8000});
        expect(robot.received).toContain('get_fresh_map_v1');
    });

    it('a map the bridge cannot read sets map_status, a stranger\'s upload is refused, and the vacuum keeps working', async () => {
        const robot = simulators[0]!.devices[0]!;
        const mapsPort = (bridge.settings.miio as {maps: {port: number}}).maps.port;
        const stranger = await fetch(`http://127.0.0.1:${mapsPort}/api/miio/map_upload/0123456789abcdef`, {method: 'PUT', body: 'not a map'});
        expect(stranger.status).toBe(403);

        robot.uploadGarbage = true;
        robot.requestMapUpload();
        await ha.waitForState(vacuumId, (state) => state.map_status === 'format_not_supported', {timeoutMs: 8000});
        const vacuumTopic = `${ha.baseTopic}/${vacuumId}/vacuum/state`;
        const since = Date.now();
        await ha.command(vacuumId, 'vacuum', 'return_to_base');
        await ha.waitFor((candidate) => candidate.topic === vacuumTopic && (JSON.parse(candidate.payload) as Tree).state === 'returning', {since, timeoutMs: 8000, what: 'returning'});

        robot.uploadGarbage = false;
        robot.requestMapUpload();
        await ha.waitForState(vacuumId, (state) => state.map_status === 'ok', {since, timeoutMs: 8000});
    });

    it('the plug appears as a switch and follows on/off from HA', async () => {
        const discovery = await discoveryWith(plugId, 'switch');
        expect(discovery.cmps.switch).toMatchObject({p: 'switch', name: null, device_class: 'outlet'});
        expect(discovery.cmps.temperature).toMatchObject({p: 'sensor', device_class: 'temperature', unit_of_measurement: '°C'});
        await ha.waitForState(plugId, (state) => state.switch === 'OFF', {timeoutMs: 8000});
        const since = Date.now();
        await ha.command(plugId, 'switch', 'ON');
        await ha.waitForState(plugId, (state) => state.switch === 'ON', {since, timeoutMs: 8000});
        expect(simulators[1]!.devices[0]!.plugOn).toBe(true);
        await ha.command(plugId, 'switch', 'OFF');
        await ha.waitForState(plugId, (state) => state.switch === 'OFF', {since: Date.now(), timeoutMs: 8000});
        expect(simulators[1]!.devices[0]!.plugOn).toBe(false);
    });

    it('never publishes a cloud key or a local token', async () => {
        await ha.waitForState(plugId, (state) => state.cloud_key === 'ok', {timeoutMs: 8000});
        const secrets = [simulatedCloudKey(VACUUM_DID), simulatedCloudKey(PLUG_DID), ...simulators.flatMap((simulator) => simulator.devices.map((device) => device.localToken))];
        // The local token did reach the registry (as a secret): the check below is not vacuous.
        expect(Object.values(bridge.registry.get(vacuumId)!.secrets)).toEqual(expect.arrayContaining([simulators[0]!.devices[0]!.localToken]));
        const leaks = ha.messages.filter((message) => secrets.some((secret) => message.payload.includes(secret)));
        expect(leaks.map((message) => message.topic)).toEqual([]);
    });

    // Last: it stops the bridge.
    it('a stop shows the devices offline, so the next start does not show them online for a moment', async () => {
        await ha.waitForAvailability(plugId, 'online', {timeoutMs: 8000});
        const since = Date.now();
        await bridge.dispose();
        await ha.waitForAvailability(plugId, 'offline', {since, timeoutMs: 5000});
        await ha.waitForAvailability(vacuumId, 'offline', {since, timeoutMs: 5000});
    });
});
