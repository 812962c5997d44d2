/**
 * Ecovacs maps as MQTT bots send them (ecovacs.md §5.2): `getMajorMap` (the grid of pieces and their
 * CRCs), `getMinorMap` (one piece: LZMA-compressed base64), `getMapSet` / `getMapSubSet` (rooms'
 * outlines, virtual walls `vw` and no-mop zones `mw`), `getMapTrace` (the path) and `getPos` /
 * `getChargerPos` (robot and charger). Pure: no I/O.
 *
 * Frame: bots give positions, outlines and boundaries in millimetres around the map's centre, x to
 * the east and y to the north (upwards, as the app shows it); `pixelMm` (the major map's `pixel`, 50
 * on every bot seen) turns them into map pixels. Pieces are numbered column by column from the
 * bottom-left, and a piece's bytes run column by column from its bottom-left too. deebot-client draws
 * them so (pieces from the bottom, each rotated a quarter turn; positions and boundaries at
 * `(x, −y) / 50`), and ecovacs-deebot.js draws them the other way up and flips the whole picture.
 * The normalised map has y downwards: north is up in the picture, as in the app.
 */
import lzma from 'lzma';

import {MAP_FLOOR, MAP_OUTSIDE, MAP_WALL, MAX_ROOM_ID, type MapPoint, type VacuumMap} from '../../../core/vacuum-map.js';
import {isPlainObject} from '../../../util/plain-object.js';
import {type EcoCommand, idText, integer, type MapSetType} from '../codec.js';

/** Pixel values inside a piece. */
export const PIECE_NOTHING = 0;
export const PIECE_FLOOR = 1;
export const PIECE_WALL = 2;
export const PIECE_CARPET = 3;

/** A major map wider than this many pixels per side is refused before anything is allocated. */
export const MAX_MAJOR_MAP_SIDE = 2048;
/** Bots send 8 × 8 pieces; a list of CRCs far longer than that is refused unread. */
const MAX_PIECES = 2048;
/** An outline or a path longer than this is cut: more than any flat needs. */
export const MAX_POINTS = 20_000;
/** Virtual walls and no-mop zones per map: more than any flat has; the rest of a longer list is dropped. */
const MAX_BOUNDARIES = 64;
/** A boundary is a line or a small polygon; one with more corners than this is not one. */
const MAX_BOUNDARY_POINTS = 64;
/** Farther from the map's centre than the largest map reaches (its half side at 50 mm a pixel): absurd. */
const MAX_COORDINATE_MM = (MAX_MAJOR_MAP_SIDE / 2) * 50;
/** A path point's unit: a fifth of a 50 mm map pixel (deebot-client draws the path scaled by 0.2). */
const TRACE_UNIT_MM = 10;
/** LZMA-alone header on the wire: 5 bytes of properties, then the size as 4 bytes (the file format has 8). */
const WIRE_HEADER_BYTES = 9;

export interface MajorMap {
    mapId: string;
    pieceWidth: number;
    pieceHeight: number;
    /** Pieces per row and per column. */
    columns: number;
    rows: number;
    /** Millimetres per map pixel. */
    pixelMm: number;
    /** One per piece, by piece index: a piece is fetched again only when its CRC changes. */
    crcs: string[];
}

export interface MinorMap {
    mapId: string;
    pieceIndex: number;
    /** LZMA-compressed base64, decoded by `decodeMapPiece`. */
    value: string;
}

export interface MapSubset {
    mapId: string;
    roomId: string;
    /** The room's outline in millimetres. */
    outline: MapPoint[];
}

/** A virtual wall (`vw`) or a no-mop zone (`mw`): two points make a line, more an area. */
export type BoundaryKind = Extract<MapSetType, 'vw' | 'mw'>;
export const BOUNDARY_KINDS: readonly BoundaryKind[] = ['vw', 'mw'];

export interface MapBoundary {
    kind: BoundaryKind;
    id: string;
    /** In millimetres. */
    points: MapPoint[];
}

export type BoundaryRead = {ok: true; boundary: MapBoundary} | {ok: false; reason: string};

/** A path, or its continuation from `start` (the index of its first point in the bot's whole path). */
export interface MapTrace {
    start: number;
    /** In millimetres. */
    points: MapPoint[];
}

export interface BotPositions {
    robot: MapPoint | null;
    charger: MapPoint | null;
}

