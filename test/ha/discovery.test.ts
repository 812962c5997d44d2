import {describe, expect, it} from 'vitest';

import {type Feature, type PublicDevice, newLinkHealth} from '../../src/core/device.js';
import {buildDiscovery} from '../../src/ha/discovery.js';
import {EntityNames} from '../../src/ha/entity-names.js';
import {renderDeviceState} from '../../src/ha/state.js';
import {TopicLayout} from '../../src/ha/topics.js';
import {loadTranslations} from '../../src/util/translations.js';
import {assertValidDiscovery} from '../support/discovery-validator.js';
import {KITCHEN_SINK_FEATURES} from '../support/fake-family.js';

const topics = new TopicLayout('fogbridge', 'homeassistant');
const names = new EntityNames(await loadTranslations('en'));

function device(features: Feature[]): PublicDevice {
    return {
        id: 'rainmaker-node1',
        family: 'rainmaker',
        facts: {manufacturer: 'Espressif', model: 'Switch', name: 'Node'},
        link: newLinkHealth(),
        features,
        state: {},
    };
}

/** Feature ids a family may derive from vendor names: some are dict methods in Jinja, one starts with a digit. */
const AWKWARD: Feature[] = [
    {id: 'update', kind: 'switch', name: {text: 'Update'}},
    {id: 'items', kind: 'sensor', name: {text: 'Items'}},
    {id: 'values', kind: 'fan', name: {text: 'Values'}, presetModes: ['a'], direction: true, oscillation: true},
    {id: '2nd_relay', kind: 'binary_sensor', name: {text: '2nd relay'}},
];

describe('discovery templates', () => {
    it('read every value by subscript from a key the device state always has', () => {
        const target = device([...KITCHEN_SINK_FEATURES, ...AWKWARD]);
        const payload = buildDiscovery(target, topics, names);
        assertValidDiscovery(topics.discovery(target.id), JSON.stringify(payload));
        const state = renderDeviceState(target, {});
        let templates = 0;
        for (const component of Object.values(payload.cmps)) {
            for (const [option, template] of Object.entries(component)) {
                if (!option.endsWith('_template') || typeof template !== 'string') continue;
                templates++;
                // Attribute access (`value_json.update`) finds dict methods before keys in Jinja.
                const match = /^\{\{ value_json\['([a-z0-9_]+)'\](\.[a-z_]+)?( \| tojson)? \}\}$/.exec(template);
                expect(match, `${option}: ${template}`).not.toBeNull();
                const [, key, attribute] = match!;
                expect(state, template).toHaveProperty([key!]);
                if (attribute) expect(state[key!], template).toHaveProperty([attribute.slice(1)]);
            }
        }
        expect(templates).toBeGreaterThan(10);
    });
});

describe('availability per component', () => {
    it('a feature available while the device is offline follows only the bridge; the others follow the device too', () => {
        const keyStatus: Feature = {id: 'key_status', kind: 'sensor', name: {text: 'Key'}, deviceClass: 'enum', options: ['ok', 'wrong'], entityCategory: 'diagnostic', availableWhileOffline: true};
        const target = device([{id: 'relay', kind: 'switch', name: null}, keyStatus]);
        const payload = buildDiscovery(target, topics, names);
        assertValidDiscovery(topics.discovery(target.id), JSON.stringify(payload));
        expect(payload.availability).toEqual([{topic: topics.bridgeState}, {topic: topics.availability(target.id)}]);
        expect(payload.cmps.key_status).toMatchObject({availability: [{topic: topics.bridgeState}]});
        expect(payload.cmps.relay).not.toHaveProperty('availability');
        expect(payload.cmps.key_status).not.toHaveProperty('available_while_offline');
    });
});

describe('vacuum rooms (HA 2026.5 segments)', () => {
    it('a vacuum that cleans rooms gets clean_segments_command_topic; its state carries the rooms', () => {
        const vacuum: Feature = {id: 'vacuum', kind: 'vacuum', name: null, commands: ['start'], segments: true};
        const target = device([vacuum]);
        const payload = buildDiscovery(target, topics, names);
        assertValidDiscovery(topics.discovery(target.id), JSON.stringify(payload));
        expect(payload.cmps.vacuum).toMatchObject({clean_segments_command_topic: `fogbridge/${target.id}/vacuum/clean_segments/set`});
        expect(renderDeviceState(target, {vacuum: {activity: 'docked', segments: {'16': 'Kitchen'}}})).toEqual({vacuum: {state: 'docked', segments: {'16': 'Kitchen'}}});
        // Before the robot has told its rooms, none are claimed.
        expect(renderDeviceState(target, {vacuum: {activity: 'docked'}})).toEqual({vacuum: {state: 'docked'}});
    });

    it('a vacuum without rooms has neither', () => {
        const target = device([{id: 'vacuum', kind: 'vacuum', name: null, commands: ['start']}]);
        expect(buildDiscovery(target, topics, names).cmps.vacuum).not.toHaveProperty('clean_segments_command_topic');
        expect(renderDeviceState(target, {vacuum: {activity: 'docked', segments: {'16': 'Kitchen'}}})).toEqual({vacuum: {state: 'docked'}});
    });
});
