/**
 * An Ecovacs bot's map through a fake link: pieces cached by CRC, bad pieces refused with a status,
 * virtual walls and no-mop zones (a bad one left out with a log line), and the bot's pushes.
 */
import {PNG} from 'pngjs';
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';

import {NO_GO_COLOUR, PATH_COLOUR} from '../../src/core/vacuum-map.js';
import {type BotAnswer, type EcoCommand} from '../../src/families/ecovacs/codec.js';
import {encodeMapPiece, encodeMapTrace, MAX_POINTS} from '../../src/families/ecovacs/map/ecovacs-map-codec.js';
import {EcovacsLiveMaps, type MapStatus} from '../../src/families/ecovacs/map/live-map.js';
import {createLogger, type LogLine, subscribeToLog} from '../../src/util/logger.js';

const SIDE = 10;

function harness(pieceValue: (index: number) => string, boundaryAnswers: Record<string, unknown> = {}) {
    const sent: EcoCommand[] = [];
    const statuses: MapStatus[] = [];
    const pictures: Buffer[] = [];
    let crcs = ['1', '2', '3', '4'];
    const data: Record<string, (command: EcoCommand) => unknown> = {
        getMajorMap: () => ({mid: 'm', pieceWidth: SIDE, pieceHeight: SIDE, cellWidth: 2, cellHeight: 2, pixel: 50, value: crcs.join(',')}),
        getMinorMap: (command) => {
            const index = (command.data as {pieceIndex: number}).pieceIndex;
            return {mid: 'm', type: 'ol', pieceIndex: index, pieceValue: pieceValue(index)};
        },
        getPos: () => ({deebotPos: {x: 0, y: 0, a: 0}, chargePos: [{x: 100, y: 100, a: 0}]}),
        getMapTrace: () => ({traceStart: 0, traceValue: encodeMapTrace([])}),
        getMapSet: (command) => {
            const {type} = command.data as {type: string};
            const ids = Object.keys(boundaryAnswers).filter((key) => key.startsWith(`${type} `));
            return type === 'ar' || ids.length === 0 ? undefined : {type, mid: 'm', subsets: ids.map((key) => ({mssid: key.split(' ')[1]}))};
        },
        getMapSubSet: (command) => {
            const {type, mssid} = command.data as {type: string; mssid: string};
            return boundaryAnswers[`${type} ${mssid}`];
        },
    };
    const maps = new EcovacsLiveMaps({
        send: async (_did, command): Promise<BotAnswer> => {
            sent.push(command);
            const reply = data[command.name]?.(command);
            return reply !== undefined ? {code: 0, observations: [], data: reply} : {code: 20003, msg: 'rcp not support', observations: []};
        },
        renderIntervalMs: 0,
        publish: (_did, png) => pictures.push(png),
        roomNames: () => ({}),
        setStatus: (_did, status) => statuses.push(status),
        log: createLogger('test:ecovacs-map'),
    });
    return {maps, sent, statuses, pictures, setCrcs: (next: string[]) => (crcs = next)};
}

const floor = encodeMapPiece(new Uint8Array(SIDE * SIDE).fill(1));

const minorMapIndexes = (sent: EcoCommand[]): number[] => sent.filter((command) => command.name === 'getMinorMap').map((command) => (command.data as {pieceIndex: number}).pieceIndex);

/** How many pixels of the picture have this colour. */
function pixelsOf(png: Buffer, colour: readonly number[]): number {
    const {data} = PNG.sync.read(png);
    let count = 0;
    for (let offset = 0; offset < data.length; offset += 4) if (colour.every((value, index) => data[offset + index] === value)) count++;
    return count;
}

const logLines: LogLine[] = [];
let unsubscribe: () => void;
beforeAll(() => {
    unsubscribe = subscribeToLog((line) => {
        if (line.namespace === 'test:ecovacs-map') logLines.push(line);
    });
});
afterAll(() => unsubscribe());
afterEach(() => {
    logLines.length = 0;
});

