import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';

import {afterEach, describe, expect, it} from 'vitest';

import {EventBus} from '../../src/core/bus.js';
import {type PublicDevice, newLinkHealth} from '../../src/core/device.js';
import {DeviceRegistry} from '../../src/core/registry.js';
import type {HaContext} from '../../src/ha/context.js';
import {buildDiscovery, haMac} from '../../src/ha/discovery.js';
import {EntityNames} from '../../src/ha/entity-names.js';
import type {OutboundMessage} from '../../src/ha/queue.js';
import {StateAndAvailability} from '../../src/ha/state-and-availability.js';
import {TopicLayout} from '../../src/ha/topics.js';
import {loadTranslations} from '../../src/util/translations.js';
import {PROJECT_URL, VERSION} from '../../src/version.js';
import {assertValidDiscovery} from '../support/discovery-validator.js';

const topics = new TopicLayout('fogbridge', 'homeassistant');
const names = new EntityNames(await loadTranslations('en'));

describe("Home Assistant's device page", () => {
    it('carries the MAC as a connection, serial number, hardware version and the web UI link', () => {
        const device: PublicDevice = {
            id: 'miio-277000001',
            family: 'miio',
            facts: {manufacturer: 'Roborock', model: 'roborock.vacuum.s5', name: 'Robot', firmware: '3.5.8_002034', hardwareVersion: 'Linux', serialNumber: 'R0B0-1', mac: '28-6C-07-AA-BB-CC', ip: '192.168.1.50'},
            link: newLinkHealth(),
            features: [{id: 'cloud_key', kind: 'sensor', name: {text: 'Cloud key'}, deviceClass: 'enum', options: ['ok', 'missing', 'wrong'], entityCategory: 'diagnostic'}],
            state: {},
        };
        const payload = buildDiscovery(device, topics, names, new Map(), 'homeassistant://hassio/ingress/fogbridge#/device/miio-277000001');
        assertValidDiscovery(topics.discovery(device.id), JSON.stringify(payload));
        expect(payload.dev).toEqual({
            identifiers: ['fogbridge_miio-277000001'],
            name: 'Robot',
            manufacturer: 'Roborock',
            model: 'roborock.vacuum.s5',
            sw_version: '3.5.8_002034',
            hw_version: 'Linux',
            serial_number: 'R0B0-1',
            connections: [['mac', '28:6c:07:aa:bb:cc']],
            configuration_url: 'homeassistant://hassio/ingress/fogbridge#/device/miio-277000001',
            via_device: 'fogbridge_bridge',
        });
        expect(payload.o).toEqual({name: 'fogbridge', sw: VERSION, url: PROJECT_URL});
    });

    it('claims no connection, serial or link it does not know', () => {
        const device: PublicDevice = {id: 'toy-1', family: 'toy', facts: {manufacturer: 'Toy', model: 'T', name: 'Toy', mac: 'not-a-mac'}, link: newLinkHealth(), features: [{id: 'relay', kind: 'switch', name: null}], state: {}};
        const payload = buildDiscovery(device, topics, names);
        assertValidDiscovery(topics.discovery(device.id), JSON.stringify(payload));
        expect(Object.keys(payload.dev).sort()).toEqual(['identifiers', 'manufacturer', 'model', 'name', 'via_device']);
    });

    it.each([
        ['AA:BB:CC:DD:EE:FF', 'aa:bb:cc:dd:ee:ff'],
        ['aabbccddeeff', 'aa:bb:cc:dd:ee:ff'],
        ['aabb.ccdd.eeff', 'aa:bb:cc:dd:ee:ff'],
        ['AA:BB:CC:DD:EE', null],
        ['zz:bb:cc:dd:ee:ff', null],
    ])('reads the MAC %s as %s', (mac, expected) => {
        expect(haMac(mac)).toBe(expected);
    });
});

describe('a device seen for the first time', () => {
    const cleanups: (() => Promise<void> | void)[] = [];
    afterEach(async () => {
        for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    it('publishes availability but no state until it reports one: unknown stays unknown', async () => {
        const dir = mkdtempSync(path.join(tmpdir(), 'fogbridge-first-state-'));
        const bus = new EventBus();
        const registry = new DeviceRegistry({file: path.join(dir, 'registry.json'), bus});
        await registry.load();
        cleanups.push(() => rmSync(dir, {recursive: true, force: true}), () => registry.close());
        const sent: OutboundMessage[] = [];
        const context = {bus, registry, topics, queue: {enqueue: (message: OutboundMessage) => void sent.push(message)}, replay: {add: () => () => {}}} as unknown as HaContext;
        const extension = new StateAndAvailability(context);
        extension.start();
        cleanups.push(() => extension.stop());

        const id = 'icomen-0095691a2b3c';
        registry.upsert({id, family: 'icomen', facts: {manufacturer: 'Easy Home', model: 'smart2connect Wi-Fi plug', name: 'Plug 1a2b3c', mac: '00:95:69:1a:2b:3c'}, features: [{id: 'switch', kind: 'switch', name: null}]});
        expect(sent.map(({topic, payload}) => [topic, payload])).toEqual([[`fogbridge/${id}/availability`, 'offline']]);

        registry.updateState(id, {switch: true});
        expect(sent.at(-1)).toMatchObject({topic: `fogbridge/${id}/state`, payload: '{"switch":"ON"}', retain: true});
    });
});
