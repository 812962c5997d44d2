/**
 * Discovery payloads shared by the validator and consumer tests: the worked example of
 * shared/protocols/home-assistant.md §1.7 and a device that uses every platform the bridge emits.
 */

export const EXAMPLE_TOPIC = 'homeassistant/device/localcloud_ecovacs_E0001234/config';

/** §1.7 as written in the note (abbreviated device and origin blocks, full entity keys). */
export function workedExample(): Record<string, any> {
    return {
        dev: {
            ids: ['localcloud_ecovacs_E0001234'],
            name: 'Deebot',
            mf: 'Ecovacs',
            mdl: 'DEEBOT OZMO 920',
            sw: '1.2.3',
            via_device: 'localcloud_bridge',
        },
        o: {name: 'LocalCloud', sw: '0.1.0', url: 'https://example.invalid/support'},
        availability: [
            {topic: 'localcloud/bridge/state', value_template: '{{ value_json.state }}'},
            {topic: 'localcloud/ecovacs_E0001234/availability', value_template: '{{ value_json.state }}'},
        ],
        availability_mode: 'all',
        cmps: {
            vacuum: {
                p: 'vacuum',
                unique_id: 'localcloud_ecovacs_E0001234_vacuum',
                name: null,
                default_entity_id: 'vacuum.deebot',
                state_topic: 'localcloud/ecovacs_E0001234/state',
                command_topic: 'localcloud/ecovacs_E0001234/cmd',
                supported_features: ['start', 'stop', 'pause', 'return_home', 'status', 'locate', 'fan_speed'],
                fan_speed_list: ['quiet', 'normal', 'max'],
                set_fan_speed_topic: 'localcloud/ecovacs_E0001234/fan/set',
                json_attributes_topic: 'localcloud/ecovacs_E0001234/attributes',
            },
            battery: {
                p: 'sensor',
                unique_id: 'localcloud_ecovacs_E0001234_battery',
                device_class: 'battery',
                unit_of_measurement: '%',
                state_class: 'measurement',
                entity_category: 'diagnostic',
                state_topic: 'localcloud/ecovacs_E0001234/battery',
            },
        },
    };
}

export const ALL_PLATFORMS_TOPIC = 'homeassistant/device/fogbridge_rainmaker-node1/config';

/** One device with a valid component of every platform, in the shape the bridge publishes (full names). */
export function allPlatformsDevice(): Record<string, any> {
    const base = 'fogbridge/rainmaker-node1';
    const id = (feature: string): string => `fogbridge_rainmaker-node1_${feature}`;
    return {
        device: {
            identifiers: ['fogbridge_rainmaker-node1'],
            connections: [['mac', '02:5b:00:00:00:01']],
            name: 'Workshop node',
            manufacturer: 'Espressif',
            model: 'ESP32 RainMaker',
            sw_version: '2.1.0',
            configuration_url: 'homeassistant://hassio/ingress/fogbridge',
            via_device: 'fogbridge_bridge',
        },
        origin: {name: 'fogbridge', sw_version: '0.1.0', support_url: 'https://example.invalid/fogbridge'},
        availability: [
            {topic: 'fogbridge/bridge/state'},
            {topic: `${base}/availability`},
        ],
        availability_mode: 'all',
        state_topic: `${base}/state`,
        qos: 1,
        components: {
            plug: {
                platform: 'switch',
                unique_id: id('plug'),
                name: null,
                device_class: 'outlet',
                command_topic: `${base}/plug/set`,
                value_template: '{{ value_json.plug }}',
                payload_on: 'ON',
                payload_off: 'OFF',
                state_on: 'ON',
                state_off: 'OFF',
            },
            power: {
                platform: 'sensor',
                unique_id: id('power'),
                device_class: 'power',
                unit_of_measurement: 'W',
                state_class: 'measurement',
                suggested_display_precision: 1,
                value_template: '{{ value_json.power }}',
            },
            energy: {
                platform: 'sensor',
                unique_id: id('energy'),
                device_class: 'energy',
                unit_of_measurement: 'kWh',
                state_class: 'total_increasing',
                value_template: '{{ value_json.energy }}',
            },
            mode: {
                platform: 'sensor',
                unique_id: id('mode'),
                name: 'Mode',
                device_class: 'enum',
                options: ['idle', 'heating', 'error'],
                value_template: '{{ value_json.mode }}',
            },
            last_seen: {
                platform: 'sensor',
                unique_id: id('last_seen'),
                name: 'Last seen',
                device_class: 'timestamp',
                entity_category: 'diagnostic',
                enabled_by_default: false,
                value_template: '{{ value_json.last_seen }}',
            },
            lamp: {
                platform: 'light',
                unique_id: id('lamp'),
                name: 'Lamp',
                schema: 'json',
                command_topic: `${base}/lamp/set`,
                state_topic: `${base}/lamp/state`,
                supported_color_modes: ['color_temp', 'hs'],
                brightness_scale: 255,
                color_temp_kelvin: true,
                min_kelvin: 2700,
                max_kelvin: 6500,
            },
            fan: {
                platform: 'fan',
                unique_id: id('fan'),
                name: 'Fan',
                command_topic: `${base}/fan/set`,
                state_value_template: '{{ value_json.fan.state }}',
                percentage_command_topic: `${base}/fan/percentage/set`,
                percentage_value_template: '{{ value_json.fan.percentage }}',
                speed_range_min: 1,
                speed_range_max: 3,
                preset_mode_command_topic: `${base}/fan/preset/set`,
                preset_mode_value_template: '{{ value_json.fan.preset }}',
                preset_modes: ['auto', 'sleep'],
                oscillation_command_topic: `${base}/fan/oscillation/set`,
            },
            log_level: {
                platform: 'select',
                unique_id: id('log_level'),
                name: 'Log level',
                entity_category: 'config',
                command_topic: `${base}/log_level/set`,
                value_template: '{{ value_json.log_level }}',
                options: ['error', 'warning', 'info', 'debug'],
            },
            target: {
                platform: 'number',
                unique_id: id('target'),
                name: 'Target temperature',
                command_topic: `${base}/target/set`,
                value_template: '{{ value_json.target }}',
                device_class: 'temperature',
                unit_of_measurement: '°C',
                min: 5,
                max: 30,
                step: 0.5,
                mode: 'box',
            },
            firmware: {
                platform: 'update',
                unique_id: id('firmware'),
                device_class: 'firmware',
                entity_category: 'config',
                command_topic: `${base}/firmware/install`,
                payload_install: 'install',
                latest_version_topic: `${base}/firmware/latest`,
                value_template: '{{ value_json.firmware.installed }}',
            },
            map: {
                platform: 'image',
                unique_id: id('map'),
                name: 'Map',
                image_topic: `${base}/map/image`,
                image_encoding: 'b64',
                content_type: 'image/png',
            },
            doorbell: {
                platform: 'event',
                unique_id: id('doorbell'),
                device_class: 'doorbell',
                state_topic: `${base}/doorbell`,
                event_types: ['press', 'double_press'],
            },
            identify: {
                platform: 'button',
                unique_id: id('identify'),
                device_class: 'identify',
                entity_category: 'diagnostic',
                command_topic: `${base}/identify/press`,
                payload_press: 'PRESS',
            },
            connected: {
                platform: 'binary_sensor',
                unique_id: id('connected'),
                name: 'Cloud link',
                device_class: 'connectivity',
                entity_category: 'diagnostic',
                value_template: '{{ value_json.connected }}',
                payload_on: 'true',
                payload_off: 'false',
            },
        },
    };
}

export function json(value: unknown): string {
    return JSON.stringify(value);
}
