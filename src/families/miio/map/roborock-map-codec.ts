/**
 * The Roborock map a robot uploads (gzip of the public "rr" format: a 20-byte header, then typed
 * blocks, each `type u16, header length u16, data length u32`, all little-endian). Pure: bytes in, a
 * normalised map or the reason it was refused out. Every size is checked against what is left of
 * the buffer before anything is allocated, so a hostile upload costs at most the caps below.
 */
import {gunzipSync} from 'node:zlib';

import {MAP_FLOOR, MAP_OUTSIDE, MAP_WALL, MAX_MAP_SIDE, MAX_ROOM_ID, type MapPoint, type VacuumMap} from '../../../core/vacuum-map.js';

/** A 1024 × 1024 map with a long path unzips to about 1.5 MiB; this leaves room and no more. */
export const MAX_UNZIPPED_MAP_BYTES = 8 * 1024 * 1024;
/** Path points drawn at most; a longer path keeps its newest points. */
const MAX_PATH_POINTS = 65_536;
const MAX_SHAPES = 256;
/** Map coordinates are millimetres; one image pixel is 50 mm. */
const MM_PER_PIXEL = 50;

export const BLOCK = {
    charger: 1,
    image: 2,
    path: 3,
    currentlyCleanedZones: 6,
    robotPosition: 8,
    noGoAreas: 9,
    virtualWalls: 10,
    noMopAreas: 12,
} as const;

/** Why a map was not shown: the map status sensor's values (besides `ok` and `no_map`). */
export type MapRefusal = 'format_not_supported' | 'corrupt' | 'too_large';

export type MapDecoding = {ok: true; map: VacuumMap; segmentIds: number[]} | {ok: false; refusal: MapRefusal; reason: string};

const GZIP_MAGIC = 0x1f8b;

export function decodeRoborockMap(upload: Buffer): MapDecoding {
    // Newer firmware encrypts its maps: not gzip at all, so not a map we can read.
    if (upload.length < 2 || upload.readUInt16BE(0) !== GZIP_MAGIC) return refuse('format_not_supported', 'not gzip (an encrypted map of newer firmware?)');
    let raw: Buffer;
    try {
        raw = gunzipSync(upload, {maxOutputLength: MAX_UNZIPPED_MAP_BYTES});
    } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ERR_BUFFER_TOO_LARGE') return refuse('too_large', `unzips to more than ${MAX_UNZIPPED_MAP_BYTES} bytes`);
        return refuse('corrupt', `gzip: ${(error as Error).message}`);
    }
    try {
        return parseRawMap(raw);
    } catch (error) {
        if (error instanceof MapError) return refuse(error.refusal, error.message);
        throw error;
    }
}

class MapError extends Error {
    constructor(
        readonly refusal: MapRefusal,
        message: string,
    ) {
        super(message);
    }
}

function refuse(refusal: MapRefusal, reason: string): MapDecoding {
    return {ok: false, refusal, reason};
}

interface Block {
    type: number;
    /** The whole block: header and data. */
    view: Buffer;
    headerLength: number;
    dataLength: number;
}

