import {gzipSync} from 'node:zlib';

import fc from 'fast-check';
import {PNG} from 'pngjs';
import {describe, expect, it} from 'vitest';

import {MAP_FLOOR, MAP_OUTSIDE, MAP_WALL, ROBOT_COLOUR, CHARGER_COLOUR, renderScale, renderVacuumMapPng, roomColour} from '../../src/core/vacuum-map.js';
import {decodeRoborockMap, encodeRawRoborockMap, MAX_UNZIPPED_MAP_BYTES} from '../../src/families/miio/map/roborock-map-codec.js';
import {SIMULATED_CHARGER_PIXEL, SIMULATED_ROBOT_PIXEL, simulatedFloorPlan, simulatedMapUpload} from '../../src/simulate/miio.js';

const FUZZ_RUNS = Number(process.env.FOGBRIDGE_FUZZ_RUNS ?? 300);

function decoded(upload: Buffer) {
    const result = decodeRoborockMap(upload);
    if (!result.ok) throw new Error(`refused: ${result.reason}`);
    return result;
}

function pixel(png: PNG, x: number, y: number): number[] {
    const offset = (y * png.width + x) * 4;
    return [...png.data.subarray(offset, offset + 4)];
}

describe('Roborock map: decoding', () => {
    it('reads the floor plan: rooms, walls, charger, robot, path and virtual walls, drawn with north up', () => {
        const {map, segmentIds} = decoded(simulatedMapUpload());
        expect([map.width, map.height]).toEqual([60, 40]);
        expect(segmentIds).toEqual([16, 17, 18]);
        const cell = (x: number, y: number): number => map.cells[y * map.width + x]!;
        expect([cell(5, 5), cell(45, 5), cell(45, 30), cell(0, 0), cell(29, 20)]).toEqual([16, 17, 18, MAP_WALL, MAP_WALL]);
        expect(map.robot).toEqual(SIMULATED_ROBOT_PIXEL);
        expect(map.charger).toEqual(SIMULATED_CHARGER_PIXEL);
        expect(map.path.at(0)).toEqual(SIMULATED_CHARGER_PIXEL);
        expect(map.path.at(-1)).toEqual(SIMULATED_ROBOT_PIXEL);
        expect(map.virtualWalls).toEqual([[{x: 40, y: 25}, {x: 50, y: 25}]]);
    });

    it('reads the older 24-byte image header without rooms as plain floor', () => {
        const raw = encodeRawRoborockMap(simulatedFloorPlan());
        // Cut the room count out of the image block's header: the Gen1 layout.
        const imageAt = raw.indexOf(Buffer.from([2, 0, 28, 0]));
        const gen1 = Buffer.concat([raw.subarray(0, imageAt), Buffer.from([2, 0, 24, 0]), raw.subarray(imageAt + 4, imageAt + 8), raw.subarray(imageAt + 12)]);
        gen1.writeUInt32LE(gen1.length - 20, 4);
        const {map, segmentIds} = decoded(gzipSync(gen1));
        expect(segmentIds).toEqual([]);
        expect(map.cells[5 * map.width + 5]).toBe(MAP_FLOOR);
        expect(map.cells[0]).toBe(MAP_WALL);
    });
});

describe('Roborock map: rendering', () => {
    it('draws rooms in distinct colours, the charger and the robot where they are', () => {
        const {map} = decoded(simulatedMapUpload());
        const png = PNG.sync.read(renderVacuumMapPng(map));
        const scale = renderScale(map);
        expect([png.width, png.height]).toEqual([60 * scale, 40 * scale]);
        const at = (x: number, y: number): number[] => pixel(png, Math.floor((x + 0.5) * scale), Math.floor((y + 0.5) * scale));
        expect(at(5, 20)).toEqual(roomColour(16));
        expect(at(45, 3)).toEqual(roomColour(17));
        expect(at(45, 35)).toEqual(roomColour(18));
        expect(new Set([roomColour(16), roomColour(17), roomColour(18)].map(String)).size).toBe(3);
        expect(at(SIMULATED_ROBOT_PIXEL.x, SIMULATED_ROBOT_PIXEL.y)).toEqual(ROBOT_COLOUR);
        expect(at(SIMULATED_CHARGER_PIXEL.x, SIMULATED_CHARGER_PIXEL.y)).toEqual(CHARGER_COLOUR);
        expect(pixel(png, 0, 0)).not.toEqual(roomColour(16));
        expect(map.cells.includes(MAP_OUTSIDE)).toBe(false);
    });
});

