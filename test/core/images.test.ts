/** The image store: each feature's latest picture kept across restarts, one file per feature, removed with the device. */
import {existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';

import {PNG} from 'pngjs';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';

import {EventBus} from '../../src/core/bus.js';
import type {Feature} from '../../src/core/device.js';
import {DeviceImages, imagesDirectory} from '../../src/core/images.js';
import {DeviceRegistry} from '../../src/core/registry.js';

const MAP: Feature = {id: 'map', kind: 'image', name: {key: 'map'}};
const vacuum = (id: string, features: Feature[] = [MAP]) => ({id, family: 'miio' as const, facts: {manufacturer: 'Roborock', model: 'vacuum', name: id}, features});

function picture(shade: number): Buffer {
    const png = new PNG({width: 2, height: 2});
    png.data.fill(shade);
    return PNG.sync.write(png);
}

describe('DeviceImages', () => {
    let dataDir: string;
    beforeEach(() => {
        dataDir = mkdtempSync(path.join(tmpdir(), 'fogbridge-images-'));
    });
    afterEach(() => rmSync(dataDir, {recursive: true, force: true}));

    /** A registry and image store over the data directory, as the bridge starts them. */
    async function start() {
        const bus = new EventBus();
        const registry = new DeviceRegistry({file: path.join(dataDir, 'registry.json'), bus});
        await registry.load();
        const images = new DeviceImages(registry, bus, {directory: imagesDirectory(dataDir)});
        await images.load();
        return {
            registry,
            images,
            async stop() {
                await images.close();
                await registry.close();
            },
        };
    }

    it('gives back after a restart the newest picture, written at close even within the save interval', async () => {
        const first = await start();
        first.registry.upsert(vacuum('miio-1'));
        first.images.publish('miio-1', 'map', picture(10));
        first.images.publish('miio-1', 'map', picture(20));
        await first.stop();
        expect(readdirSync(imagesDirectory(dataDir))).toEqual(['miio-1.map.png']);

        const second = await start();
        expect(second.images.get('miio-1', 'map')?.png).toEqual(picture(20));
        await second.stop();
    });

    it('removes the file with the device, with the image feature, and at start for devices no longer known', async () => {
        const first = await start();
        for (const id of ['miio-1', 'miio-2', 'miio-3']) {
            first.registry.upsert(vacuum(id));
            first.images.publish(id, 'map', picture(1));
        }
        first.registry.remove('miio-1');
        first.registry.upsert(vacuum('miio-2', []));
        expect(first.images.get('miio-1', 'map')).toBeUndefined();
        expect(first.images.get('miio-2', 'map')).toBeUndefined();
        await first.stop();
        expect(readdirSync(imagesDirectory(dataDir))).toEqual(['miio-3.map.png']);

        // A file whose device is not in the registry (removed while the bridge was stopped) goes at the next start.
        writeFileSync(path.join(imagesDirectory(dataDir), 'miio-9.map.png'), picture(1));
        const second = await start();
        expect(existsSync(path.join(imagesDirectory(dataDir), 'miio-9.map.png'))).toBe(false);
        expect(second.images.get('miio-3', 'map')).toBeDefined();
        await second.stop();
    });

    it('does not serve a kept file that is not a PNG; the next picture replaces it', async () => {
        const first = await start();
        first.registry.upsert(vacuum('miio-1'));
        await first.stop();
        writeFileSync(path.join(imagesDirectory(dataDir), 'miio-1.map.png'), 'not a picture');
        const second = await start();
        expect(second.images.get('miio-1', 'map')).toBeUndefined();
        second.images.publish('miio-1', 'map', picture(5));
        await second.stop();
        const third = await start();
        expect(third.images.get('miio-1', 'map')?.png).toEqual(picture(5));
        await third.stop();
    });
});
