import {describe, expect, it} from 'vitest';
import {assertValidDiscovery, haTables, validateDiscoveryMessage, type DiscoveryValidation} from '../support/discovery-validator.js';
import {ALL_PLATFORMS_TOPIC, EXAMPLE_TOPIC, allPlatformsDevice, json, workedExample} from './fixtures.js';

type Payload = Record<string, any>;

function errorsOf(result: DiscoveryValidation): string[] {
    return result.ok ? [] : result.errors;
}

describe('valid discovery messages', () => {
    it('accepts the worked example of the protocol note (§1.7) and expands it', () => {
        const result = validateDiscoveryMessage(EXAMPLE_TOPIC, json(workedExample()));
        expect(errorsOf(result)).toEqual([]);
        if (!result.ok) return;
        const {device} = result;
        expect(device.topic).toEqual({style: 'device', component: 'device', nodeId: null, objectId: 'localcloud_ecovacs_E0001234'});
        expect(device.device).toEqual({
            identifiers: ['localcloud_ecovacs_E0001234'],
            name: 'Deebot',
            manufacturer: 'Ecovacs',
            model: 'DEEBOT OZMO 920',
            sw_version: '1.2.3',
            via_device: 'localcloud_bridge',
        });
        expect(device.origin).toEqual({name: 'LocalCloud', sw_version: '0.1.0', support_url: 'https://example.invalid/support'});
        expect(Object.keys(device.components)).toEqual(['vacuum', 'battery']);
        // The shared availability block is merged into every component, as HA does.
        expect(device.components.battery?.config.availability_mode).toBe('all');
        expect(device.components.vacuum?.config.availability).toHaveLength(2);
        expect(device.components.vacuum?.config).not.toHaveProperty('platform');
    });

    it('accepts a device with a component of every platform the bridge emits', () => {
        expect(errorsOf(validateDiscoveryMessage(ALL_PLATFORMS_TOPIC, json(allPlatformsDevice())))).toEqual([]);
    });

    it('merges root shared options only into platforms that have them, component values win', () => {
        const payload = allPlatformsDevice();
        payload.components.power.state_topic = 'fogbridge/rainmaker-node1/power';
        const result = assertValidDiscovery(ALL_PLATFORMS_TOPIC, json(payload));
        expect(result.components.energy?.config.state_topic).toBe('fogbridge/rainmaker-node1/state');
        expect(result.components.power?.config.state_topic).toBe('fogbridge/rainmaker-node1/power');
        expect(result.components.energy?.config.qos).toBe(1);
        // A button has no state topic: HA would ignore the shared one, so it is not merged.
        expect(result.components.identify?.config).not.toHaveProperty('state_topic');
    });

    it('treats an empty payload as a valid removal, as a string or a Buffer', () => {
        for (const payload of ['', Buffer.alloc(0)]) {
            const result = validateDiscoveryMessage(EXAMPLE_TOPIC, payload);
            expect(result.ok && result.device.removal).toBe(true);
        }
        const single = validateDiscoveryMessage('homeassistant/sensor/fogbridge/power/config', '');
        expect(single.ok && single.device.removal).toBe(true);
    });

    it('accepts the migration marker, abbreviated or not, and nothing more in it', () => {
        for (const payload of [{migrate_discovery: true}, {migr_discvry: true}]) {
            const result = validateDiscoveryMessage(EXAMPLE_TOPIC, json(payload));
            expect(result.ok && result.device.migration).toBe(true);
        }
        expect(errorsOf(validateDiscoveryMessage(EXAMPLE_TOPIC, json({migrate_discovery: true, dev: {}})))).toEqual([
            'payload: a migration message is exactly {"migrate_discovery": true}',
        ]);
    });

    it('validates single-component topics, with and without a node id', () => {
        const sensor = {
            unique_id: 'fogbridge_icomen-0095691a2b3c_power',
            state_topic: 'fogbridge/icomen-0095691a2b3c/state',
            device_class: 'power',
            unit_of_measurement: 'W',
            device: {identifiers: 'fogbridge_icomen-0095691a2b3c', name: 'Plug'},
            origin: {name: 'fogbridge'},
        };
        expect(errorsOf(validateDiscoveryMessage('homeassistant/sensor/icomen-0095691a2b3c/power/config', json(sensor)))).toEqual([]);
        const result = assertValidDiscovery('homeassistant/sensor/fogbridge_icomen-0095691a2b3c_power/config', json(sensor));
        expect(result.topic).toEqual({style: 'component', component: 'sensor', nodeId: null, objectId: 'fogbridge_icomen-0095691a2b3c_power'});
        expect(result.components['fogbridge_icomen-0095691a2b3c_power']?.config.unit_of_measurement).toBe('W');
        expect(result.device?.name).toBe('Plug');
    });

    it('honours a custom discovery prefix', () => {
        const topic = 'ha-test/device/localcloud_ecovacs_E0001234/config';
        expect(validateDiscoveryMessage(topic, json(workedExample()), {discoveryPrefix: 'ha-test'}).ok).toBe(true);
        expect(errorsOf(validateDiscoveryMessage(topic, json(workedExample())))).toEqual([
            'topic "ha-test/device/localcloud_ecovacs_E0001234/config" is not a discovery config topic under "homeassistant/"',
        ]);
    });

    it('keeps the unit tables it was given (sanity check of the data file)', () => {
        expect(haTables.home_assistant_version).toBe('2026.8');
        expect(haTables.sensor.device_classes.temperature?.units).toEqual(['°C', '°F', 'K']);
        expect(haTables.sensor.device_classes.energy?.state_classes).toEqual(['total', 'total_increasing']);
        expect(haTables.sensor.device_classes.enum?.state_classes).toEqual([]);
        expect(haTables.vacuum.supported_features).not.toContain('battery');
    });
});

