import type {
    BinarySensorFeature,
    ButtonFeature,
    EventFeature,
    FanFeature,
    Feature,
    ImageFeature,
    LightFeature,
    NumberFeature,
    PublicDevice,
    SelectFeature,
    SensorFeature,
    SwitchFeature,
    UpdateFeature,
    VacuumAction,
    VacuumFeature,
} from '../core/device.js';
import {LOG_LEVELS} from '../util/logger.js';
import {PROJECT_URL, VERSION} from '../version.js';
import type {EntityNames} from './entity-names.js';
import {BRIDGE_DEVICE_ID, CLEAN_SEGMENTS_ATTRIBUTE, type TopicLayout} from './topics.js';

/**
 * Device-based discovery (`<prefix>/device/<id>/config`): one retained message per device with
 * `dev`, `o` and `cmps`. Every component reads the device's canonical state topic, so HA shows
 * exactly what any other MQTT client sees.
 */

type Component = Record<string, unknown> & {p: string; unique_id: string};

/** A component reduced to its platform: HA's way of removing one entity of a device. */
type RemovedComponent = {p: string};

export interface DiscoveryPayload {
    dev: Record<string, unknown>;
    o: {name: string; sw: string; url: string};
    availability: {topic: string}[];
    availability_mode: 'all';
    cmps: Record<string, Component | RemovedComponent>;
}

const VACUUM_FEATURES: Record<VacuumAction, string> = {
    start: 'start',
    stop: 'stop',
    pause: 'pause',
    return_to_base: 'return_home',
    locate: 'locate',
    clean_spot: 'clean_spot',
};

/**
 * `removed` maps feature ids the device no longer has to their platform: HA keeps an entity whose
 * component is simply left out, so those are published as `{"p": …}` to remove them.
 */
export function buildDiscovery(
    device: PublicDevice,
    topics: TopicLayout,
    names: EntityNames,
    removed: ReadonlyMap<string, string> = new Map(),
    configurationUrl: string | null = null,
): DiscoveryPayload {
    const cmps: Record<string, Component | RemovedComponent> = {};
    for (const [id, platform] of removed) cmps[id] = {p: platform};
    for (const feature of device.features) cmps[feature.id] = buildComponent(device, feature, topics, names);
    const dev: Record<string, unknown> = {
        identifiers: [topics.identifier(device.id)],
        name: device.facts.name,
        manufacturer: device.facts.manufacturer,
        model: device.facts.model,
    };
    if (device.facts.firmware) dev.sw_version = device.facts.firmware;
    if (device.facts.hardwareVersion) dev.hw_version = device.facts.hardwareVersion;
    if (device.facts.serialNumber) dev.serial_number = device.facts.serialNumber;
    const mac = device.facts.mac && haMac(device.facts.mac);
    // HA merges devices of any integration that share a MAC: the same plug seen by its own integration too.
    if (mac) dev.connections = [['mac', mac]];
    if (configurationUrl) dev.configuration_url = configurationUrl;
    dev.via_device = topics.identifier(BRIDGE_DEVICE_ID);
    return {
        dev,
        o: {name: 'fogbridge', sw: VERSION, url: PROJECT_URL},
        availability: [{topic: topics.bridgeState}, {topic: topics.availability(device.id)}],
        availability_mode: 'all',
        cmps,
    };
}

/** `AA-BB-CC-DD-EE-FF`, `aabbccddeeff` → `aa:bb:cc:dd:ee:ff`, the form HA keys connections by; null if not a MAC. */
export function haMac(mac: string): string | null {
    const digits = mac.replace(/[:.-]/g, '').toLowerCase();
    return /^[0-9a-f]{12}$/.test(digits) ? digits.match(/../g)!.join(':') : null;
}

function buildComponent(device: PublicDevice, feature: Feature, topics: TopicLayout, names: EntityNames): Component {
    const common: Record<string, unknown> = {unique_id: topics.uniqueId(device.id, feature.id), name: names.of(feature.name)};
    if (feature.entityCategory) common.entity_category = feature.entityCategory;
    if (feature.icon) common.icon = feature.icon;
    if (feature.enabledByDefault === false) common.enabled_by_default = false;
    // Overrides the device-wide list, which also holds the device's own availability.
    if (feature.availableWhileOffline) common.availability = [{topic: topics.bridgeState}];
    const context = {device, feature, topics};
    const specific = BUILDERS[feature.kind](context as never);
    return {p: feature.kind, ...common, ...specific} as Component;
}

interface BuildContext<F extends Feature> {
    device: PublicDevice;
    feature: F;
    topics: TopicLayout;
}

/**
 * The feature's key in the device state, for a template. Subscript, not `value_json.<id>`: in
 * Jinja a dotted name is looked up as an attribute first, so an id such as `update`, `items` or
 * `values` would find a dict method, and one starting with a digit does not even parse.
 */
