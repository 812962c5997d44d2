/**
 * Reads the simulated Ecovacs flat's picture (src/simulate/ecovacs.ts) at points given in the bot's
 * millimetres, with the conversion worked out here independently of the map codec: x east, y north
 * (up in the picture), 50 mm a pixel around the map's centre, cropped to the flat's walls plus a
 * 4-pixel margin, scaled as the renderer scales.
 */
import {PNG} from 'pngjs';
import {expect} from 'vitest';

import {type MapPoint, renderScale} from '../../src/core/vacuum-map.js';
import {SIMULATED_MAP, SIMULATED_ROOM_OUTLINES} from '../../src/simulate/ecovacs.js';

export interface SimulatedMapPicture {
    png: PNG;
    /** The colour at the centre of the map pixel a point falls in. */
    colourAt(point: MapPoint): number[];
    /** The colour of the output pixel a one-pixel line through this point (along a map pixel's centre) is drawn on. */
    lineColourAt(point: MapPoint): number[];
    /** Whether any output pixel over the rectangle [x0, y0, x1, y1] (millimetres) has this colour. */
    colourWithin(rectangle: [number, number, number, number], colour: readonly number[]): boolean;
}

export function readSimulatedMapPicture(payload: string): SimulatedMapPicture {
    const png = PNG.sync.read(Buffer.from(payload, 'base64'));
    const {pieceSide, piecesPerSide, pixelMm} = SIMULATED_MAP;
    const side = pieceSide * piecesPerSide;
    /** The pixel column of a position, and the pixel row counted from the south: as the bot's pieces count them. */
    const column = (mm: number): number => Math.floor(mm / pixelMm + side / 2);
    const row = (mm: number): number => side - 1 - column(mm);
    const outlines = Object.values(SIMULATED_ROOM_OUTLINES);
    // The walls are the pixels just outside the rooms: west and south of x0 / y0, on x1 / y1.
    const left = column(Math.min(...outlines.map(([x0]) => x0))) - 1 - 4;
    const right = column(Math.max(...outlines.map(([, , x1]) => x1))) + 4;
    const top = row(Math.max(...outlines.map(([, , , y1]) => y1))) - 4;
    const bottom = row(Math.min(...outlines.map(([, y0]) => y0))) + 1 + 4;
    const [width, height] = [right + 1 - left, bottom + 1 - top];
    const scale = renderScale({width, height});
    expect([png.width, png.height]).toEqual([width * scale, height * scale]);
    const at = (x: number, y: number): number[] => {
        const offset = (y * png.width + x) * 4;
        return [...png.data.subarray(offset, offset + 4)];
    };
    const pixel = (point: MapPoint): MapPoint => ({x: column(point.x) - left, y: row(point.y) - top});
    return {
        png,
        colourAt: (point) => {
            const {x, y} = pixel(point);
            return at(x * scale + Math.floor(scale / 2), y * scale + Math.floor(scale / 2));
        },
        lineColourAt: (point) => {
            const {x, y} = pixel(point);
            return at(Math.round((x + 0.5) * scale), Math.round((y + 0.5) * scale));
        },
        colourWithin: ([x0, y0, x1, y1], colour) => {
            const [from, to] = [pixel({x: x0, y: y1}), pixel({x: x1, y: y0})];
            for (let y = from.y * scale; y < (to.y + 1) * scale; y++) {
                for (let x = from.x * scale; x < (to.x + 1) * scale; x++) if (at(x, y).every((value, index) => value === colour[index])) return true;
            }
            return false;
        },
    };
}
