/** Ecovacs map pieces and outlines: LZMA as bots send it, and what is refused. */
import {describe, expect, it} from 'vitest';

import {MAP_FLOOR, MAP_WALL} from '../../src/core/vacuum-map.js';
import {
    decodeMapPiece,
    encodeMapPiece,
    encodeMapTrace,
    encodeOutline,
    type MajorMap,
    readBoundary,
    readBoundaryIds,
    readMajorMap,
    readMapSubset,
    readMapTrace,
    readPieceCrcs,
    readPositions,
    toVacuumMap,
} from '../../src/families/ecovacs/map/ecovacs-map-codec.js';

/** 2 × 2 pieces of 10 × 10 pixels at 50 mm: 1 m square, its centre at 0, 0. */
const SMALL_MAJOR: MajorMap = {mapId: 'm', pieceWidth: 10, pieceHeight: 10, columns: 2, rows: 2, pixelMm: 50, crcs: ['1', '2', '3', '4']};

describe('Ecovacs map codec', () => {
    it('reads a compressed room outline as deebot-client\'s test vector has it', () => {
        const value = 'XQAABACZAAAAABaOQmW9Bsibxz42rKUpGlV7Rr4D1S/9x9mDa60v4J1BKrEsnk34EAt6X5gKkxwYzfOu3T8GAPpmIy5o4A==';
        const subset = readMapSubset({type: 'ar', mid: '1', mssid: '3', compress: 1, value});
        expect(subset?.outline.slice(0, 2)).toEqual([{x: -9125, y: 3225}, {x: -9025, y: 3225}]);
        expect(subset?.outline).toHaveLength(14);
    });

    it('decodes a piece it encoded, and refuses pieces that do not decompress or have the wrong size', () => {
        const pixels = Uint8Array.from({length: 100 * 100}, (_, index) => index % 3);
        const value = encodeMapPiece(pixels);
        expect(decodeMapPiece(value, 100, 100)).toEqual({ok: true, pixels});
        expect(decodeMapPiece(value, 50, 50)).toMatchObject({ok: false, reason: expect.stringContaining('not the 2500 of a piece')});
        const broken = Buffer.from(value, 'base64');
        broken.fill(0xff, 9, 20);
        expect(decodeMapPiece(broken.toString('base64'), 100, 100)).toMatchObject({ok: false});
        expect(decodeMapPiece('bm90IExaTUEgYXQgYWxs', 100, 100)).toMatchObject({ok: false});
        expect(decodeMapPiece('', 100, 100)).toMatchObject({ok: false, reason: expect.stringContaining('too short')});
    });

    it('refuses a major map with absurd dimensions or CRCs that do not match its grid', () => {
        const major = {mid: '7', pieceWidth: 100, pieceHeight: 100, cellWidth: 8, cellHeight: 8, pixel: 50, value: Array(64).fill('1295764014').join(',')};
        expect(readMajorMap(major)).toMatchObject({mapId: '7', columns: 8, rows: 8, pixelMm: 50});
        expect(readMajorMap({...major, cellWidth: 1000})).toBeNull();
        expect(readMajorMap({...major, value: '1,2'})).toBeNull();
    });

    it('draws the bot\'s frame north up: piece 0 and a piece\'s first bytes are bottom-left, a bottom-left charger stays bottom-left', () => {
        // Only piece 0 has been seen: floor, with walls on its first three bytes (its west column, from the south).
        const piece = new Uint8Array(100).fill(1);
        piece.fill(2, 0, 3);
        const map = toVacuumMap({
            major: SMALL_MAJOR,
            pieces: [piece, null, null, null],
            rooms: new Map(),
            roomNames: {},
            // South-west of the seen square, and near its north-east corner.
            positions: {charger: {x: -475, y: -475}, robot: {x: -75, y: -75}},
            trace: [],
            boundaries: [],
        })!;
        // The seen 10 × 10 pixels are the picture's bottom-left; 4 pixels of margin above and right.
        expect([map.width, map.height]).toEqual([14, 14]);
        const cell = (x: number, y: number): number => map.cells[y * map.width + x]!;
        expect([cell(0, 13), cell(0, 12), cell(0, 11), cell(0, 10)]).toEqual([MAP_WALL, MAP_WALL, MAP_WALL, MAP_FLOOR]);
        expect(cell(1, 13)).toBe(MAP_FLOOR);
        expect(cell(0, 3)).toBe(0);
        expect(map.charger).toEqual({x: 0, y: 13});
        expect(map.robot).toEqual({x: 8, y: 5});
    });

    it('places virtual walls as lines and no-go / no-mop areas as polygons, in the pixels positions are placed in', () => {
        const map = toVacuumMap({
            major: SMALL_MAJOR,
            pieces: [new Uint8Array(100).fill(1), null, null, null],
            rooms: new Map(),
            roomNames: {},
            positions: {charger: null, robot: null},
            trace: [],
            boundaries: [
                {kind: 'vw', id: '0', points: [{x: -475, y: -25}, {x: -75, y: -25}]},
                {kind: 'mw', id: '0', points: [{x: -425, y: -425}, {x: -225, y: -425}, {x: -225, y: -225}]},
            ],
        })!;
        expect(map.virtualWalls).toEqual([[{x: 0, y: 4}, {x: 8, y: 4}]]);
        expect(map.noGoAreas).toEqual([[{x: 1, y: 12}, {x: 5, y: 12}, {x: 5, y: 8}]]);
    });

    it('reads virtual walls and no-mop zones in every list form deebot-client\'s vectors show, compressed or not', () => {
        expect(readBoundary({type: 'vw', mid: '1', mssid: '0', value: '[-3900,668,-2133,668]'}, 'vw', '0')).toEqual({
            ok: true,
            boundary: {kind: 'vw', id: '0', points: [{x: -3900, y: 668}, {x: -2133, y: 668}]},
        });
        expect(readBoundary({type: 'vw', mid: '1', mssid: 1, value: "['12023', '1979', '12135', '-6720']"}, 'vw', '1')).toMatchObject({ok: true, boundary: {points: [{x: 12023, y: 1979}, {x: 12135, y: -6720}]}});
        const zone = [{x: -442, y: 2910}, {x: -442, y: 982}, {x: 1214, y: 982}, {x: 1214, y: 2910}];
        expect(readBoundary({type: 'mw', mid: '1', mssid: '4', compress: 1, value: encodeOutline(zone)}, 'mw', '4')).toEqual({ok: true, boundary: {kind: 'mw', id: '4', points: zone}});
        expect(readBoundaryIds({type: 'vw', mid: '1', subsets: [{mssid: '0'}, {mssid: 3}, {nothing: 1}, 'x']}, 'vw')).toEqual(['0', '3']);
        expect(readBoundaryIds({type: 'ar', mid: '1', subsets: [{mssid: '0'}]}, 'vw')).toBeNull();
        expect(readBoundaryIds({type: 'vw', mid: '1', subsets: 'XQAAB'}, 'vw')).toBeNull();
    });

    it('refuses a boundary with wrong types, missing fields or absurd coordinates, saying why', () => {
        const good = {type: 'vw', mid: '1', mssid: '0', value: '[-3900,668,-2133,668]'};
        const reasonOf = (data: unknown): string => {
            const read = readBoundary(data, 'vw', '0');
            return read.ok ? 'accepted' : read.reason;
        };
        expect(reasonOf('[-3900,668,-2133,668]')).toBe('vw 0: the answer is not an object');
        expect(reasonOf({...good, type: 'mw'})).toBe('vw 0: its type is "mw"');
        expect(reasonOf({...good, mssid: '7'})).toBe('vw 0: it answers for subset "7"');
        expect(reasonOf({...good, value: undefined})).toBe('vw 0: it has no value');
        expect(reasonOf({...good, value: [-3900, 668, -2133, 668]})).toBe('vw 0: it has no value');
        expect(reasonOf({...good, compress: 1})).toBe('vw 0: its value does not decompress');
        expect(reasonOf({...good, value: '[-3900,668,-2133]'})).toBe('vw 0: 3 coordinates make no line or area');
        expect(reasonOf({...good, value: '[]'})).toBe('vw 0: 1 coordinates make no line or area');
        expect(reasonOf({...good, value: '[-3900,668,north,668]'})).toBe('vw 0: coordinate "north" is not a position on a map');
        expect(reasonOf({...good, value: '[-3900,668,1e9,668]'})).toBe('vw 0: coordinate "1e9" is not a position on a map');
        expect(reasonOf({...good, value: '[-3900,668,900000000,668]'})).toBe('vw 0: coordinate "900000000" is not a position on a map');
        expect(reasonOf({...good, value: `[${Array(200).fill('1,2').join(',')}]`})).toBe('vw 0: 400 coordinates make no line or area');
    });

    it('reads the path in centimetres (a fifth of a 50 mm pixel, as deebot-client scales it) and where it starts', () => {
        const value = encodeMapTrace([{x: 1000, y: -1500}, {x: 0, y: 30}]);
        expect(readMapTrace({traceStart: 0, traceValue: value})).toEqual({start: 0, points: [{x: 1000, y: -1500}, {x: 0, y: 30}]});
        expect(readMapTrace({traceStart: '12', traceValue: value})?.start).toBe(12);
        expect(readMapTrace({traceStart: -1, traceValue: value})).toBeNull();
        expect(readMapTrace({traceStart: 0})).toBeNull();
        // deebot-client's vector: its first points are 0,1 and -10,1 in the bot's units.
        const vector = 'XQAABACvAAAAAAAAAEINQkt4BfqEvt9Pow7YU9KWRVBcSBosIDAOtACCicHy+vmfexxcutQUhqkAPQlBawOeXo/VSrOqF7yhdJ1JPICUs3IhIebU62Qego0vdk8oObiLh3VY/PVkqQyvR4dHxUDzMhX7HAguZVn3yC17+cQ18N4kaydN3LfSUtV/zejrBM4=';
        expect(readMapTrace({traceStart: 0, traceValue: vector})?.points.slice(0, 2)).toEqual([{x: 0, y: 10}, {x: -100, y: 10}]);
    });

    it('reads a charger push as a list, and an onMajorMap push without the grid as its CRCs', () => {
        expect(readPositions([{x: 100, y: -200, a: 0}])).toEqual({robot: null, charger: {x: 100, y: -200}});
        expect(readPositions([])).toBeNull();
        expect(readPieceCrcs({mid: '7', value: '1,2,3'})).toEqual({mapId: '7', crcs: ['1', '2', '3']});
        expect(readPieceCrcs({mid: '7', value: '1,two'})).toBeNull();
        expect(readPieceCrcs({value: '1,2'})).toBeNull();
    });
});