function stateKey(feature: Feature): string {
    return `value_json['${feature.id}']`;
}

/** `{{ value_json['<id>'] }}` on the device's state topic. */
function valueFrom({device, feature, topics}: BuildContext<Feature>, filter = ''): Record<string, string> {
    return {state_topic: topics.deviceState(device.id), value_template: `{{ ${stateKey(feature)}${filter} }}`};
}

function commandTopic({device, feature, topics}: BuildContext<Feature>, attribute?: string): string {
    return topics.command(device.id, feature.id, attribute);
}

const BUILDERS: {[K in Feature['kind']]: (context: BuildContext<Extract<Feature, {kind: K}>>) => Record<string, unknown>} = {
    vacuum(context: BuildContext<VacuumFeature>) {
        const {device, feature, topics} = context;
        const supported = ['status', ...feature.commands.map((command) => VACUUM_FEATURES[command])];
        const config: Record<string, unknown> = {
            state_topic: topics.featureState(device.id, feature.id),
            command_topic: commandTopic(context),
            supported_features: supported,
        };
        if (feature.fanSpeeds?.length) {
            supported.push('fan_speed');
            config.fan_speed_list = feature.fanSpeeds;
            config.set_fan_speed_topic = commandTopic(context, 'fan_speed');
        }
        // HA 2026.5: the rooms come with the state (`segments`); HA publishes the chosen ids as a JSON list.
        if (feature.segments) config.clean_segments_command_topic = commandTopic(context, CLEAN_SEGMENTS_ATTRIBUTE);
        return config;
    },
    switch(context: BuildContext<SwitchFeature>) {
        const config: Record<string, unknown> = {...valueFrom(context), command_topic: commandTopic(context)};
        if (context.feature.deviceClass) config.device_class = context.feature.deviceClass;
        return config;
    },
    light(context: BuildContext<LightFeature>) {
        const {device, feature, topics} = context;
        const config: Record<string, unknown> = {
            schema: 'json',
            state_topic: topics.featureState(device.id, feature.id),
            command_topic: commandTopic(context),
            supported_color_modes: feature.colorModes,
        };
        if (feature.colorModes.includes('color_temp')) {
            config.color_temp_kelvin = true;
            if (feature.minKelvin) config.min_kelvin = feature.minKelvin;
            if (feature.maxKelvin) config.max_kelvin = feature.maxKelvin;
        }
        return config;
    },
    fan(context: BuildContext<FanFeature>) {
        const {feature} = context;
        const state = valueFrom(context);
        const config: Record<string, unknown> = {
            command_topic: commandTopic(context),
            state_topic: state.state_topic,
            state_value_template: `{{ ${stateKey(feature)}.state }}`,
            percentage_command_topic: commandTopic(context, 'percentage'),
            percentage_state_topic: state.state_topic,
            percentage_value_template: `{{ ${stateKey(feature)}.percentage }}`,
        };
        if (feature.presetModes?.length) {
            config.preset_modes = feature.presetModes;
            config.preset_mode_command_topic = commandTopic(context, 'preset_mode');
            config.preset_mode_state_topic = state.state_topic;
            config.preset_mode_value_template = `{{ ${stateKey(feature)}.preset_mode }}`;
        }
        if (feature.direction) {
            config.direction_command_topic = commandTopic(context, 'direction');
            config.direction_state_topic = state.state_topic;
            config.direction_value_template = `{{ ${stateKey(feature)}.direction }}`;
        }
        if (feature.oscillation) {
            config.oscillation_command_topic = commandTopic(context, 'oscillation');
            config.oscillation_state_topic = state.state_topic;
            config.oscillation_value_template = `{{ ${stateKey(feature)}.oscillation }}`;
        }
        return config;
    },
    sensor(context: BuildContext<SensorFeature>) {
        const {feature} = context;
        const config: Record<string, unknown> = valueFrom(context);
        if (feature.deviceClass) config.device_class = feature.deviceClass;
        if (feature.stateClass) config.state_class = feature.stateClass;
        if (feature.unit) config.unit_of_measurement = feature.unit;
        if (feature.options) config.options = feature.options;
        if (feature.precision !== undefined) config.suggested_display_precision = feature.precision;
        return config;
    },
    binary_sensor(context: BuildContext<BinarySensorFeature>) {
        const config: Record<string, unknown> = valueFrom(context);
        if (context.feature.deviceClass) config.device_class = context.feature.deviceClass;
        return config;
    },
    button(context: BuildContext<ButtonFeature>) {
        const config: Record<string, unknown> = {command_topic: commandTopic(context), payload_press: 'PRESS'};
        if (context.feature.deviceClass) config.device_class = context.feature.deviceClass;
        return config;
    },
    select(context: BuildContext<SelectFeature>) {
        return {...valueFrom(context), command_topic: commandTopic(context), options: context.feature.options};
    },
    number(context: BuildContext<NumberFeature>) {
        const {feature} = context;
        const config: Record<string, unknown> = {
            ...valueFrom(context),
            command_topic: commandTopic(context),
            min: feature.min,
            max: feature.max,
            step: feature.step ?? 1,
            mode: feature.mode ?? 'auto',
        };
        if (feature.unit) config.unit_of_measurement = feature.unit;
        if (feature.deviceClass) config.device_class = feature.deviceClass;
        return config;
    },
    update(context: BuildContext<UpdateFeature>) {
        const {feature} = context;
        const config: Record<string, unknown> = {...valueFrom(context, ' | tojson'), device_class: 'firmware'};
        if (feature.installable) {
            config.command_topic = commandTopic(context);
            config.payload_install = 'install';
        }
        return config;
    },
    event(context: BuildContext<EventFeature>) {
        const {device, feature, topics} = context;
        const config: Record<string, unknown> = {state_topic: topics.featureEvent(device.id, feature.id), event_types: feature.eventTypes};
        if (feature.deviceClass) config.device_class = feature.deviceClass;
        return config;
    },
    // MQTT payloads are text on our queue: the PNG travels as base64, which HA decodes (`image_encoding`).
    image({device, feature, topics}: BuildContext<ImageFeature>) {
        return {image_topic: topics.featureImage(device.id, feature.id), image_encoding: 'b64', content_type: 'image/png'};
    },
};

