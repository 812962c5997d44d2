/**
 * The Ecovacs map end to end: a simulated MQTT bot → the bridge → a real Mosquitto → the vacuum's
 * image entity, decoded. The map is read again only when the bot pushes (the periodic refresh is set
 * far beyond the test), so what changes in the picture while the bot cleans came from its pushes.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {NO_GO_COLOUR, ROBOT_COLOUR, roomColour, WALL_COLOUR} from '../../src/core/vacuum-map.js';
import {ecovacsDeviceId} from '../../src/families/ecovacs/adapter.js';
import {ecovacsFamily} from '../../src/families/ecovacs/index.js';
import {type EcovacsBots, SIMULATED_CHARGER, SIMULATED_CLEANING_POSITION, SIMULATED_SOFA, startEcovacsBots} from '../../src/simulate/ecovacs.js';
import {type TestBridge, startTestBridge} from '../support/bridge.js';
import {readSimulatedMapPicture} from '../support/ecovacs-map.js';
import {HaTestClient} from '../support/ha-client.js';
import {type MosquittoInstance, startMosquitto} from '../support/mosquitto.js';

describe('Ecovacs map end to end', () => {
    let mosquitto: MosquittoInstance;
    let bridge: TestBridge;
    let ha: HaTestClient;
    let bots: EcovacsBots;

    beforeAll(async () => {
        mosquitto = await startMosquitto();
        bridge = await startTestBridge({families: [ecovacsFamily], haUrl: mosquitto.url, settings: {ecovacs: {maps: {renderIntervalSeconds: 1, refreshIntervalSeconds: 600}}}});
        ha = await HaTestClient.connect(mosquitto.url);
        bots = await startEcovacsBots({url: `mqtts://127.0.0.1:${bridge.settings.edge.mqttTlsPort!}`, count: 1, tickMs: 200});
    });

    afterAll(async () => {
        await bots?.stop();
        await ha?.close();
        await bridge?.dispose();
        await mosquitto?.stop();
    });

    const imageTopic = (): string => `${ha.baseTopic}/${ecovacsDeviceId(bots.bots[0]!.endpoint.id)}/map/image`;

    it('draws the virtual wall, the no-go rectangle and the no-mop zone in the no-go colour along their edges, north up', async () => {
        const id = ecovacsDeviceId(bots.bots[0]!.endpoint.id);
        await ha.waitForState(id, (state) => state.map_status === 'ok');
        const message = await ha.waitFor((candidate) => candidate.topic === imageTopic() && candidate.payload.length > 0, {what: 'the map picture'});
        const picture = readSimulatedMapPicture(message.payload);
        // SIMULATED_BOUNDARIES: the wall's middle, the rectangle's north and south edges, the no-mop zone's west edge.
        expect(picture.lineColourAt({x: -1500, y: 1000})).toEqual(NO_GO_COLOUR);
        expect(picture.lineColourAt({x: 1000, y: -600})).toEqual(NO_GO_COLOUR);
        expect(picture.lineColourAt({x: 1000, y: -1400})).toEqual(NO_GO_COLOUR);
        expect(picture.lineColourAt({x: -2000, y: -1300})).toEqual(NO_GO_COLOUR);
        // Only their edges: inside, the room (or the room's name, drawn at the rectangle's centre).
        expect(picture.colourAt({x: 1000, y: -1000})).not.toEqual(NO_GO_COLOUR);
        expect(picture.colourAt({x: -1500, y: -1300})).not.toEqual(NO_GO_COLOUR);
        expect(bots.bots[0]!.received.filter((name) => name === 'getMapSet')).toHaveLength(3);

        // Orientation, read off the picture alone: the workshop (north-east in the bot's frame) is top right,
        // the kitchen (south-east) bottom right, the living room (west) left, the charger in the top half.
        const {png} = picture;
        const at = (fractionX: number, fractionY: number): number[] => {
            const offset = (Math.floor(png.height * fractionY) * png.width + Math.floor(png.width * fractionX)) * 4;
            return [...png.data.subarray(offset, offset + 4)];
        };
        expect(at(0.9, 0.2)).toEqual(roomColour(3));
        expect(at(0.9, 0.8)).toEqual(roomColour(2));
        expect(at(0.1, 0.5)).toEqual(roomColour(1));
        expect(picture.colourAt(SIMULATED_CHARGER)).toEqual(ROBOT_COLOUR);
        const robotRows = Array.from({length: png.height}, (_, y) => y).filter((y) => Array.from({length: png.width}, (_, x) => x).some((x) => png.data[(y * png.width + x) * 4] === ROBOT_COLOUR[0] && png.data[(y * png.width + x) * 4 + 1] === ROBOT_COLOUR[1]));
        expect(Math.max(...robotRows)).toBeLessThan(png.height / 2);
    });

    it('follows the bot\'s pushes while it cleans: onMajorMap fetches only the changed piece (the sofa it found), onPos moves the robot', async () => {
        const bot = bots.bots[0]!;
        const id = ecovacsDeviceId(bot.endpoint.id);
        await ha.waitForState(id, (state) => state.map_status === 'ok');
        const majorMapsAsked = bot.received.filter((name) => name === 'getMajorMap').length;
        bot.minorMapRequests.length = 0;
        const sofa = {x: (SIMULATED_SOFA[0] + SIMULATED_SOFA[2]) / 2, y: (SIMULATED_SOFA[1] + SIMULATED_SOFA[3]) / 2};
        const since = Date.now();
        await ha.command(id, 'vacuum', 'start');
        await ha.waitFor(
            (candidate) => {
                if (candidate.topic !== imageTopic() || candidate.payload.length === 0) return false;
                const picture = readSimulatedMapPicture(candidate.payload);
                return picture.colourAt(sofa)[0] === WALL_COLOUR[0] && picture.colourAt(SIMULATED_CLEANING_POSITION)[0] === ROBOT_COLOUR[0];
            },
            {since, timeoutMs: 10_000, what: 'a picture with the sofa and the robot in the living room'},
        );
        expect(bot.sofaMapped).toBe(true);
        // The sofa spans pixels 344–355 east and 426–435 north: piece column 3, row 4 of 8, index 3 × 8 + 4.
        expect(bot.minorMapRequests).toEqual([28]);
        expect(bot.received.filter((name) => name === 'getMajorMap')).toHaveLength(majorMapsAsked);
    });
});