describe('Ecovacs live maps', () => {
    it('fetches every piece once, then only those whose CRC changed', async () => {
        const {maps, sent, statuses, pictures, setCrcs} = harness(() => floor);
        await maps.refresh('bot', 'm', []);
        expect(sent.filter((command) => command.name === 'getMinorMap')).toHaveLength(4);
        expect(statuses).toEqual(['ok']);
        expect(pictures).toHaveLength(1);
        sent.length = 0;
        setCrcs(['1', '2', '3', '9']);
        await maps.refresh('bot', 'm', []);
        expect(sent.filter((command) => command.name === 'getMinorMap').map((command) => (command.data as {pieceIndex: number}).pieceIndex)).toEqual([3]);
        maps.stop();
    });

    it('refuses a piece that does not decompress or has the wrong size: map_status says so, nothing throws', async () => {
        const {maps, statuses} = harness((index) => (index === 1 ? 'bm90IExaTUEgYXQgYWxs' : index === 2 ? encodeMapPiece(new Uint8Array(7)) : floor));
        await maps.refresh('bot', 'm', []);
        expect(statuses).toEqual(['corrupt']);
        expect(maps.status('bot')).toBe('corrupt');
        maps.stop();
    });

    it('draws the virtual walls and no-mop zones it reads; a bad one costs one log line naming the bot and why, the rest is drawn', async () => {
        const {maps, sent, statuses, pictures} = harness(() => floor, {
            'vw 0': {type: 'vw', mid: 'm', mssid: '0', value: '[-400,-100,300,-100]'},
            'vw 1': {type: 'vw', mid: 'm', mssid: '1', value: '[-400,-100,1e12,-100]'},
            'mw 3': {type: 'mw', mid: 'm', mssid: '3', value: 42},
        });
        await maps.refresh('bot', 'm', []);
        expect(statuses).toEqual(['ok']);
        expect(pictures).toHaveLength(1);
        expect(pixelsOf(pictures[0]!, NO_GO_COLOUR)).toBeGreaterThan(0);
        const warnings = logLines.filter((line) => line.level === 'warn');
        expect(warnings).toHaveLength(1);
        expect(warnings[0]!.message).toMatch(/^bot: virtual walls \/ no-mop zones left out \(vw 1: coordinate "1e12" is not a position on a map; mw 3: it has no value\)$/);
        // Read once per map: a second refresh does not ask again.
        sent.length = 0;
        await maps.refresh('bot', 'm', []);
        expect(sent.map((command) => command.name)).not.toContain('getMapSet');
        maps.stop();
    });

    it('on an onMajorMap push fetches only the pieces whose CRC changed and draws again; a push for a map not read yet fetches nothing', async () => {
        const {maps, sent, pictures} = harness(() => floor);
        await maps.majorMapPushed('bot', {mid: 'm', value: '1,2,3,4'});
        expect(sent).toEqual([]);
        await maps.refresh('bot', 'm', []);
        sent.length = 0;
        const drawn = pictures.length;
        // As deebot-client reads the push: the map id and the CRCs, without the grid.
        await maps.majorMapPushed('bot', {mid: 'm', value: '1,7,3,8'});
        expect(minorMapIndexes(sent)).toEqual([1, 3]);
        expect(sent.map((command) => command.name)).not.toContain('getMajorMap');
        expect(pictures.length).toBe(drawn + 1);
        await maps.majorMapPushed('bot', {mid: 'other', value: '1,2,3,4'});
        await maps.majorMapPushed('bot', {mid: 'm', value: 'garbage'});
        expect(minorMapIndexes(sent)).toEqual([1, 3]);
        maps.stop();
    });

    it('draws the path an onMapTrace push carries, appends its continuation, and asks for the path when the push has none', async () => {
        const {maps, sent, pictures} = harness(() => floor);
        await maps.refresh('bot', 'm', []);
        sent.length = 0;
        await maps.tracePushed('bot', {traceStart: 0, traceValue: encodeMapTrace([{x: -300, y: 0}, {x: 300, y: 0}])});
        expect(sent).toEqual([]);
        const straight = pixelsOf(pictures.at(-1)!, PATH_COLOUR);
        expect(straight).toBeGreaterThan(0);
        await maps.tracePushed('bot', {traceStart: 2, traceValue: encodeMapTrace([{x: 300, y: 300}])});
        expect(pixelsOf(pictures.at(-1)!, PATH_COLOUR)).toBeGreaterThan(straight);
        await maps.tracePushed('bot', {tid: '1', totalCount: 9});
        expect(sent.map((command) => command.name)).toEqual(['getMapTrace']);
        maps.stop();
    });

    it('stops extending a path at the cap: memory stays bounded, and the bot is not asked again and again', async () => {
        const {maps, sent, pictures} = harness(() => floor);
        await maps.refresh('bot', 'm', []);
        const long = Array.from({length: MAX_POINTS}, (_, index) => ({x: (index % 10) * 50, y: 0}));
        await maps.tracePushed('bot', {traceStart: 0, traceValue: encodeMapTrace(long)});
        sent.length = 0;
        const drawn = pictures.length;
        await maps.tracePushed('bot', {traceStart: MAX_POINTS, traceValue: encodeMapTrace([{x: 300, y: 300}])});
        await maps.tracePushed('bot', {traceStart: MAX_POINTS + 1, traceValue: encodeMapTrace([{x: -300, y: 300}])});
        expect(sent).toEqual([]);
        expect(pictures.length).toBe(drawn);
        maps.stop();
    });

    it('moves the charger on an onChargerPos push', async () => {
        const {maps, pictures} = harness(() => floor);
        await maps.refresh('bot', 'm', []);
        const drawn = pictures.length;
        maps.positionsPushed('bot', [{x: -300, y: -300, a: 0}]);
        expect(pictures.length).toBe(drawn + 1);
        maps.stop();
    });
});