/**
 * fogbridge itself as a device, as Zigbee2MQTT shows its bridge: whether it is connected, how many
 * devices it knows, and its log level (changed from HA while diagnosing). Every device links to it
 * with `via_device`.
 */
/** The counters in `<base>/bridge/diagnostics`, each a sensor of the bridge's own device, named `entity.<key>`. */
export const BRIDGE_DIAGNOSTICS = {
    queue_dropped: {icon: 'mdi:tray-remove'},
    queue_throttled: {icon: 'mdi:speedometer-slow'},
    flood_dropped: {icon: 'mdi:waves-arrow-up'},
    flooding_devices: {icon: 'mdi:alert-octagon'},
    hellos_unanswered: {icon: 'mdi:hand-back-left-off'},
} as const;

export type BridgeDiagnostics = Record<keyof typeof BRIDGE_DIAGNOSTICS, number>;

function diagnosticCounters(topics: TopicLayout, names: EntityNames, id: (feature: string) => string, availability: {topic: string}[]): Record<string, Record<string, unknown>> {
    return Object.fromEntries(
        Object.entries(BRIDGE_DIAGNOSTICS).map(([key, {icon}]) => [
            key,
            {
                p: 'sensor',
                unique_id: id(key),
                name: names.entity(key),
                icon,
                entity_category: 'diagnostic',
                // Drops since start only grow; the flooding count goes up and down.
                state_class: key === 'flooding_devices' ? 'measurement' : 'total_increasing',
                state_topic: topics.bridgeDiagnostics,
                value_template: `{{ value_json.${key} }}`,
                availability,
            },
        ]),
    );
}

export function buildBridgeDiscovery(topics: TopicLayout, names: EntityNames): Omit<DiscoveryPayload, 'availability' | 'availability_mode'> {
    const id = (feature: string): string => topics.uniqueId(BRIDGE_DEVICE_ID, feature);
    const whileOnline = [{topic: topics.bridgeState}];
    return {
        dev: {identifiers: [topics.identifier(BRIDGE_DEVICE_ID)], name: 'fogbridge', manufacturer: 'fogbridge', model: names.text('ha.bridgeModel'), sw_version: VERSION},
        o: {name: 'fogbridge', sw: VERSION, url: PROJECT_URL},
        cmps: {
            // No availability of its own: "disconnected" is exactly what it must be able to show.
            connection: {
                p: 'binary_sensor',
                unique_id: id('connection'),
                name: names.entity('connection'),
                device_class: 'connectivity',
                entity_category: 'diagnostic',
                state_topic: topics.bridgeState,
                payload_on: 'online',
                payload_off: 'offline',
            },
            devices: {
                p: 'sensor',
                unique_id: id('devices'),
                name: names.entity('devices'),
                icon: 'mdi:devices',
                entity_category: 'diagnostic',
                state_class: 'measurement',
                state_topic: topics.bridgeDevices,
                value_template: '{{ value_json | length }}',
                availability: whileOnline,
            },
            ...diagnosticCounters(topics, names, id, whileOnline),
            log_level: {
                p: 'select',
                unique_id: id('log_level'),
                name: names.entity('log_level'),
                icon: 'mdi:math-log',
                entity_category: 'config',
                options: [...LOG_LEVELS],
                state_topic: topics.bridgeLogLevel,
                command_topic: topics.command(BRIDGE_DEVICE_ID, 'log_level'),
                availability: whileOnline,
            },
        },
    };
}
