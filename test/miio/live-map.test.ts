/** A Roborock's uploads through the live map: drawn with the rooms' names, redrawn only when something shown changed. */
import {PNG} from 'pngjs';
import {describe, expect, it} from 'vitest';

import {LABEL_COLOUR} from '../../src/core/vacuum-map.js';
import {LiveMaps, type MapStatus} from '../../src/families/miio/map/live-map.js';
import {simulatedMapUpload} from '../../src/simulate/miio.js';
import {createLogger} from '../../src/util/logger.js';

function harness() {
    const names: Record<string, string> = {'16': 'Kitchen'};
    const pictures: Buffer[] = [];
    const statuses: MapStatus[] = [];
    const asked: string[] = [];
    const maps = new LiveMaps({
        renderIntervalMs: 0,
        publish: (_deviceId, png) => pictures.push(png),
        roomName: (_deviceId, segmentId) => {
            asked.push(segmentId);
            return names[segmentId] ?? `Room ${segmentId}`;
        },
        setStatus: (_deviceId, status) => statuses.push(status),
        log: createLogger('test:miio-map'),
    });
    return {maps, names, pictures, statuses, asked};
}

function labelPixels(png: Buffer): number {
    const {data} = PNG.sync.read(png);
    let count = 0;
    for (let offset = 0; offset < data.length; offset += 4) if (LABEL_COLOUR.every((value, index) => data[offset + index] === value)) count++;
    return count;
}

describe('miIO live maps', () => {
    it('draws the rooms with their names, asked by segment id', () => {
        const {maps, pictures, statuses, asked} = harness();
        maps.accept('vacuum', simulatedMapUpload());
        expect(asked).toEqual(['16', '17', '18']);
        expect(statuses).toEqual(['ok']);
        expect(labelPixels(pictures[0]!)).toBeGreaterThan(0);
        maps.stop();
    });

    it('draws the same upload again only when a room was renamed', () => {
        const {maps, names, pictures} = harness();
        maps.accept('vacuum', simulatedMapUpload());
        maps.accept('vacuum', simulatedMapUpload());
        expect(pictures).toHaveLength(1);
        names['16'] = 'A much longer kitchen';
        maps.accept('vacuum', simulatedMapUpload());
        expect(pictures).toHaveLength(2);
        expect(labelPixels(pictures[1]!)).toBeGreaterThan(labelPixels(pictures[0]!));
        maps.stop();
    });
});