function parseRawMap(raw: Buffer): MapDecoding {
    if (raw.length < 20 || raw[0] !== 0x72 || raw[1] !== 0x72) throw new MapError('format_not_supported', 'no "rr" map header');
    const headerLength = raw.readUInt16LE(2);
    const dataLength = raw.readUInt32LE(4);
    if (headerLength < 20 || headerLength + dataLength > raw.length) throw new MapError('corrupt', `header claims ${headerLength} + ${dataLength} bytes, the map has ${raw.length}`);
    const blocks = new Map<number, Block>();
    let offset = headerLength;
    const end = headerLength + dataLength;
    while (offset < end) {
        if (end - offset < 8) throw new MapError('corrupt', `a block header is cut short at ${offset}`);
        const type = raw.readUInt16LE(offset);
        const blockHeader = raw.readUInt16LE(offset + 2);
        const blockData = raw.readUInt32LE(offset + 4);
        if (blockHeader < 8 || blockHeader + blockData > end - offset) throw new MapError('corrupt', `block ${type} at ${offset} claims ${blockHeader} + ${blockData} bytes, ${end - offset} are left`);
        blocks.set(type, {type, view: raw.subarray(offset, offset + blockHeader + blockData), headerLength: blockHeader, dataLength: blockData});
        offset += blockHeader + blockData;
    }
    const image = blocks.get(BLOCK.image);
    if (!image) throw new MapError('corrupt', 'no image block');
    const {map, segmentIds, toPixel} = parseImage(image);
    const charger = blocks.get(BLOCK.charger);
    if (charger) map.charger = toPixel(readPosition(charger));
    const robot = blocks.get(BLOCK.robotPosition);
    if (robot) map.robot = toPixel(readPosition(robot));
    const path = blocks.get(BLOCK.path);
    if (path) map.path = readPath(path).map(toPixel);
    for (const type of [BLOCK.noGoAreas, BLOCK.noMopAreas]) {
        const areas = blocks.get(type);
        if (areas) map.noGoAreas.push(...readShapes(areas, 8).map((corners) => corners.map(toPixel)));
    }
    const walls = blocks.get(BLOCK.virtualWalls);
    if (walls) map.virtualWalls = readShapes(walls, 4).map(([from, to]) => [toPixel(from!), toPixel(to!)]);
    return {ok: true, map, segmentIds};
}

function need(block: Block, bytes: number, what: string): void {
    if (block.view.length < bytes) throw new MapError('corrupt', `block ${block.type}: too short for its ${what}`);
}

/**
 * The floor image: `top, left, height, width` (int32) in grid pixels, then one byte per pixel, bottom
 * row first. Low 3 bits: 0 outside, 1 wall, else floor; with the longer (28-byte) header the high
 * 5 bits are the room id.
 */
function parseImage(block: Block): {map: VacuumMap; segmentIds: number[]; toPixel: (point: MapPoint) => MapPoint} {
    const withRooms = block.headerLength >= 28;
    const base = withRooms ? 4 : 0;
    need(block, base + 24, 'dimensions');
    const top = block.view.readInt32LE(base + 8);
    const left = block.view.readInt32LE(base + 12);
    const height = block.view.readInt32LE(base + 16);
    const width = block.view.readInt32LE(base + 20);
    if (width < 1 || height < 1 || width > MAX_MAP_SIDE || height > MAX_MAP_SIDE) throw new MapError('corrupt', `image of ${width} × ${height} pixels`);
    if (width * height > block.dataLength) throw new MapError('corrupt', `image of ${width} × ${height} pixels in ${block.dataLength} bytes`);
    const pixels = block.view.subarray(block.headerLength, block.headerLength + width * height);
    const cells = new Uint8Array(width * height);
    const rooms = new Set<number>();
    for (let row = 0; row < height; row++) {
        // Stored bottom row first: drawn top row first.
        const out = (height - 1 - row) * width;
        for (let column = 0; column < width; column++) {
            const value = pixels[row * width + column]!;
            const kind = value & 0b111;
            const room = withRooms ? value >> 3 : 0;
            let cell = kind === 0 ? MAP_OUTSIDE : kind === 1 ? MAP_WALL : MAP_FLOOR;
            if (kind > 1 && room > 0 && room <= MAX_ROOM_ID) {
                cell = room;
                rooms.add(room);
            }
            cells[out + column] = cell;
        }
    }
    const toPixel = ({x, y}: MapPoint): MapPoint => ({x: Math.round(x / MM_PER_PIXEL) - left, y: height - 1 - (Math.round(y / MM_PER_PIXEL) - top)});
    return {map: {width, height, cells, charger: null, robot: null, path: [], noGoAreas: [], virtualWalls: [], roomNames: new Map()}, segmentIds: [...rooms].sort((a, b) => a - b), toPixel};
}

/** Charger and robot: x and y in millimetres (int32). */
function readPosition(block: Block): MapPoint {
    need(block, block.headerLength + 8, 'position');
    return {x: block.view.readInt32LE(block.headerLength), y: block.view.readInt32LE(block.headerLength + 4)};
}