describe('Roborock map: bad input is refused with a reason, never a crash', () => {
    const raw = encodeRawRoborockMap(simulatedFloorPlan());
    const refusal = (upload: Buffer): string => {
        const result = decodeRoborockMap(upload);
        expect(result.ok).toBe(false);
        return result.ok ? '' : `${result.refusal}: ${result.reason}`;
    };

    it('not gzip (an encrypted map) is a format we do not support', () => {
        expect(refusal(Buffer.from('this is no map'))).toMatch(/^format_not_supported: not gzip/);
        expect(refusal(Buffer.alloc(0))).toMatch(/^format_not_supported/);
        expect(refusal(gzipSync(Buffer.from('xx not a roborock map')))).toMatch(/^format_not_supported: no "rr" map header/);
    });

    it('a truncated upload is corrupt', () => {
        const upload = gzipSync(raw);
        expect(refusal(upload.subarray(0, upload.length >> 1))).toMatch(/^corrupt: gzip/);
        expect(refusal(gzipSync(raw.subarray(0, raw.length - 10)))).toMatch(/^corrupt: header claims/);
    });

    it('a block claiming more bytes than are left is corrupt', () => {
        const broken = Buffer.from(raw);
        broken.writeUInt32LE(0x7fffffff, 20 + 4);
        expect(refusal(gzipSync(broken))).toMatch(/^corrupt: block 1 at 20 claims 8 \+ 2147483647 bytes/);
    });

    it('absurd image dimensions are refused before anything is allocated', () => {
        const plan = simulatedFloorPlan();
        expect(refusal(gzipSync(encodeRawRoborockMap({...plan, width: 100_000, height: 100_000})))).toMatch(/^corrupt: image of 100000 × 100000 pixels/);
        expect(refusal(gzipSync(encodeRawRoborockMap({...plan, width: -1})))).toMatch(/^corrupt: image of -1 × 40/);
        expect(refusal(gzipSync(encodeRawRoborockMap({...plan, width: 2000, height: 2000})))).toMatch(/^corrupt: image of 2000 × 2000 pixels in 2400 bytes/);
    });

    it('an upload that unzips past the cap is too large', () => {
        expect(refusal(gzipSync(Buffer.alloc(MAX_UNZIPPED_MAP_BYTES + 1)))).toMatch(/^too_large/);
    });

    it('fuzz: random bytes, and the real map with random bytes changed, never throw', () => {
        fc.assert(
            fc.property(fc.uint8Array({maxLength: 512}), (bytes) => {
                decodeRoborockMap(Buffer.from(bytes));
                decodeRoborockMap(gzipSync(bytes));
            }),
            {numRuns: FUZZ_RUNS},
        );
        fc.assert(
            fc.property(fc.array(fc.tuple(fc.nat(raw.length - 1), fc.integer({min: 0, max: 255})), {minLength: 1, maxLength: 8}), fc.nat(raw.length), (changes, cut) => {
                const mutated = Buffer.from(raw.subarray(0, Math.max(cut, 20)));
                for (const [at, value] of changes) if (at < mutated.length) mutated[at] = value;
                const result = decodeRoborockMap(gzipSync(mutated));
                if (result.ok) renderVacuumMapPng(result.map);
            }),
            {numRuns: FUZZ_RUNS},
        );
    });
});
