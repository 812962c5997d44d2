import {describe, expect, it} from 'vitest';
import {FakeHaDiscoveryConsumer} from '../support/ha-discovery-consumer.js';
import {ALL_PLATFORMS_TOPIC, EXAMPLE_TOPIC, allPlatformsDevice, json, workedExample} from './fixtures.js';

const VACUUM_ID = 'localcloud_ecovacs_E0001234_vacuum';
const BATTERY_ID = 'localcloud_ecovacs_E0001234_battery';

describe('FakeHaDiscoveryConsumer', () => {
    it('adds the entities of a device payload and builds the device registry', () => {
        const consumer = new FakeHaDiscoveryConsumer();
        const receipt = consumer.receive(EXAMPLE_TOPIC, json(workedExample()), {retain: true});
        expect(receipt.added).toEqual([VACUUM_ID, BATTERY_ID]);
        consumer.assertNoErrors();

        const vacuum = consumer.entity(VACUUM_ID);
        expect(vacuum).toMatchObject({platform: 'vacuum', componentKey: 'vacuum', discoveryId: 'localcloud_ecovacs_E0001234 vacuum', retained: true, updates: 0});
        expect(vacuum?.config.command_topic).toBe('localcloud/ecovacs_E0001234/cmd');
        expect(vacuum?.config.availability_mode).toBe('all');
        expect(consumer.entity(BATTERY_ID)?.config.unit_of_measurement).toBe('%');

        expect(consumer.devices()).toEqual([
            {
                identifiers: ['localcloud_ecovacs_E0001234'],
                connections: [],
                info: expect.objectContaining({name: 'Deebot', manufacturer: 'Ecovacs', via_device: 'localcloud_bridge'}),
                entities: [VACUUM_ID, BATTERY_ID],
            },
        ]);
    });

    it('ignores an unchanged payload and updates a changed one in place', () => {
        const consumer = new FakeHaDiscoveryConsumer();
        consumer.receive(EXAMPLE_TOPIC, json(workedExample()));
        // Same content, different key order: HA compares the configs, not the bytes.
        const reordered = Object.fromEntries(Object.entries(workedExample()).reverse());
        expect(consumer.receive(EXAMPLE_TOPIC, json(reordered))).toMatchObject({added: [], updated: [], unchanged: [VACUUM_ID, BATTERY_ID]});

        const renamed = workedExample();
        renamed.cmps.battery.name = 'Battery level';
        expect(consumer.receive(EXAMPLE_TOPIC, json(renamed))).toMatchObject({updated: [BATTERY_ID], unchanged: [VACUUM_ID]});
        expect(consumer.entity(BATTERY_ID)).toMatchObject({updates: 1, config: expect.objectContaining({name: 'Battery level'})});
        consumer.assertNoErrors();
    });

    it('removes the whole device on an empty payload', () => {
        const consumer = new FakeHaDiscoveryConsumer();
        consumer.receive(EXAMPLE_TOPIC, json(workedExample()));
        expect(consumer.receive(EXAMPLE_TOPIC, '', {retain: true}).removed).toEqual([VACUUM_ID, BATTERY_ID]);
        expect(consumer.entities()).toEqual([]);
        expect(consumer.devices()).toEqual([]);
        // A second (stale) clear finds nothing to remove and is not an error.
        expect(consumer.receive(EXAMPLE_TOPIC, '').removed).toEqual([]);
        consumer.assertNoErrors();
    });

    it('removes one component reduced to {p}, then accepts the payload without it', () => {
        const consumer = new FakeHaDiscoveryConsumer();
        consumer.receive(EXAMPLE_TOPIC, json(workedExample()));

        const reduced = workedExample();
        reduced.cmps.battery = {p: 'sensor'};
        expect(consumer.receive(EXAMPLE_TOPIC, json(reduced))).toMatchObject({removed: [BATTERY_ID], unchanged: [VACUUM_ID]});
        expect(consumer.entity(BATTERY_ID)).toBeUndefined();

        const without = workedExample();
        delete without.cmps.battery;
        expect(consumer.receive(EXAMPLE_TOPIC, json(without))).toMatchObject({removed: [], unchanged: [VACUUM_ID]});
        expect(consumer.entities().map((entity) => entity.uniqueId)).toEqual([VACUUM_ID]);
        consumer.assertNoErrors();
    });

    it('reports a component dropped without the {p} step and keeps its entity, as HA would', () => {
        const consumer = new FakeHaDiscoveryConsumer();
        consumer.receive(EXAMPLE_TOPIC, json(workedExample()));
        const without = workedExample();
        delete without.cmps.battery;
        consumer.receive(EXAMPLE_TOPIC, json(without));
        expect(consumer.entity(BATTERY_ID)).toBeDefined();
        expect(consumer.errors).toEqual([
            `${EXAMPLE_TOPIC}: components.battery: dropped from the device payload without first being published as {"platform": ...}; HA keeps the entity`,
        ]);
        expect(() => consumer.assertNoErrors()).toThrowError(/saw 1 problem\(s\):\n {2}- homeassistant\/device\/.*components\.battery: dropped/);
    });

    it('handles single-component topics: add, unchanged, remove', () => {
        const consumer = new FakeHaDiscoveryConsumer();
        const topic = 'homeassistant/switch/fogbridge/icomen-0095691a2b3c_plug/config';
        const plug = {
            unique_id: 'fogbridge_icomen-0095691a2b3c_plug',
            name: null,
            command_topic: 'fogbridge/icomen-0095691a2b3c/plug/set',
            state_topic: 'fogbridge/icomen-0095691a2b3c/state',
            device: {identifiers: ['fogbridge_icomen-0095691a2b3c'], connections: [['mac', '00:95:69:1a:2b:3c']], name: 'Plug'},
            origin: {name: 'fogbridge'},
        };
        expect(consumer.receive(topic, json(plug)).added).toEqual([plug.unique_id]);
        expect(consumer.entity(plug.unique_id)).toMatchObject({platform: 'switch', discoveryId: 'fogbridge icomen-0095691a2b3c_plug'});
        expect(consumer.receive(topic, json(plug)).unchanged).toEqual([plug.unique_id]);
        expect(consumer.receive(topic, '').removed).toEqual([plug.unique_id]);
        expect(consumer.entities()).toEqual([]);
        consumer.assertNoErrors();
    });

    it('ignores topics that are not discovery configs', () => {
        const consumer = new FakeHaDiscoveryConsumer();
        expect(consumer.receive('homeassistant/status', 'online').ignored).toBe(true);
        expect(consumer.receive('fogbridge/bridge/state', 'online').ignored).toBe(true);
        expect(consumer.entities()).toEqual([]);
        consumer.assertNoErrors();
    });

    it('records errors instead of throwing, drops only the invalid component', () => {
        const consumer = new FakeHaDiscoveryConsumer();
        const payload = workedExample();
        payload.cmps.vacuum.supported_features.push('battery');
        const receipt = consumer.receive(EXAMPLE_TOPIC, json(payload));
        expect(receipt.added).toEqual([BATTERY_ID]);
        expect(receipt.errors).toEqual([expect.stringContaining('components.vacuum (vacuum): supported_features: "battery" was removed')]);
        expect(consumer.entity(VACUUM_ID)).toBeUndefined();
        expect(consumer.errors).toHaveLength(1);
        expect(() => consumer.assertNoErrors()).toThrowError(/supported_features/);
    });

    it('ignores a whole message whose envelope is invalid', () => {
        const consumer = new FakeHaDiscoveryConsumer();
        const payload = workedExample();
        delete payload.o;
        expect(consumer.receive(EXAMPLE_TOPIC, json(payload))).toMatchObject({added: [], errors: ['origin: is required in a device payload ("o": {"name": ...})']});
        expect(consumer.receive('homeassistant/device/bad.id/config', json(workedExample())).errors).toEqual([
            expect.stringContaining('illegal discovery topic'),
        ]);
        expect(consumer.entities()).toEqual([]);
    });

    it('reports a unique_id used by two discovery topics', () => {
        const consumer = new FakeHaDiscoveryConsumer();
        consumer.receive(EXAMPLE_TOPIC, json(workedExample()));
        consumer.receive('homeassistant/device/localcloud_ecovacs_E0009999/config', json(workedExample()));
        expect(consumer.errors).toEqual([
            expect.stringContaining(`unique_id "${VACUUM_ID}" is already used by ${EXAMPLE_TOPIC} (vacuum)`),
            expect.stringContaining(`unique_id "${BATTERY_ID}" is already used by ${EXAMPLE_TOPIC} (battery)`),
        ]);
        expect(consumer.entities()).toHaveLength(2);
    });

    it('merges devices that share an identifier or a connection, like HA\'s device registry', () => {
        const consumer = new FakeHaDiscoveryConsumer();
        consumer.receive(ALL_PLATFORMS_TOPIC, json(allPlatformsDevice()));
        const sameMac = {
            unique_id: 'other_integration_rssi',
            state_topic: 'other/rssi',
            device_class: 'signal_strength',
            unit_of_measurement: 'dBm',
            device: {connections: [['mac', '02:5b:00:00:00:01']], name: 'Same hardware'},
        };
        consumer.receive('homeassistant/sensor/other/rssi/config', json(sameMac));
        consumer.assertNoErrors();
        const devices = consumer.devices();
        expect(devices).toHaveLength(1);
        expect(devices[0]?.identifiers).toEqual(['fogbridge_rainmaker-node1']);
        expect(devices[0]?.connections).toEqual([['mac', '02:5b:00:00:00:01']]);
        expect(devices[0]?.entities).toHaveLength(Object.keys(allPlatformsDevice().components).length + 1);
    });

    it('uses a custom discovery prefix', () => {
        const consumer = new FakeHaDiscoveryConsumer({discoveryPrefix: 'ha'});
        expect(consumer.receive(EXAMPLE_TOPIC, json(workedExample())).ignored).toBe(true);
        expect(consumer.receive('ha/device/localcloud_ecovacs_E0001234/config', json(workedExample())).added).toHaveLength(2);
        consumer.assertNoErrors();
    });
});