/** The path: pairs of uint16 millimetres after its 20-byte header. */
function readPath(block: Block): MapPoint[] {
    const count = Math.floor(block.dataLength / 4);
    const first = Math.max(0, count - MAX_PATH_POINTS);
    const points: MapPoint[] = [];
    for (let index = first; index < count; index++) {
        const at = block.headerLength + index * 4;
        points.push({x: block.view.readUInt16LE(at), y: block.view.readUInt16LE(at + 2)});
    }
    return points;
}

/** Zones and walls: a count (uint32 at 8), then `corners` uint16 pairs per shape. */
function readShapes(block: Block, corners: 4 | 8): MapPoint[][] {
    need(block, 12, 'count');
    const size = corners * 2;
    const count = Math.min(block.view.readUInt32LE(8), Math.floor(block.dataLength / size), MAX_SHAPES);
    const shapes: MapPoint[][] = [];
    for (let index = 0; index < count; index++) {
        const at = block.headerLength + index * size;
        const shape: MapPoint[] = [];
        for (let corner = 0; corner < corners; corner += 2) shape.push({x: block.view.readUInt16LE(at + corner * 2), y: block.view.readUInt16LE(at + corner * 2 + 2)});
        shapes.push(shape);
    }
    return shapes;
}

/** What a robot's map says, in its own terms: for the simulator and tests to build uploads from. */
export interface RoborockFloorPlan {
    /** Grid position of the image's lower left corner, in 50 mm pixels. */
    top: number;
    left: number;
    width: number;
    height: number;
    /** Raw pixel bytes, bottom row first: `(room << 3) | 7` for a room, 1 for a wall, 0 outside. */
    pixels: Uint8Array;
    /** Millimetres. */
    charger: MapPoint;
    robot: MapPoint;
    path: MapPoint[];
    virtualWalls: [MapPoint, MapPoint][];
}

function block(type: number, header: Buffer, data: Buffer): Buffer {
    const head = Buffer.alloc(8);
    head.writeUInt16LE(type, 0);
    head.writeUInt16LE(8 + header.length, 2);
    head.writeUInt32LE(data.length, 4);
    return Buffer.concat([head, header, data]);
}

function int32s(...values: number[]): Buffer {
    const buffer = Buffer.alloc(values.length * 4);
    values.forEach((value, index) => buffer.writeInt32LE(value, index * 4));
    return buffer;
}

function uint16s(values: number[]): Buffer {
    const buffer = Buffer.alloc(values.length * 2);
    values.forEach((value, index) => buffer.writeUInt16LE(value, index * 2));
    return buffer;
}

/** The raw (not yet gzipped) "rr" map of a floor plan, in the layout a Gen2+ robot uploads. */
export function encodeRawRoborockMap(plan: RoborockFloorPlan): Buffer {
    const blocks = Buffer.concat([
        block(BLOCK.charger, Buffer.alloc(0), int32s(plan.charger.x, plan.charger.y)),
        // The 28-byte image header: a room count, then top, left, height, width.
        block(BLOCK.image, int32s(new Set([...plan.pixels].map((value) => value >> 3)).size, plan.top, plan.left, plan.height, plan.width), Buffer.from(plan.pixels)),
        block(BLOCK.path, int32s(plan.path.length, 4, 0), uint16s(plan.path.flatMap(({x, y}) => [x, y]))),
        block(BLOCK.robotPosition, Buffer.alloc(0), int32s(plan.robot.x, plan.robot.y)),
        block(BLOCK.virtualWalls, int32s(plan.virtualWalls.length), uint16s(plan.virtualWalls.flatMap(([from, to]) => [from.x, from.y, to.x, to.y]))),
    ]);
    const header = Buffer.alloc(20);
    header.write('rr', 0, 'latin1');
    header.writeUInt16LE(20, 2);
    header.writeUInt32LE(blocks.length, 4);
    header.writeUInt16LE(1, 8);
    return Buffer.concat([header, blocks]);
}