export const getMajorMapCommand = (mapId: string): EcoCommand => ({name: 'getMajorMap', data: {mid: mapId}});
export const getMinorMapCommand = (mapId: string, pieceIndex: number): EcoCommand => ({name: 'getMinorMap', data: {mid: mapId, type: 'ol', pieceIndex}});
export const getMapSubSetCommand = (mapId: string, subsetId: string, type: MapSetType = 'ar'): EcoCommand => ({name: 'getMapSubSet', data: {mid: mapId, mssid: subsetId, type}});
export const getMapTraceCommand: EcoCommand = {name: 'getMapTrace', data: {pointCount: 400, tid: '', traceStart: 0}};
export const getPosCommand: EcoCommand = {name: 'getPos', data: ['chargePos', 'deebotPos']};

export function readMajorMap(data: unknown): MajorMap | null {
    const pieceCrcs = readPieceCrcs(data);
    if (!pieceCrcs || !isPlainObject(data)) return null;
    const [pieceWidth, pieceHeight, columns, rows, pixelMm] = [data.pieceWidth, data.pieceHeight, data.cellWidth, data.cellHeight, data.pixel].map(positiveInteger);
    if (!pieceWidth || !pieceHeight || !columns || !rows || !pixelMm) return null;
    if (pieceWidth * columns > MAX_MAJOR_MAP_SIDE || pieceHeight * rows > MAX_MAJOR_MAP_SIDE) return null;
    if (pieceCrcs.crcs.length !== columns * rows) return null;
    return {...pieceCrcs, pieceWidth, pieceHeight, columns, rows, pixelMm};
}

/** The map id and piece CRCs of a major map, or of an `onMajorMap` push (deebot-client reads only these from it). */
export function readPieceCrcs(data: unknown): {mapId: string; crcs: string[]} | null {
    if (!isPlainObject(data) || typeof data.value !== 'string') return null;
    const mapId = idText(data.mid);
    const crcs = data.value.split(',');
    if (mapId === null || crcs.length > MAX_PIECES || crcs.some((crc) => !/^\d{1,10}$/.test(crc))) return null;
    return {mapId, crcs};
}

export function readMinorMap(data: unknown): MinorMap | null {
    if (!isPlainObject(data) || typeof data.pieceValue !== 'string') return null;
    const mapId = idText(data.mid);
    const pieceIndex = typeof data.pieceIndex === 'number' && Number.isInteger(data.pieceIndex) && data.pieceIndex >= 0 ? data.pieceIndex : null;
    return mapId === null || pieceIndex === null ? null : {mapId, pieceIndex, value: data.pieceValue};
}

export function readMapSubset(data: unknown): MapSubset | null {
    if (!isPlainObject(data) || data.type !== 'ar' || typeof data.value !== 'string') return null;
    const mapId = idText(data.mid);
    const roomId = idText(data.mssid);
    if (mapId === null || roomId === null) return null;
    // Bots send the outline compressed (`compress: 1`) or as it is.
    const text = data.compress === 1 ? decompressText(data.value) : data.value;
    return text === null ? null : {mapId, roomId, outline: readPointList(text)};
}

/** `getMapTrace` / `onMapTrace`: `traceValue` is compressed records of x, y (int16, little-endian) and a type byte. */
export function readMapTrace(data: unknown): MapTrace | null {
    if (!isPlainObject(data) || typeof data.traceValue !== 'string') return null;
    const start = integer(data.traceStart ?? 0);
    if (start === null || start < 0) return null;
    const bytes = decompress(data.traceValue, null);
    if (!bytes.ok) return null;
    const points: MapPoint[] = [];
    for (let offset = 0; offset + 5 <= bytes.bytes.length && points.length < MAX_POINTS; offset += 5) {
        const view = Buffer.from(bytes.bytes.buffer, bytes.bytes.byteOffset + offset, 4);
        points.push({x: view.readInt16LE(0) * TRACE_UNIT_MM, y: view.readInt16LE(2) * TRACE_UNIT_MM});
    }
    return {start, points};
}

/** `getMapSet` for virtual walls or no-mop zones: the ids of its subsets, each read with `getMapSubSet`. */
export function readBoundaryIds(data: unknown, kind: BoundaryKind): string[] | null {
    if (!isPlainObject(data) || data.type !== kind || !Array.isArray(data.subsets)) return null;
    return data.subsets.slice(0, MAX_BOUNDARIES).flatMap((subset) => {
        const id = isPlainObject(subset) ? idText(subset.mssid) : null;
        return id === null ? [] : [id];
    });
}

