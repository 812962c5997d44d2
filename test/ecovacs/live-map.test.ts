/** An Ecovacs bot's map through a fake link: pieces cached by CRC, bad pieces refused with a status. */
import {describe, expect, it} from 'vitest';

import {type BotAnswer, type EcoCommand} from '../../src/families/ecovacs/codec.js';
import {encodeMapPiece} from '../../src/families/ecovacs/map/ecovacs-map-codec.js';
import {EcovacsLiveMaps, type MapStatus} from '../../src/families/ecovacs/map/live-map.js';
import {createLogger} from '../../src/util/logger.js';

const SIDE = 10;

function harness(pieceValue: (index: number) => string) {
    const sent: EcoCommand[] = [];
    const statuses: MapStatus[] = [];
    const pictures: Buffer[] = [];
    let crcs = ['1', '2', '3', '4'];
    const data: Record<string, (command: EcoCommand) => unknown> = {
        getMajorMap: () => ({mid: 'm', pieceWidth: SIDE, pieceHeight: SIDE, cellWidth: 2, cellHeight: 2, pixel: 50, value: crcs.join(',')}),
        getMinorMap: (command) => {
            const index = (command.data as {pieceIndex: number}).pieceIndex;
            return {mid: 'm', type: 'ol', pieceIndex: index, pieceValue: pieceValue(index)};
        },
        getPos: () => ({deebotPos: {x: 0, y: 0, a: 0}, chargePos: [{x: 100, y: 100, a: 0}]}),
    };
    const maps = new EcovacsLiveMaps({
        send: async (_did, command): Promise<BotAnswer> => {
            sent.push(command);
            const reply = data[command.name];
            return reply ? {code: 0, observations: [], data: reply(command)} : {code: 20003, msg: 'rcp not support', observations: []};
        },
        renderIntervalMs: 0,
        publish: (_did, png) => pictures.push(png),
        roomNames: () => ({}),
        setStatus: (_did, status) => statuses.push(status),
        log: createLogger('test:ecovacs-map'),
    });
    return {maps, sent, statuses, pictures, setCrcs: (next: string[]) => (crcs = next)};
}

const floor = encodeMapPiece(new Uint8Array(SIDE * SIDE).fill(1));

describe('Ecovacs live maps', () => {
    it('fetches every piece once, then only those whose CRC changed', async () => {
        const {maps, sent, statuses, pictures, setCrcs} = harness(() => floor);
        await maps.refresh('bot', 'm', []);
        expect(sent.filter((command) => command.name === 'getMinorMap')).toHaveLength(4);
        expect(statuses).toEqual(['ok']);
        expect(pictures).toHaveLength(1);
        sent.length = 0;
        setCrcs(['1', '2', '3', '9']);
        await maps.refresh('bot', 'm', []);
        expect(sent.filter((command) => command.name === 'getMinorMap').map((command) => (command.data as {pieceIndex: number}).pieceIndex)).toEqual([3]);
        maps.stop();
    });

    it('refuses a piece that does not decompress or has the wrong size: map_status says so, nothing throws', async () => {
        const {maps, statuses} = harness((index) => (index === 1 ? 'bm90IExaTUEgYXQgYWxs' : index === 2 ? encodeMapPiece(new Uint8Array(7)) : floor));
        await maps.refresh('bot', 'm', []);
        expect(statuses).toEqual(['corrupt']);
        expect(maps.status('bot')).toBe('corrupt');
        maps.stop();
    });
});
