/**
 * A vacuum's floor plan in the normalised model: what every family's map parser produces and the one
 * renderer draws. Coordinates are pixels of `cells`, x to the right and y downwards, as drawn.
 */
import {PNG} from 'pngjs';

import {labelBitmap, roomLabelAnchors, type LabelBitmap} from './map-labels.js';

/** `cells` values besides room ids (1–253). */
export const MAP_OUTSIDE = 0;
export const MAP_FLOOR = 254;
export const MAP_WALL = 255;
export const MAX_ROOM_ID = 253;
/** Larger than any flat at 5 cm a pixel (Roborock's grid is 1024 × 1024): bounds memory before allocating. */
export const MAX_MAP_SIDE = 2048;

export interface MapPoint {
    x: number;
    y: number;
}

export interface VacuumMap {
    width: number;
    height: number;
    /** One byte per pixel, row by row from the top: MAP_OUTSIDE, MAP_FLOOR, MAP_WALL or a room id. */
    cells: Uint8Array;
    charger: MapPoint | null;
    robot: MapPoint | null;
    path: MapPoint[];
    /** Polygons the robot must not enter. */
    noGoAreas: MapPoint[][];
    virtualWalls: [MapPoint, MapPoint][];
    /** Room id (as in `cells`) → the name drawn on the room; a room without one has no label. */
    roomNames: ReadonlyMap<number, string>;
}

type Rgba = [number, number, number, number];

const BACKGROUND: Rgba = [0, 0, 0, 0];
const FLOOR: Rgba = [176, 190, 197, 255];
export const WALL_COLOUR: Rgba = [38, 50, 56, 255];
export const PATH_COLOUR: Rgba = [255, 255, 255, 255];
export const NO_GO_COLOUR: Rgba = [229, 57, 53, 255];
/** Dark on a white halo: readable on every room colour, the floor and the path alike. */
export const LABEL_COLOUR: Rgba = [33, 33, 33, 255];
export const LABEL_HALO: Rgba = [255, 255, 255, 255];
export const CHARGER_COLOUR: Rgba = [67, 160, 71, 255];
export const ROBOT_COLOUR: Rgba = [255, 111, 0, 255];
/** Distinct, light enough for the path and markers to stand out on every one of them. */
const ROOM_PALETTE: Rgba[] = [
    [100, 181, 246, 255],
    [255, 183, 77, 255],
    [129, 199, 132, 255],
    [240, 98, 146, 255],
    [149, 117, 205, 255],
    [77, 208, 225, 255],
    [220, 231, 117, 255],
    [161, 136, 127, 255],
];

/** The colour of a room: by its id, so a room keeps its colour from one map to the next. */
export function roomColour(roomId: number): Rgba {
    return ROOM_PALETTE[roomId % ROOM_PALETTE.length]!;
}

/** Small maps are scaled up so that HA's card shows them sharp; large ones stay 1:1. */
export function renderScale(map: Pick<VacuumMap, 'width' | 'height'>): number {
    return Math.max(1, Math.min(4, Math.floor(400 / Math.max(map.width, map.height))));
}

/** Output pixels per font pixel: the names stay about as large, relative to the picture, as HA's card shrinks it. */
export function labelScale(pictureWidth: number, pictureHeight: number): number {
    return Math.max(1, Math.min(4, Math.round(Math.max(pictureWidth, pictureHeight) / 160)));
}

/** Draws the map as a PNG: rooms in their colours with their names, floor, walls, no-go areas, path, charger and robot. */
export function renderVacuumMapPng(map: VacuumMap): Buffer {
    const scale = renderScale(map);
    const png = new PNG({width: map.width * scale, height: map.height * scale});
    const canvas = new Canvas(png, scale);
    for (let y = 0; y < map.height; y++) {
        for (let x = 0; x < map.width; x++) canvas.cell(x, y, cellColour(map.cells[y * map.width + x]!));
    }
    for (const area of map.noGoAreas) area.forEach((point, index) => canvas.line(point, area[(index + 1) % area.length]!, NO_GO_COLOUR));
    for (const [from, to] of map.virtualWalls) canvas.line(from, to, NO_GO_COLOUR);
    for (let index = 1; index < map.path.length; index++) canvas.line(map.path[index - 1]!, map.path[index]!, PATH_COLOUR);
    // Over the path, under the markers: where the robot is matters more than a name.
    if (map.roomNames.size > 0) {
        const textScale = labelScale(png.width, png.height);
        for (const [room, anchor] of roomLabelAnchors(map.width, map.height, map.cells, map.roomNames.keys())) {
            const label = labelBitmap(map.roomNames.get(room)!);
            if (label) canvas.label(anchor, label, textScale);
        }
    }
    if (map.charger) canvas.disc(map.charger, 2, CHARGER_COLOUR);
    if (map.robot) canvas.disc(map.robot, 3, ROBOT_COLOUR);
    return PNG.sync.write(png);
}

