/**
 * Live-map cost per map, for both families, each against decompressing the same bytes alone in the
 * same run: a 1024 × 1024 Roborock upload (the robot's full grid, 16 rooms, a long path) parsed and
 * rendered to PNG with its rooms' names vs gunzip; an Ecovacs 8 × 8-piece map (64 LZMA pieces of 100 × 100 px, 4 room
 * outlines and names, a 400-point trace) decoded, assembled and rendered vs LZMA-decoding its pieces.
 */
import {gunzipSync, gzipSync} from 'node:zlib';

import {type MapPoint, renderVacuumMapPng} from '../src/core/vacuum-map.js';
import {
    type MajorMap,
    PIECE_FLOOR,
    PIECE_WALL,
    decodeMapPiece,
    encodeMapPiece,
    toVacuumMap,
} from '../src/families/ecovacs/map/ecovacs-map-codec.js';
import {decodeRoborockMap, encodeRawRoborockMap, type RoborockFloorPlan} from '../src/families/miio/map/roborock-map-codec.js';
import {median, printResult} from './stats.js';

const SIDE = 1024;
const ROOM_SIDE = SIDE / 4;
// Path points are uint16 millimetres: the whole grid lies within 65.5 m of the origin, as on a robot.
const ORIGIN = 100;

function floorPlan(): RoborockFloorPlan {
    const pixels = new Uint8Array(SIDE * SIDE);
    for (let y = 0; y < SIDE; y++) {
        for (let x = 0; x < SIDE; x++) {
            const wall = x % ROOM_SIDE === 0 || y % ROOM_SIDE === 0;
            const room = 1 + Math.floor(y / ROOM_SIDE) * 4 + Math.floor(x / ROOM_SIDE);
            pixels[y * SIDE + x] = wall ? 1 : (room << 3) | 0b111;
        }
    }
    const toMm = (x: number, y: number): {x: number; y: number} => ({x: (ORIGIN + x) * 50, y: (ORIGIN + y) * 50});
    // A lawn-mower path over the whole flat: 4,000 points, as a long clean leaves.
    const path = Array.from({length: 4000}, (_, index) => toMm((index * 37) % SIDE, Math.floor(index / 4)));
    return {top: ORIGIN, left: ORIGIN, width: SIDE, height: SIDE, pixels, charger: toMm(20, 20), robot: toMm(500, 500), path, virtualWalls: [[toMm(100, 100), toMm(300, 100)]]};
}

const upload = gzipSync(encodeRawRoborockMap(floorPlan()));
let sink = 0;

function roborock(): void {
    const decoded = decodeRoborockMap(upload);
    if (!decoded.ok) throw new Error(`the bench map was refused: ${decoded.reason}`);
    sink += renderVacuumMapPng({...decoded.map, roomNames: new Map(decoded.segmentIds.map((id) => [id, `Room ${id}`]))}).length;
}

function roborockBaseline(): void {
    sink += gunzipSync(upload).length;
}

const PIECE_SIDE = 100;
const PIECES_PER_SIDE = 8;
const PIXEL_MM = 50;

