/** Ecovacs map pieces and outlines: LZMA as bots send it, and what is refused. */
import {describe, expect, it} from 'vitest';

import {decodeMapPiece, encodeMapPiece, readMajorMap, readMapSubset} from '../../src/families/ecovacs/map/ecovacs-map-codec.js';

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
});