describe('abbreviations and the ~ topic base', () => {
    it('gives the same result for abbreviated and full keys', () => {
        const abbreviated = {
            dev: {ids: 'fogbridge_miio-123', cns: [['mac', '02:00:00:00:00:07']], mf: 'Xiaomi', mdl: 'chuangmi.plug.m1', sw: '1.0', sn: 'A1', name: 'Desk plug'},
            o: {name: 'fogbridge', sw: '0.1.0', url: 'https://example.invalid'},
            avty: [{t: 'fogbridge/bridge/state', val_tpl: '{{ value }}', pl_avail: 'online', pl_not_avail: 'offline'}],
            avty_mode: 'all',
            cmps: {
                plug: {p: 'switch', uniq_id: 'fogbridge_miio-123_plug', name: null, cmd_t: 'fogbridge/miio-123/plug/set', stat_t: 'fogbridge/miio-123/state', val_tpl: '{{ value_json.plug }}', dev_cla: 'outlet', def_ent_id: 'switch.desk_plug'},
                power: {p: 'sensor', uniq_id: 'fogbridge_miio-123_power', stat_t: 'fogbridge/miio-123/state', dev_cla: 'power', unit_of_meas: 'W', stat_cla: 'measurement', sug_dsp_prc: 0, ent_cat: 'diagnostic', en: true, ic: 'mdi:flash'},
            },
        };
        const full = {
            device: {identifiers: 'fogbridge_miio-123', connections: [['mac', '02:00:00:00:00:07']], manufacturer: 'Xiaomi', model: 'chuangmi.plug.m1', sw_version: '1.0', serial_number: 'A1', name: 'Desk plug'},
            origin: {name: 'fogbridge', sw_version: '0.1.0', support_url: 'https://example.invalid'},
            availability: [{topic: 'fogbridge/bridge/state', value_template: '{{ value }}', payload_available: 'online', payload_not_available: 'offline'}],
            availability_mode: 'all',
            components: {
                plug: {platform: 'switch', unique_id: 'fogbridge_miio-123_plug', name: null, command_topic: 'fogbridge/miio-123/plug/set', state_topic: 'fogbridge/miio-123/state', value_template: '{{ value_json.plug }}', device_class: 'outlet', default_entity_id: 'switch.desk_plug'},
                power: {platform: 'sensor', unique_id: 'fogbridge_miio-123_power', state_topic: 'fogbridge/miio-123/state', device_class: 'power', unit_of_measurement: 'W', state_class: 'measurement', suggested_display_precision: 0, entity_category: 'diagnostic', enabled_by_default: true, icon: 'mdi:flash'},
            },
        };
        const topic = 'homeassistant/device/fogbridge_miio-123/config';
        const fromAbbreviated = assertValidDiscovery(topic, json(abbreviated));
        const fromFull = assertValidDiscovery(topic, json(full));
        expect(fromAbbreviated).toEqual(fromFull);
        expect(fromAbbreviated.components.plug?.config.command_topic).toBe('fogbridge/miio-123/plug/set');
    });

    it('applies a component\'s ~ to the start and end of its topics, including inherited ones', () => {
        const payload = workedExample();
        payload.availability = [{topic: '~/availability'}];
        payload.state_topic = '~/state';
        payload.cmps.vacuum = {...payload.cmps.vacuum, '~': 'localcloud/ecovacs_E0001234', command_topic: '~/cmd', set_fan_speed_topic: '~/fan/set', json_attributes_topic: 'attributes/~'};
        delete payload.cmps.vacuum.state_topic;
        payload.cmps.battery = {...payload.cmps.battery, '~': 'localcloud/ecovacs_E0001234', state_topic: '~/battery'};
        const device = assertValidDiscovery(EXAMPLE_TOPIC, json(payload));
        const vacuum = device.components.vacuum?.config ?? {};
        expect(vacuum.command_topic).toBe('localcloud/ecovacs_E0001234/cmd');
        expect(vacuum.state_topic).toBe('localcloud/ecovacs_E0001234/state');
        expect(vacuum.json_attributes_topic).toBe('attributes/localcloud/ecovacs_E0001234');
        expect(vacuum.availability).toEqual([{topic: 'localcloud/ecovacs_E0001234/availability'}]);
        expect(vacuum).not.toHaveProperty('~');
        expect(device.components.battery?.config.state_topic).toBe('localcloud/ecovacs_E0001234/battery');
    });

    it('reports a root ~ (HA does not pass it to components) and topics left with a ~', () => {
        const payload = workedExample();
        payload['~'] = 'localcloud/ecovacs_E0001234';
        payload.cmps.battery.state_topic = '~/battery';
        expect(errorsOf(validateDiscoveryMessage(EXAMPLE_TOPIC, json(payload)))).toEqual([
            'payload: "~" at the root of a device payload is not applied by HA (only shared options are merged); set "~" in each component',
            'components.battery (sensor): state_topic: "~/battery" still has a "~" but this component defines no "~" base',
        ]);
    });

    it('reports an inherited root topic whose ~ the component cannot resolve', () => {
        const payload = workedExample();
        payload.state_topic = '~/state';
        delete payload.cmps.battery.state_topic;
        payload.cmps.vacuum['~'] = 'localcloud/ecovacs_E0001234';
        delete payload.cmps.vacuum.state_topic;
        expect(errorsOf(validateDiscoveryMessage(EXAMPLE_TOPIC, json(payload)))).toEqual([
            'components.battery (sensor): state_topic: "~/state" still has a "~" but this component defines no "~" base',
        ]);
    });

    it('reports a key given both abbreviated and in full', () => {
        const payload = workedExample();
        payload.cmps.battery.stat_t = 'localcloud/other';
        expect(errorsOf(validateDiscoveryMessage(EXAMPLE_TOPIC, json(payload)))).toEqual([
            'components.battery: "state_topic" and "stat_t" both set state_topic',
        ]);
    });

    it('accepts the abbreviation stat_t but reports the typo stat_topic with the intended name', () => {
        const payload = workedExample();
        delete payload.cmps.battery.state_topic;
        payload.cmps.battery.stat_t = 'localcloud/ecovacs_E0001234/battery';
        expect(validateDiscoveryMessage(EXAMPLE_TOPIC, json(payload)).ok).toBe(true);
        delete payload.cmps.battery.stat_t;
        payload.cmps.battery.stat_topic = 'localcloud/ecovacs_E0001234/battery';
        expect(errorsOf(validateDiscoveryMessage(EXAMPLE_TOPIC, json(payload)))).toEqual([
            'components.battery (sensor): state_topic: is required: a sensor reads its value from it',
            'components.battery (sensor): stat_topic: unknown option (did you mean "state_topic"?)',
        ]);
    });
});