/**
 * `getMapSubSet` for a virtual wall or a no-mop zone: `value` lists x, y, x, y… in millimetres, as
 * `[-3900,668,-2133,668]` or `['12023', '1979', …]` (deebot-client's vectors), compressed or not.
 */
export function readBoundary(data: unknown, kind: BoundaryKind, id: string): BoundaryRead {
    const refuse = (reason: string): BoundaryRead => ({ok: false, reason: `${kind} ${id}: ${reason}`});
    if (!isPlainObject(data)) return refuse('the answer is not an object');
    if (data.type !== kind) return refuse(`its type is ${JSON.stringify(data.type)}`);
    if (idText(data.mssid) !== id) return refuse(`it answers for subset ${JSON.stringify(data.mssid)}`);
    if (typeof data.value !== 'string') return refuse('it has no value');
    const text = data.compress === 1 ? decompressText(data.value) : data.value;
    if (text === null) return refuse('its value does not decompress');
    const tokens = text.replace(/^\s*\[|\]\s*$/g, '').split(/[,;]/).map((token) => token.trim().replace(/^'(.*)'$/, '$1'));
    if (tokens.length < 4 || tokens.length % 2 !== 0 || tokens.length > MAX_BOUNDARY_POINTS * 2) return refuse(`${tokens.length} coordinates make no line or area`);
    const numbers = tokens.map((token) => (/^-?\d+(\.\d+)?$/.test(token) ? Number(token) : NaN));
    const bad = numbers.findIndex((number) => !Number.isFinite(number) || Math.abs(number) > MAX_COORDINATE_MM);
    if (bad >= 0) return refuse(`coordinate ${JSON.stringify(tokens[bad]!.slice(0, 20))} is not a position on a map`);
    const points = Array.from({length: numbers.length / 2}, (_, index) => ({x: numbers[index * 2]!, y: numbers[index * 2 + 1]!}));
    return {ok: true, boundary: {kind, id, points}};
}

/** `getPos` / `onPos` (§2.4: objects or lists), and `getChargerPos` / `onChargerPos` (a list of chargers). */
export function readPositions(data: unknown): BotPositions | null {
    if (Array.isArray(data)) {
        const charger = firstPoint(data);
        return charger ? {robot: null, charger} : null;
    }
    if (!isPlainObject(data)) return null;
    const robot = firstPoint(data.deebotPos);
    const charger = firstPoint(data.chargePos ?? (data.x !== undefined ? data : undefined));
    return robot || charger ? {robot, charger} : null;
}

export type PieceDecode = {ok: true; pixels: Uint8Array} | {ok: false; reason: string};

/** One piece's pixels; refused when it does not decompress or is not exactly `width × height` bytes. */
export function decodeMapPiece(value: string, width: number, height: number): PieceDecode {
    const decoded = decompress(value, width * height);
    return decoded.ok ? {ok: true, pixels: decoded.bytes} : decoded;
}

/** The bot side of `decodeMapPiece` (simulators, tests, benches). */
export function encodeMapPiece(pixels: Uint8Array): string {
    return compress(pixels);
}

/** The bot side of `readMapTrace`, from millimetres. */
export function encodeMapTrace(points: readonly MapPoint[]): string {
    const bytes = Buffer.alloc(points.length * 5);
    points.forEach((point, index) => {
        bytes.writeInt16LE(Math.round(point.x / TRACE_UNIT_MM), index * 5);
        bytes.writeInt16LE(Math.round(point.y / TRACE_UNIT_MM), index * 5 + 2);
    });
    return compress(bytes);
}

/** The bot side of `readMapSubset`'s compressed outline. */
export function encodeOutline(points: readonly MapPoint[]): string {
    return compress(Buffer.from(points.map((point) => `${Math.round(point.x)},${Math.round(point.y)}`).join(';')));
}

/** The bot side of `readBoundary`: the list as older bots send it, uncompressed. */
export function formatBoundary(points: readonly MapPoint[]): string {
    return `[${points.flatMap((point) => [Math.round(point.x), Math.round(point.y)]).join(',')}]`;
}

/** What a bot said about its map, gathered: the pieces by index (null: not fetched, or refused). */
export interface EcovacsMapParts {
    major: MajorMap;
    pieces: readonly (Uint8Array | null)[];
    /** Outlines in millimetres, by room id. */
    rooms: ReadonlyMap<string, readonly MapPoint[]>;
    /** Room names by room id (the bot's `getMapSet`); rooms without one get no label. */
    roomNames: Readonly<Record<string, string>>;
    positions: BotPositions;
    /** In millimetres. */
    trace: readonly MapPoint[];
    boundaries: readonly MapBoundary[];
}

