/**
 * Room names on the map picture: where each name goes (the room's pole of inaccessibility, so that
 * an L-shaped room's name lands inside it) and the name as glyph pixels. The glyphs are the "Seven
 * plus" bitmap font of `js-pixel-fonts` (MIT, pure data): no system fonts and no native binaries,
 * which CI and a Home Assistant add-on container do not have.
 */
import {fonts, renderPixels} from 'js-pixel-fonts';

const FONT = fonts.sevenPlus;
/** Longer names are cut: a label wider than its room helps no one. */
const MAX_LABEL_CHARACTERS = 24;
/** Letters NFKD does not take apart into a base letter and a mark. */
const LATIN_LETTERS: Record<string, string> = {ß: 'ss', æ: 'ae', Æ: 'AE', œ: 'oe', Œ: 'OE', ø: 'o', Ø: 'O', ł: 'l', Ł: 'L', đ: 'd', Đ: 'D', þ: 'th', Þ: 'Th'};

/** A name as the font can draw it: one bit per pixel, row by row. */
export interface LabelBitmap {
    width: number;
    height: number;
    pixels: Uint8Array;
}

/**
 * The font covers ASCII: accented Latin letters lose their accents ("Küche" → "Kuche"), anything
 * else becomes "?". A name with no letter or digit left (a name in Chinese, say) gets no label
 * rather than a row of question marks; null then.
 */
export function labelBitmap(name: string): LabelBitmap | null {
    const drawable = [...name.normalize('NFKD').replace(/\p{M}/gu, '')]
        .map((character) => LATIN_LETTERS[character] ?? (/\s/u.test(character) ? ' ' : character !== '' && FONT.glyphs[character] ? character : '?'))
        .join('')
        .replace(/ +/g, ' ')
        .trim();
    if (!/[A-Za-z0-9]/.test(drawable)) return null;
    const text = drawable.length > MAX_LABEL_CHARACTERS ? `${drawable.slice(0, MAX_LABEL_CHARACTERS - 1).trimEnd()}.` : drawable;
    const rows = renderPixels(text, FONT);
    const width = Math.max(...rows.map((row) => row.length));
    const pixels = new Uint8Array(width * rows.length);
    rows.forEach((row, y) => row.forEach((pixel, x) => (pixels[y * width + x] = pixel)));
    return {width, height: rows.length, pixels};
}

/** Anchors are looked for on a grid this fine at most: a label is far larger than one of its squares. */
const ANCHOR_GRID_SIDE = 256;

/**
 * For each room id in `roomIds` found in `cells`: where its name goes, in map pixels. Large maps are
 * sampled down first (a 1024 × 1024 map in full cost more than drawing it).
 */
export function roomLabelAnchors(width: number, height: number, cells: Uint8Array, roomIds: Iterable<number>): Map<number, {x: number; y: number}> {
    const step = Math.max(1, Math.ceil(Math.max(width, height) / ANCHOR_GRID_SIDE));
    if (step === 1) return polesOfInaccessibility(width, height, cells, roomIds);
    const [gridWidth, gridHeight] = [Math.ceil(width / step), Math.ceil(height / step)];
    const grid = new Uint8Array(gridWidth * gridHeight);
    const centre = (square: number, side: number): number => Math.min(side - 1, square * step + Math.floor(step / 2));
    for (let y = 0; y < gridHeight; y++) for (let x = 0; x < gridWidth; x++) grid[y * gridWidth + x] = cells[centre(y, height) * width + centre(x, width)]!;
    const anchors = polesOfInaccessibility(gridWidth, gridHeight, grid, roomIds);
    for (const anchor of anchors.values()) [anchor.x, anchor.y] = [centre(anchor.x, width), centre(anchor.y, height)];
    return anchors;
}

/**
 * Each room's pixel farthest from anything that is not the room (chessboard distance, two passes),
 * ties going to the pixel nearest the room's centroid so that a rectangle's name sits in its middle.
 */
function polesOfInaccessibility(width: number, height: number, cells: Uint8Array, roomIds: Iterable<number>): Map<number, {x: number; y: number}> {
    const wanted = new Uint8Array(256);
    for (const id of roomIds) if (Number.isInteger(id) && id >= 0 && id < 256) wanted[id] = 1;
    const distance = new Uint16Array(width * height);
    const [sumX, sumY, count] = [new Float64Array(256), new Float64Array(256), new Float64Array(256)];
    // Out of the picture counts as another room: a name is not drawn against the picture's edge.
    const at = (x: number, y: number, room: number): number => (x < 0 || y < 0 || x >= width || y >= height || cells[y * width + x] !== room ? 0 : distance[y * width + x]!);
    for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
            const room = cells[y * width + x]!;
            if (!wanted[room]) continue;
            distance[y * width + x] = 1 + Math.min(at(x - 1, y, room), at(x - 1, y - 1, room), at(x, y - 1, room), at(x + 1, y - 1, room));
            sumX[room] = sumX[room]! + x;
            sumY[room] = sumY[room]! + y;
            count[room] = count[room]! + 1;
        }
    }
    const bestX = new Int32Array(256).fill(-1);
    const bestY = new Int32Array(256);
    const bestDistance = new Uint16Array(256);
    const bestOffCentre = new Float64Array(256);
    for (let y = height - 1; y >= 0; y--) {
        for (let x = width - 1; x >= 0; x--) {
            const index = y * width + x;
            const room = cells[index]!;
            if (!wanted[room]) continue;
            const own = Math.min(distance[index]!, 1 + Math.min(at(x + 1, y, room), at(x + 1, y + 1, room), at(x, y + 1, room), at(x - 1, y + 1, room)));
            distance[index] = own;
            if (own < bestDistance[room]!) continue;
            const offCentre = (x - sumX[room]! / count[room]!) ** 2 + (y - sumY[room]! / count[room]!) ** 2;
            if (own > bestDistance[room]! || offCentre < bestOffCentre[room]!) {
                [bestX[room], bestY[room], bestDistance[room], bestOffCentre[room]] = [x, y, own, offCentre];
            }
        }
    }
    const anchors = new Map<number, {x: number; y: number}>();
    for (let room = 0; room < 256; room++) if (bestX[room]! >= 0) anchors.set(room, {x: bestX[room]!, y: bestY[room]!});
    return anchors;
}
