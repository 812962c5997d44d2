/** The one map renderer: room names drawn on their rooms, readable, inside the picture. */
import {PNG} from 'pngjs';
import {describe, expect, it} from 'vitest';

import {labelBitmap, roomLabelAnchors} from '../../src/core/map-labels.js';
import {LABEL_COLOUR, LABEL_HALO, MAP_FLOOR, MAP_WALL, labelScale, renderScale, renderVacuumMapPng, roomColour, type VacuumMap} from '../../src/core/vacuum-map.js';

const [WIDTH, HEIGHT] = [120, 80];

/** Walls round the edge and at x = 60; room 16 on the left, room 17 on the right. */
function twoRooms(roomNames: ReadonlyMap<number, string>): VacuumMap {
    const cells = new Uint8Array(WIDTH * HEIGHT);
    for (let y = 0; y < HEIGHT; y++) {
        for (let x = 0; x < WIDTH; x++) cells[y * WIDTH + x] = x === 0 || y === 0 || x === WIDTH - 1 || y === HEIGHT - 1 || x === 60 ? MAP_WALL : x < 60 ? 16 : 17;
    }
    return {width: WIDTH, height: HEIGHT, cells, charger: null, robot: null, path: [], noGoAreas: [], virtualWalls: [], roomNames};
}

/** The bounding box, in picture pixels, of every pixel of `colour`; null when there is none. */
function boxOf(png: PNG, colour: readonly number[], within: (x: number, y: number) => boolean = () => true): {left: number; top: number; right: number; bottom: number} | null {
    let box: {left: number; top: number; right: number; bottom: number} | null = null;
    for (let y = 0; y < png.height; y++) {
        for (let x = 0; x < png.width; x++) {
            const offset = (y * png.width + x) * 4;
            if (!within(x, y) || colour.some((value, index) => png.data[offset + index] !== value)) continue;
            box = box ? {left: Math.min(box.left, x), top: Math.min(box.top, y), right: Math.max(box.right, x), bottom: Math.max(box.bottom, y)} : {left: x, top: y, right: x, bottom: y};
        }
    }
    return box;
}

function render(map: VacuumMap): PNG {
    return PNG.sync.read(renderVacuumMapPng(map));
}

describe('vacuum map: room names', () => {
    it('draws each name, dark on a light halo, centred on its room', () => {
        const map = twoRooms(new Map([[16, 'Kitchen'], [17, 'Bedroom']]));
        const png = render(map);
        const scale = renderScale(map);
        const middle = 60 * scale;
        const left = boxOf(png, LABEL_COLOUR, (x) => x < middle)!;
        const right = boxOf(png, LABEL_COLOUR, (x) => x > middle)!;
        // Room 16 spans map x 1–59 and y 1–78: its middle is (30, 39.5) in map pixels.
        expect(Math.abs((left.left + left.right) / 2 - 30.5 * scale)).toBeLessThanOrEqual(scale * 2);
        expect(Math.abs((left.top + left.bottom) / 2 - 40 * scale)).toBeLessThanOrEqual(scale * 2);
        expect(Math.abs((right.left + right.right) / 2 - 90.5 * scale)).toBeLessThanOrEqual(scale * 2);
        const textScale = labelScale(png.width, png.height);
        expect(left.right - left.left + 1).toBe(labelBitmap('Kitchen')!.width * textScale);
        // The halo rings the text: white just outside the text's box, where the room colour was.
        expect(boxOf(png, LABEL_HALO, (x) => x < middle)!.left).toBeLessThan(left.left);
        // Away from the names the rooms keep their colours.
        const offset = (10 * scale * png.width + 10 * scale) * 4;
        expect([...png.data.subarray(offset, offset + 4)]).toEqual(roomColour(16));
    });

    it('draws no label when the map has no names', () => {
        const png = render(twoRooms(new Map()));
        expect([png.width, png.height]).toEqual([WIDTH * renderScale({width: WIDTH, height: HEIGHT}), HEIGHT * renderScale({width: WIDTH, height: HEIGHT})]);
        expect(boxOf(png, LABEL_COLOUR)).toBeNull();
        expect(boxOf(png, LABEL_HALO)).toBeNull();
    });

    it('puts the name of an L-shaped room inside the room, not at its centroid', () => {
        const cells = new Uint8Array(40 * 40).fill(MAP_FLOOR);
        // An L: a bar along the top and one down the left; the centroid falls on the floor between them.
        for (let y = 0; y < 40; y++) for (let x = 0; x < 40; x++) if (y < 10 || x < 10) cells[y * 40 + x] = 5;
        const anchor = roomLabelAnchors(40, 40, cells, [5]).get(5)!;
        expect(cells[anchor.y * 40 + anchor.x]).toBe(5);
    });

    it('finds the same spot on a large map, sampled down', () => {
        const [width, height] = [1000, 600];
        const cells = new Uint8Array(width * height).fill(MAP_FLOOR);
        for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (y < 100 || x < 100) cells[y * width + x] = 9;
        for (let y = 300; y < 500; y++) for (let x = 500; x < 900; x++) cells[y * width + x] = 10;
        const anchors = roomLabelAnchors(width, height, cells, [9, 10]);
        expect(cells[anchors.get(9)!.y * width + anchors.get(9)!.x]).toBe(9);
        expect(Math.abs(anchors.get(10)!.x - 700)).toBeLessThanOrEqual(4);
        expect(Math.abs(anchors.get(10)!.y - 400)).toBeLessThanOrEqual(4);
    });

    it('keeps a label that would stick out inside the picture, uncut', () => {
        const map = twoRooms(new Map([[17, 'A rather long room name here']]));
        const png = render(map);
        const text = boxOf(png, LABEL_COLOUR)!;
        const textScale = labelScale(png.width, png.height);
        expect(text.right - text.left + 1).toBe(labelBitmap('A rather long room name here')!.width * textScale);
        expect(text.right).toBeLessThan(png.width);
    });

    it('draws accented names without their accents and skips names the font cannot draw', () => {
        expect(labelBitmap('Küche')).toEqual(labelBitmap('Kuche'));
        expect(labelBitmap('Straße')).toEqual(labelBitmap('Strasse'));
        expect(labelBitmap('客厅')).toBeNull();
        expect(labelBitmap('   ')).toBeNull();
        expect(boxOf(render(twoRooms(new Map([[16, '客厅']]))), LABEL_COLOUR)).toBeNull();
    });
});