/** Pixels kept around what the bot has seen, so that walls and markers are not cut. */
const CROP_MARGIN = 4;

/** The parts in the normalised model, north up, cropped to what the bot has seen; null while it has seen nothing. */
export function toVacuumMap(parts: EcovacsMapParts): VacuumMap | null {
    const {major} = parts;
    const fullWidth = major.pieceWidth * major.columns;
    const fullHeight = major.pieceHeight * major.rows;
    const full = new Uint8Array(fullWidth * fullHeight);
    let [minX, minY, maxX, maxY] = [fullWidth, fullHeight, -1, -1];
    parts.pieces.forEach((pixels, index) => {
        if (!pixels || index >= major.columns * major.rows) return;
        const left = Math.floor(index / major.rows) * major.pieceWidth;
        const bottom = (index % major.rows) * major.pieceHeight;
        for (let offset = 0; offset < pixels.length; offset++) {
            const value = pixels[offset]!;
            if (value === PIECE_NOTHING) continue;
            const x = left + Math.floor(offset / major.pieceHeight);
            // Counted from the bottom in the bot's frame, from the top in the picture.
            const y = fullHeight - 1 - (bottom + (offset % major.pieceHeight));
            full[y * fullWidth + x] = value === PIECE_WALL ? MAP_WALL : MAP_FLOOR;
            [minX, minY, maxX, maxY] = [Math.min(minX, x), Math.min(minY, y), Math.max(maxX, x), Math.max(maxY, y)];
        }
    });
    if (maxX < 0) return null;
    /** Millimetres in the bot's frame → the picture's pixel grid, unrounded (0, 0 is the top-left corner of the top-left pixel). */
    const toGrid = (point: MapPoint): MapPoint => ({x: point.x / major.pixelMm + fullWidth / 2, y: fullHeight / 2 - point.y / major.pixelMm});
    for (const [roomId, outline] of parts.rooms) {
        const cell = Number(roomId) + 1;
        if (Number.isInteger(cell) && cell >= 1 && cell <= MAX_ROOM_ID && outline.length >= 3) fillRoom(full, fullWidth, fullHeight, outline.map(toGrid), cell);
    }
    const [left, top] = [Math.max(0, minX - CROP_MARGIN), Math.max(0, minY - CROP_MARGIN)];
    const width = Math.min(fullWidth, maxX + CROP_MARGIN + 1) - left;
    const height = Math.min(fullHeight, maxY + CROP_MARGIN + 1) - top;
    const cells = new Uint8Array(width * height);
    for (let y = 0; y < height; y++) cells.set(full.subarray((top + y) * fullWidth + left, (top + y) * fullWidth + left + width), y * width);
    /** The pixel of the cropped picture a point falls in: a pixel holds [n, n + 1) × pixelMm of the bot's frame, as the pieces' pixels do. */
    const place = (point: MapPoint): MapPoint => ({
        x: Math.floor(point.x / major.pixelMm + fullWidth / 2) - left,
        y: fullHeight - 1 - Math.floor(point.y / major.pixelMm + fullHeight / 2) - top,
    });
    const lines = parts.boundaries.filter((boundary) => boundary.points.length === 2);
    const areas = parts.boundaries.filter((boundary) => boundary.points.length > 2);
    return {
        width,
        height,
        cells,
        roomNames: roomNamesByCell(parts),
        charger: parts.positions.charger && place(parts.positions.charger),
        robot: parts.positions.robot && place(parts.positions.robot),
        path: parts.trace.map(place),
        // No-mop zones are drawn as no-go areas: the normalised map has no kind of its own for them.
        noGoAreas: areas.map((area) => area.points.map(place)),
        virtualWalls: lines.map((line) => [place(line.points[0]!), place(line.points[1]!)]),
    };
}

/** Room ids count from 0 and cell 0 is "outside": a room's cells hold its id + 1 (as `toVacuumMap` fills them). */
function roomNamesByCell(parts: EcovacsMapParts): Map<number, string> {
    const names = new Map<number, string>();
    for (const roomId of parts.rooms.keys()) {
        const [cell, name] = [Number(roomId) + 1, parts.roomNames[roomId]];
        if (name && Number.isInteger(cell) && cell >= 1 && cell <= MAX_ROOM_ID) names.set(cell, name);
    }
    return names;
}