interface InvalidCase {
    problem: string;
    mutate: (payload: Payload) => void;
    /** Fragments one error message must all contain: the component, the option and the reason. */
    expected: string[];
}

const component = (payload: Payload, key: string): Payload => payload.components[key] as Payload;

const INVALID_CASES: InvalidCase[] = [
    {
        problem: 'unknown key',
        mutate: (p) => (component(p, 'power').colour = 'red'),
        expected: ['components.power (sensor)', 'colour', 'unknown option'],
    },
    {
        problem: 'vacuum with the removed battery feature',
        mutate: (p) => (p.components.vacuum = {...vacuum(), supported_features: ['start', 'battery', 'status']}),
        expected: ['components.vacuum (vacuum)', 'supported_features', '"battery" was removed'],
    },
    {
        problem: 'vacuum with schema',
        mutate: (p) => (p.components.vacuum = {...vacuum(), schema: 'state'}),
        expected: ['components.vacuum (vacuum)', 'schema', 'removed in HA 2024.8'],
    },
    {
        problem: 'vacuum with an unknown feature',
        mutate: (p) => (p.components.vacuum = {...vacuum(), supported_features: ['start', 'mop']}),
        expected: ['components.vacuum (vacuum)', 'supported_features', '"mop" is not a vacuum feature'],
    },
    {
        problem: 'vacuum fan_speed feature without the list',
        mutate: (p) => {
            p.components.vacuum = {...vacuum(), supported_features: ['start', 'fan_speed']};
            delete p.components.vacuum.fan_speed_list;
        },
        expected: ['components.vacuum (vacuum)', 'fan_speed_list', 'required by the fan_speed feature'],
    },
    {
        problem: 'vacuum commands without a command topic',
        mutate: (p) => {
            p.components.vacuum = vacuum();
            delete p.components.vacuum.command_topic;
        },
        expected: ['components.vacuum (vacuum)', 'command_topic', 'required by the features start, stop'],
    },
    {
        problem: 'vacuum without an explicit feature list',
        mutate: (p) => {
            p.components.vacuum = vacuum();
            delete p.components.vacuum.supported_features;
        },
        expected: ['components.vacuum (vacuum)', 'supported_features', 'is required'],
    },
    {
        problem: 'temperature in °C/min',
        mutate: (p) => Object.assign(component(p, 'power'), {device_class: 'temperature', unit_of_measurement: '°C/min'}),
        expected: ['components.power (sensor)', 'unit_of_measurement', '"°C/min" is not valid together with device_class "temperature"', '°C, °F, K'],
    },
    {
        problem: 'duration in days spelled out',
        mutate: (p) => Object.assign(component(p, 'power'), {device_class: 'duration', unit_of_measurement: 'days'}),
        expected: ['components.power (sensor)', 'unit_of_measurement', '"days" is not valid together with device_class "duration"'],
    },
    {
        problem: 'device class that needs a unit without one',
        mutate: (p) => delete component(p, 'power').unit_of_measurement,
        expected: ['components.power (sensor)', 'unit_of_measurement', 'device_class "power" needs a unit'],
    },
    {
        problem: 'timestamp with a unit',
        mutate: (p) => (component(p, 'last_seen').unit_of_measurement = 's'),
        expected: ['components.last_seen (sensor)', 'unit_of_measurement', 'device_class "timestamp" takes no unit'],
    },
    {
        problem: 'energy with state_class measurement',
        mutate: (p) => (component(p, 'energy').state_class = 'measurement'),
        expected: ['components.energy (sensor)', 'state_class', '"measurement" is not valid for device_class "energy"', 'total, total_increasing'],
    },
    {
        problem: 'timestamp with a state_class',
        mutate: (p) => (component(p, 'last_seen').state_class = 'measurement'),
        expected: ['components.last_seen (sensor)', 'state_class', 'it takes no state_class'],
    },
    {
        problem: 'unknown sensor device class',
        mutate: (p) => (component(p, 'power').device_class = 'wattage'),
        expected: ['components.power (sensor)', 'device_class', '"wattage" is not a sensor device class'],
    },
    {
        problem: 'micro sign instead of Greek mu',
        mutate: (p) => Object.assign(component(p, 'power'), {device_class: 'pm25', unit_of_measurement: '\u00b5g/m³'}),
        expected: ['components.power (sensor)', 'unit_of_measurement', 'micro sign U+00B5'],
    },
    {
        problem: 'entity_category config on a sensor',
        mutate: (p) => (component(p, 'power').entity_category = 'config'),
        expected: ['components.power (sensor)', 'entity_category', 'read-only sensor must use "diagnostic"'],
    },
    {
        problem: 'entity_category config on a binary_sensor',
        mutate: (p) => (component(p, 'connected').entity_category = 'config'),
        expected: ['components.connected (binary_sensor)', 'entity_category', 'read-only binary_sensor'],
    },
    {
        problem: 'entity_category config on an update without a command topic',
        mutate: (p) => {
            delete component(p, 'firmware').command_topic;
            delete component(p, 'firmware').payload_install;
        },
        expected: ['components.firmware (update)', 'entity_category', 'read-only update'],
    },
    {
        problem: 'an unknown entity_category',
        mutate: (p) => (component(p, 'power').entity_category = 'system'),
        expected: ['components.power (sensor)', 'entity_category', '"system" is not an entity_category'],
    },
    {
        problem: 'options with a unit',
        mutate: (p) => (component(p, 'mode').unit_of_measurement = 'W'),
        expected: ['components.mode (sensor)', 'options', 'cannot be combined with unit_of_measurement'],
    },
    {
        problem: 'options with a state class',
        mutate: (p) => (component(p, 'mode').state_class = 'measurement'),
        expected: ['components.mode (sensor)', 'options', 'cannot be combined with state_class'],
    },
    {
        problem: 'options without device_class enum',
        mutate: (p) => (component(p, 'power').options = ['low', 'high']),
        expected: ['components.power (sensor)', 'options', 'only allowed with device_class "enum"'],
    },
    {
        problem: 'enum without options',
        mutate: (p) => delete component(p, 'mode').options,
        expected: ['components.mode (sensor)', 'options', 'is required with device_class "enum"'],
    },
    {
        problem: 'availability_topic together with availability',
        mutate: (p) => (component(p, 'power').availability_topic = 'fogbridge/rainmaker-node1/availability'),
        expected: ['components.power (sensor)', 'availability_topic', 'cannot be combined with availability'],
    },
    {
        problem: 'unknown availability_mode',
        mutate: (p) => (p.availability_mode = 'every'),
        expected: ['payload', 'availability_mode', '"every" is not an availability_mode'],
    },
    {
        problem: 'payload_available beside an availability list',
        mutate: (p) => (component(p, 'power').payload_available = 'up'),
        expected: ['components.power (sensor)', 'payload_available', 'set it in each availability entry'],
    },
    {
        problem: 'default_entity_id in the wrong domain',
        mutate: (p) => (component(p, 'plug').default_entity_id = 'light.workshop_plug'),
        expected: ['components.plug (switch)', 'default_entity_id', 'must start with "switch."'],
    },
    {
        problem: 'default_entity_id with illegal characters',
        mutate: (p) => (component(p, 'plug').default_entity_id = 'switch.Workshop-Plug'),
        expected: ['components.plug (switch)', 'default_entity_id', 'a-z, 0-9 and single inner underscores'],
    },
    {
        problem: 'object_id (removed in 2026.4)',
        mutate: (p) => (component(p, 'plug').object_id = 'workshop_plug'),
        expected: ['components.plug (switch)', 'object_id', 'removed in HA 2026.4'],
    },
    {
        problem: 'wildcard in a command topic',
        mutate: (p) => (component(p, 'plug').command_topic = 'fogbridge/+/plug/set'),
        expected: ['components.plug (switch)', 'command_topic', 'wildcard "+"', 'HA publishes commands to it'],
    },
    {
        problem: 'wildcard in a state topic',
        mutate: (p) => (component(p, 'doorbell').state_topic = 'fogbridge/rainmaker-node1/#'),
        expected: ['components.doorbell (event)', 'state_topic', 'wildcard "#"'],
    },
    {
        problem: 'wildcard in a shared root topic',
        mutate: (p) => (p.state_topic = 'fogbridge/+/state'),
        expected: ['payload', 'state_topic', 'wildcard "+"'],
    },
    {
        problem: 'onoff and brightness together',
        mutate: (p) => (component(p, 'lamp').supported_color_modes = ['onoff', 'brightness']),
        expected: ['components.lamp (light)', 'supported_color_modes', '"onoff" and "brightness" must be the only mode'],
    },
    {
        problem: 'brightness beside a colour mode',
        mutate: (p) => (component(p, 'lamp').supported_color_modes = ['brightness', 'color_temp']),
        expected: ['components.lamp (light)', 'supported_color_modes', '"brightness" must be the only mode'],
    },
    {
        problem: 'an unknown colour mode',
        mutate: (p) => (component(p, 'lamp').supported_color_modes = ['color_temp', 'rgbcct']),
        expected: ['components.lamp (light)', 'supported_color_modes', '"rgbcct" is not a colour mode'],
    },
    {
        problem: 'no colour modes',
        mutate: (p) => (component(p, 'lamp').supported_color_modes = []),
        expected: ['components.lamp (light)', 'supported_color_modes', 'must not be empty'],
    },
    {
        problem: 'legacy light flag',
        mutate: (p) => (component(p, 'lamp').color_temp = true),
        expected: ['components.lamp (light)', 'color_temp', 'removed in HA 2025.3'],
    },
    {
        problem: 'legacy brightness flag',
        mutate: (p) => (component(p, 'lamp').brightness = true),
        expected: ['components.lamp (light)', 'brightness', 'flag removed'],
    },
    {
        problem: 'kelvin options without color_temp',
        mutate: (p) => (component(p, 'lamp').supported_color_modes = ['hs']),
        expected: ['components.lamp (light)', 'min_kelvin', 'need "color_temp" in supported_color_modes'],
    },
    {
        problem: 'light without schema json',
        mutate: (p) => delete component(p, 'lamp').schema,
        expected: ['components.lamp (light)', 'schema', 'is required'],
    },
    {
        problem: 'light with another schema',
        mutate: (p) => (component(p, 'lamp').schema = 'template'),
        expected: ['components.lamp (light)', 'schema', 'must be "json"'],
    },
    {
        problem: 'missing unique_id',
        mutate: (p) => delete component(p, 'energy').unique_id,
        expected: ['components.energy (sensor)', 'unique_id', 'is required'],
    },
    {
        problem: 'the same unique_id twice',
        mutate: (p) => (component(p, 'energy').unique_id = component(p, 'power').unique_id),
        expected: ['components.energy (sensor)', 'unique_id', 'also used by components.power'],
    },
    {
        problem: 'missing origin name',
        mutate: (p) => delete p.origin.name,
        expected: ['origin', 'name', 'is required'],
    },
    {
        problem: 'missing origin',
        mutate: (p) => delete p.origin,
        expected: ['origin', 'is required in a device payload'],
    },
    {
        problem: 'missing platform',
        mutate: (p) => delete component(p, 'energy').platform,
        expected: ['components.energy', 'platform ("p") is required'],
    },
    {
        problem: 'a platform the bridge never emits',
        mutate: (p) => (component(p, 'energy').platform = 'siren'),
        expected: ['components.energy (siren)', 'platform "siren" is not one this validator covers'],
    },
    {
        problem: 'device without identifiers or connections',
        mutate: (p) => {
            delete p.device.identifiers;
            delete p.device.connections;
        },
        expected: ['device', 'needs identifiers or connections'],
    },
    {
        problem: 'unknown device key',
        mutate: (p) => (p.device.firmware = '1.0'),
        expected: ['device', 'firmware', 'unknown option'],
    },
    {
        problem: 'device block inside a component',
        mutate: (p) => (component(p, 'energy').device = {identifiers: ['x']}),
        expected: ['components.energy (sensor)', 'device', 'belongs at the root'],
    },
    {
        problem: 'component key with illegal characters',
        mutate: (p) => (p.components['energy total'] = p.components.energy),
        expected: ['components.energy total', 'may only use [a-zA-Z0-9_-]'],
    },
    {
        problem: 'no components',
        mutate: (p) => (p.components = {}),
        expected: ['payload', 'components is empty'],
    },
    {
        problem: 'select with no options',
        mutate: (p) => (component(p, 'log_level').options = []),
        expected: ['components.log_level (select)', 'options', 'must not be empty'],
    },
    {
        problem: 'select with a unit',
        mutate: (p) => (component(p, 'log_level').unit_of_measurement = 'x'),
        expected: ['components.log_level (select)', 'unit_of_measurement', 'a select has no unit_of_measurement'],
    },
    {
        problem: 'number with min not below max',
        mutate: (p) => (component(p, 'target').min = 30),
        expected: ['components.target (number)', 'min', '30 must be below max 30'],
    },
    {
        problem: 'number with step 0',
        mutate: (p) => (component(p, 'target').step = 0),
        expected: ['components.target (number)', 'step', 'must be greater than 0'],
    },
    {
        problem: 'number with an unknown mode',
        mutate: (p) => (component(p, 'target').mode = 'dial'),
        expected: ['components.target (number)', 'mode', '"dial" is not a number mode'],
    },
    {
        problem: 'number with a wrong unit for its device class',
        mutate: (p) => (component(p, 'target').unit_of_measurement = 'C'),
        expected: ['components.target (number)', 'unit_of_measurement', '"C" is not valid together with device_class "temperature"'],
    },
    {
        problem: 'event without event types',
        mutate: (p) => (component(p, 'doorbell').event_types = []),
        expected: ['components.doorbell (event)', 'event_types', 'at least one event type'],
    },
    {
        problem: 'event with an unknown device class',
        mutate: (p) => (component(p, 'doorbell').device_class = 'knock'),
        expected: ['components.doorbell (event)', 'device_class', '"knock" is not an event device_class'],
    },
    {
        problem: 'button with an unknown device class',
        mutate: (p) => (component(p, 'identify').device_class = 'reboot'),
        expected: ['components.identify (button)', 'device_class', '"reboot" is not a button device_class', 'identify, restart, update'],
    },
    {
        problem: 'identify button that is not diagnostic',
        mutate: (p) => delete component(p, 'identify').entity_category,
        expected: ['components.identify (button)', 'entity_category', 'identify button must be "diagnostic"'],
    },
    {
        problem: 'update with a device class other than firmware',
        mutate: (p) => (component(p, 'firmware').device_class = 'software'),
        expected: ['components.firmware (update)', 'device_class', '"software" is not an update device_class'],
    },
    {
        problem: 'payload_install without a command topic',
        mutate: (p) => {
            delete component(p, 'firmware').command_topic;
            delete component(p, 'firmware').entity_category;
        },
        expected: ['components.firmware (update)', 'payload_install', 'only means something with a command_topic'],
    },
    {
        problem: 'fan speed range upside down',
        mutate: (p) => (component(p, 'fan').speed_range_min = 3),
        expected: ['components.fan (fan)', 'speed_range_min', '3 must be below speed_range_max 3'],
    },
    {
        problem: 'fan preset topic without preset modes',
        mutate: (p) => delete component(p, 'fan').preset_modes,
        expected: ['components.fan (fan)', 'preset_modes', 'must list at least one mode'],
    },
    {
        problem: 'fan percentage state without a percentage command topic',
        mutate: (p) => delete component(p, 'fan').percentage_command_topic,
        expected: ['components.fan (fan)', 'percentage_value_template', 'needs percentage_command_topic'],
    },
    {
        problem: 'fan with named speeds',
        mutate: (p) => (component(p, 'fan').speeds = ['low', 'high']),
        expected: ['components.fan (fan)', 'speeds', 'named fan speeds were removed'],
    },
    {
        problem: 'binary_sensor with an unknown device class',
        mutate: (p) => (component(p, 'connected').device_class = 'online'),
        expected: ['components.connected (binary_sensor)', 'device_class', '"online" is not a binary_sensor device_class'],
    },
    {
        problem: 'switch with an unknown device class',
        mutate: (p) => (component(p, 'plug').device_class = 'socket'),
        expected: ['components.plug (switch)', 'device_class', '"socket" is not a switch device_class'],
    },
    {
        problem: 'template that is not a string',
        mutate: (p) => (component(p, 'power').value_template = 42),
        expected: ['components.power (sensor)', 'value_template', 'templates must be strings'],
    },
    {
        problem: 'qos 3',
        mutate: (p) => (component(p, 'plug').qos = 3),
        expected: ['components.plug (switch)', 'qos', 'must be 0, 1 or 2'],
    },
    {
        problem: 'retained commands',
        mutate: (p) => (component(p, 'plug').retain = true),
        expected: ['components.plug (switch)', 'retain', 'must not be true'],
    },
    {
        problem: 'name that is neither a string nor null',
        mutate: (p) => (component(p, 'lamp').name = 7),
        expected: ['components.lamp (light)', 'name', 'must be a string, or null'],
    },
    {
        problem: 'name that repeats the device name',
        mutate: (p) => (component(p, 'lamp').name = 'Workshop node lamp'),
        expected: ['components.lamp (light)', 'name', 'repeats the device name'],
    },
    {
        problem: 'image with neither image_topic nor url_topic',
        mutate: (p) => delete component(p, 'map').image_topic,
        expected: ['components.map (image)', 'image_topic', 'needs image_topic'],
    },
    {
        problem: 'image with both image_topic and url_topic',
        mutate: (p) => (component(p, 'map').url_topic = 'fogbridge/x/map/url'),
        expected: ['components.map (image)', 'url_topic', 'exclusive'],
    },
    {
        problem: 'image encoding other than b64',
        mutate: (p) => (component(p, 'map').image_encoding = 'base64'),
        expected: ['components.map (image)', 'image_encoding', 'must be "b64"'],
    },
    {
        problem: 'command topic missing on a switch',
        mutate: (p) => delete component(p, 'plug').command_topic,
        expected: ['components.plug (switch)', 'command_topic', 'is required'],
    },
];