function cellColour(cell: number): Rgba {
    if (cell === MAP_OUTSIDE) return BACKGROUND;
    if (cell === MAP_FLOOR) return FLOOR;
    if (cell === MAP_WALL) return WALL_COLOUR;
    return roomColour(cell);
}

/** Plots in map pixels onto the scaled PNG; whatever falls outside is clipped, never an error. */
class Canvas {
    constructor(
        private readonly png: PNG,
        private readonly scale: number,
    ) {}

    cell(x: number, y: number, colour: Rgba): void {
        for (let dy = 0; dy < this.scale; dy++) for (let dx = 0; dx < this.scale; dx++) this.dot(x * this.scale + dx, y * this.scale + dy, colour);
    }

    /** A line one output pixel wide, between the centres of two map pixels. */
    line(from: MapPoint, to: MapPoint, colour: Rgba): void {
        const [x0, y0, x1, y1] = [from.x, from.y, to.x, to.y].map((value) => Math.round((value + 0.5) * this.scale)) as [number, number, number, number];
        const steps = Math.min(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0)), this.png.width + this.png.height);
        for (let step = 0; step <= steps; step++) {
            const t = steps === 0 ? 0 : step / steps;
            this.dot(Math.round(x0 + (x1 - x0) * t), Math.round(y0 + (y1 - y0) * t), colour);
        }
    }

    /** A filled circle of `radius` map pixels around a map point. */
    disc(centre: MapPoint, radius: number, colour: Rgba): void {
        const cx = (centre.x + 0.5) * this.scale;
        const cy = (centre.y + 0.5) * this.scale;
        const r = radius * this.scale;
        for (let y = Math.floor(cy - r); y <= Math.ceil(cy + r); y++) {
            for (let x = Math.floor(cx - r); x <= Math.ceil(cx + r); x++) if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r) this.dot(x, y, colour);
        }
    }

    /** A name centred on a map point, moved inside the picture if it would stick out. */
    label(centre: MapPoint, label: LabelBitmap, textScale: number): void {
        const halo = Math.max(1, Math.floor(textScale / 2));
        const [boxWidth, boxHeight] = [label.width * textScale + 2 * halo, label.height * textScale + 2 * halo];
        const left = clamp(Math.round((centre.x + 0.5) * this.scale - boxWidth / 2), 0, this.png.width - boxWidth) + halo;
        const top = clamp(Math.round((centre.y + 0.5) * this.scale - boxHeight / 2), 0, this.png.height - boxHeight) + halo;
        for (const [grow, colour] of [[halo, LABEL_HALO], [0, LABEL_COLOUR]] as const) {
            for (let y = 0; y < label.height; y++) {
                for (let x = 0; x < label.width; x++) {
                    if (!label.pixels[y * label.width + x]) continue;
                    for (let dy = -grow; dy < textScale + grow; dy++) for (let dx = -grow; dx < textScale + grow; dx++) this.dot(left + x * textScale + dx, top + y * textScale + dy, colour);
                }
            }
        }
    }

    private dot(x: number, y: number, colour: Rgba): void {
        if (!Number.isFinite(x) || !Number.isFinite(y) || x < 0 || y < 0 || x >= this.png.width || y >= this.png.height) return;
        const offset = (y * this.png.width + x) * 4;
        this.png.data[offset] = colour[0];
        this.png.data[offset + 1] = colour[1];
        this.png.data[offset + 2] = colour[2];
        this.png.data[offset + 3] = colour[3];
    }
}

/** `value` within `[low, high]`; `low` when the range is empty (a label wider than the picture starts at its left edge). */
function clamp(value: number, low: number, high: number): number {
    return Math.max(low, Math.min(high, value));
}
