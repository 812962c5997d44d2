/**
 * Live-map cost per upload: a 1024 × 1024 Roborock map (the robot's full grid, 16 rooms, a long
 * path) parsed and rendered to PNG, against gunzip of the same upload alone, in the same run.
 * (The Ecovacs piece map is not built yet.)
 */
import {gunzipSync, gzipSync} from 'node:zlib';

import {renderVacuumMapPng} from '../src/core/vacuum-map.js';
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

function ours(): void {
    const decoded = decodeRoborockMap(upload);
    if (!decoded.ok) throw new Error(`the bench map was refused: ${decoded.reason}`);
    sink += renderVacuumMapPng(decoded.map).length;
}

function baseline(): void {
    sink += gunzipSync(upload).length;
}

function millisecondsOf(operation: () => void): number {
    const start = process.hrtime.bigint();
    operation();
    return Number(process.hrtime.bigint() - start) / 1e6;
}

ours();
baseline();
const rounds = Number(process.argv[2] ?? 9);
const oursMs: number[] = [];
const baselineMs: number[] = [];
// Alternated, so both see the same machine noise.
for (let round = 0; round < rounds; round++) {
    baselineMs.push(millisecondsOf(baseline));
    oursMs.push(millisecondsOf(ours));
}
const oursMedian = median(oursMs);
const baselineMedian = median(baselineMs);
printResult({
    bench: 'map-render',
    unit: 'ms per 1024x1024 Roborock map (median)',
    ours: Number(oursMedian.toFixed(2)),
    baseline: Number(baselineMedian.toFixed(2)),
    ratio: Number((oursMedian / baselineMedian).toFixed(1)),
    uploadBytes: upload.length,
    rounds,
    sink: sink > 0,
});