function vacuum(): Payload {
    return structuredClone(workedExample().cmps.vacuum) as Payload;
}

describe('invalid discovery messages', () => {
    it.each(INVALID_CASES)('rejects $problem', ({mutate, expected}) => {
        const payload = allPlatformsDevice();
        mutate(payload);
        const errors = errorsOf(validateDiscoveryMessage(ALL_PLATFORMS_TOPIC, json(payload)));
        expect(errors.length, 'the mutation should make the payload invalid').toBeGreaterThan(0);
        const matching = errors.filter((error) => expected.every((fragment) => error.includes(fragment)));
        expect(matching, `no error names ${JSON.stringify(expected)}; got:\n${errors.join('\n')}`).not.toEqual([]);
    });

    it('rejects payloads that are not a JSON object, and illegal topics', () => {
        expect(errorsOf(validateDiscoveryMessage(EXAMPLE_TOPIC, '{"dev":'))[0]).toMatch(/^payload: not valid JSON/);
        expect(errorsOf(validateDiscoveryMessage(EXAMPLE_TOPIC, '[1, 2]'))).toEqual(['payload: must be a JSON object']);
        expect(errorsOf(validateDiscoveryMessage(EXAMPLE_TOPIC, Buffer.from([0x7b, 0xff, 0x7d])))).toEqual(['payload: not valid UTF-8']);
        expect(errorsOf(validateDiscoveryMessage('homeassistant/device/deebot.kitchen/config', json(workedExample())))[0]).toMatch(
            /^illegal discovery topic "homeassistant\/device\/deebot.kitchen\/config"/,
        );
        expect(errorsOf(validateDiscoveryMessage('homeassistant/siren/fogbridge/x/config', '{}'))).toEqual([
            'topic: platform "siren" is not one this validator covers (vacuum, switch, light, fan, sensor, binary_sensor, button, select, number, update, event, image)',
        ]);
        expect(errorsOf(validateDiscoveryMessage('homeassistant/sensor/x/config', json({unique_id: 'x', state_topic: 'a/b', p: 'sensor'})))).toEqual([
            'sensor/x: platform: only components of a device payload carry "p"; the topic names the platform here',
        ]);
    });

    it('assertValidDiscovery throws one error that lists every problem', () => {
        const payload = workedExample();
        delete payload.o.name;
        payload.cmps.vacuum.schema = 'state';
        expect(() => assertValidDiscovery(EXAMPLE_TOPIC, json(payload))).toThrowError(
            new RegExp(`invalid discovery message on ${EXAMPLE_TOPIC}:\\n  - origin: name: is required.*\\n  - components.vacuum \\(vacuum\\): schema:`),
        );
    });
});