/** A flat of four rooms over the 8 × 8 pieces, walls on the room borders, as a bot would send it. */
function ecovacsMap(): {major: MajorMap; pieces: string[]; rooms: Map<string, MapPoint[]>; trace: MapPoint[]} {
    const side = PIECE_SIDE * PIECES_PER_SIDE;
    const pieces: string[] = [];
    for (let index = 0; index < PIECES_PER_SIDE * PIECES_PER_SIDE; index++) {
        const left = Math.floor(index / PIECES_PER_SIDE) * PIECE_SIDE;
        const top = (index % PIECES_PER_SIDE) * PIECE_SIDE;
        const pixels = new Uint8Array(PIECE_SIDE * PIECE_SIDE);
        // Column by column, as the bots send a piece.
        for (let offset = 0; offset < pixels.length; offset++) {
            const x = left + Math.floor(offset / PIECE_SIDE);
            const y = top + (offset % PIECE_SIDE);
            pixels[offset] = x % (side / 2) === 0 || y % (side / 2) === 0 ? PIECE_WALL : PIECE_FLOOR;
        }
        pieces.push(encodeMapPiece(pixels));
    }
    const toMm = (x: number, y: number): MapPoint => ({x: (x - side / 2) * PIXEL_MM, y: (y - side / 2) * PIXEL_MM});
    const quarter = side / 2;
    const rooms = new Map<string, MapPoint[]>();
    for (let room = 0; room < 4; room++) {
        const [x0, y0] = [(room % 2) * quarter + 1, Math.floor(room / 2) * quarter + 1];
        rooms.set(String(room), [toMm(x0, y0), toMm(x0 + quarter - 2, y0), toMm(x0 + quarter - 2, y0 + quarter - 2), toMm(x0, y0 + quarter - 2)]);
    }
    const trace = Array.from({length: 400}, (_, index) => toMm(20 + ((index * 13) % (side - 40)), 20 + Math.floor(index / 2)));
    const major: MajorMap = {mapId: 'bench', pieceWidth: PIECE_SIDE, pieceHeight: PIECE_SIDE, columns: PIECES_PER_SIDE, rows: PIECES_PER_SIDE, pixelMm: PIXEL_MM, crcs: pieces.map((_, index) => String(index))};
    return {major, pieces, rooms, trace};
}

const ecovacs = ecovacsMap();
const ECOVACS_ROOM_NAMES = {'0': 'Living room', '1': 'Kitchen', '2': 'Bedroom', '3': 'Study'};

function decodePieces(): Uint8Array[] {
    return ecovacs.pieces.map((value) => {
        const decoded = decodeMapPiece(value, PIECE_SIDE, PIECE_SIDE);
        if (!decoded.ok) throw new Error(`a bench piece was refused: ${decoded.reason}`);
        return decoded.pixels;
    });
}

function ecovacsRender(): void {
    const map = toVacuumMap({major: ecovacs.major, pieces: decodePieces(), rooms: ecovacs.rooms, roomNames: ECOVACS_ROOM_NAMES, positions: {robot: {x: 0, y: 0}, charger: {x: 500, y: 500}}, trace: ecovacs.trace, boundaries: []});
    if (!map) throw new Error('the bench map came out empty');
    sink += renderVacuumMapPng(map).length;
}

function ecovacsBaseline(): void {
    sink += decodePieces().length;
}

function millisecondsOf(operation: () => void): number {
    const start = process.hrtime.bigint();
    operation();
    return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Medians of alternated rounds, so that both see the same machine noise. */
function measure(ours: () => void, baseline: () => void, rounds: number): {ours: number; baseline: number; ratio: number} {
    ours();
    baseline();
    const oursMs: number[] = [];
    const baselineMs: number[] = [];
    for (let round = 0; round < rounds; round++) {
        baselineMs.push(millisecondsOf(baseline));
        oursMs.push(millisecondsOf(ours));
    }
    const [oursMedian, baselineMedian] = [median(oursMs), median(baselineMs)];
    return {ours: Number(oursMedian.toFixed(2)), baseline: Number(baselineMedian.toFixed(2)), ratio: Number((oursMedian / baselineMedian).toFixed(1))};
}

const rounds = Number(process.argv[2] ?? 9);
printResult({
    bench: 'map-render',
    unit: 'ms per map (median of alternated rounds)',
    roborock: {map: '1024x1024 upload, 16 rooms', ...measure(roborock, roborockBaseline, rounds), baselineIs: 'gunzip', uploadBytes: upload.length},
    ecovacs: {map: '8x8 pieces of 100x100 px, 4 rooms', ...measure(ecovacsRender, ecovacsBaseline, rounds), baselineIs: 'LZMA decode of the pieces'},
    rounds,
    sink: sink > 0,
});