/** Floor inside the outline (in grid units) becomes the room (even-odd rule, tested at pixel centres); walls stay walls. */
function fillRoom(cells: Uint8Array, width: number, height: number, outline: MapPoint[], room: number): void {
    const xs = outline.map((point) => point.x);
    const ys = outline.map((point) => point.y);
    const [fromX, toX] = [Math.max(0, Math.floor(Math.min(...xs))), Math.min(width - 1, Math.ceil(Math.max(...xs)))];
    const [fromY, toY] = [Math.max(0, Math.floor(Math.min(...ys))), Math.min(height - 1, Math.ceil(Math.max(...ys)))];
    for (let y = fromY; y <= toY; y++) {
        for (let x = fromX; x <= toX; x++) {
            const index = y * width + x;
            if (cells[index] === MAP_OUTSIDE || cells[index] === MAP_WALL) continue;
            if (insidePolygon(x + 0.5, y + 0.5, outline)) cells[index] = room;
        }
    }
}

function insidePolygon(x: number, y: number, polygon: MapPoint[]): boolean {
    let inside = false;
    for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
        const [a, b] = [polygon[i]!, polygon[j]!];
        if (a.y > y !== b.y > y && x < ((b.x - a.x) * (y - a.y)) / (b.y - a.y) + a.x) inside = !inside;
    }
    return inside;
}

function compress(bytes: Uint8Array): string {
    const file = Buffer.from(lzma.compress(Buffer.from(bytes), 1));
    // The file header's size is 8 bytes; the wire keeps the low 4.
    return Buffer.concat([file.subarray(0, WIRE_HEADER_BYTES), file.subarray(WIRE_HEADER_BYTES + 4)]).toString('base64');
}

/**
 * Base64 → LZMA-alone bytes (the 4 size bytes the wire drops put back) → the data. The declared
 * size is checked against `expectedBytes` (or a cap) before decompressing: memory stays bounded.
 */
function decompress(value: string, expectedBytes: number | null): {ok: true; bytes: Uint8Array} | {ok: false; reason: string} {
    const wire = Buffer.from(value, 'base64');
    if (wire.length <= WIRE_HEADER_BYTES) return {ok: false, reason: `${wire.length} bytes is too short for LZMA data`};
    const declared = wire.readUInt32LE(5);
    if (expectedBytes !== null && declared !== expectedBytes) return {ok: false, reason: `it declares ${declared} bytes, not the ${expectedBytes} of a piece`};
    if (declared > MAX_MAJOR_MAP_SIDE * MAX_MAJOR_MAP_SIDE) return {ok: false, reason: `it declares ${declared} bytes`};
    let result: Uint8Array | string;
    try {
        result = lzma.decompress(Buffer.concat([wire.subarray(0, WIRE_HEADER_BYTES), Buffer.alloc(4), wire.subarray(WIRE_HEADER_BYTES)]));
    } catch (error) {
        return {ok: false, reason: `it does not decompress: ${(error as Error).message}`};
    }
    // The library hands back text when the bytes happen to be UTF-8 without a zero byte.
    const bytes = typeof result === 'string' ? Buffer.from(result, 'utf8') : Uint8Array.from(result, (byte) => byte & 0xff);
    if (bytes.length !== declared) return {ok: false, reason: `it decompresses to ${bytes.length} bytes, not the ${declared} declared`};
    return {ok: true, bytes};
}

function decompressText(value: string): string | null {
    const decoded = decompress(value, null);
    return decoded.ok ? Buffer.from(decoded.bytes).toString('latin1') : null;
}

/** `"x,y;x,y;…"`; pairs that are not two numbers are skipped. */
function readPointList(text: string): MapPoint[] {
    const points: MapPoint[] = [];
    for (const pair of text.split(';')) {
        if (points.length >= MAX_POINTS) break;
        const [x, y] = pair.split(',').map(Number);
        if (Number.isFinite(x) && Number.isFinite(y)) points.push({x: x!, y: y!});
    }
    return points;
}

function firstPoint(value: unknown): MapPoint | null {
    const entry = Array.isArray(value) ? value[0] : value;
    if (!isPlainObject(entry) || entry.invalid === 1) return null;
    return typeof entry.x === 'number' && typeof entry.y === 'number' && Number.isFinite(entry.x) && Number.isFinite(entry.y) ? {x: entry.x, y: entry.y} : null;
}

function positiveInteger(value: unknown): number | null {
    return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : null;
}
