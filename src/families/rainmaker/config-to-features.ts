/**
 * A RainMaker node config → one fogbridge device with features (rainmaker.md §10).
 *
 * One fogbridge device per node, not per RainMaker device: the node is what connects, goes
 * offline, carries the firmware (one update entity) and the identity (one certificate). A
 * multi-device node, e.g. a 4-gang switch, then reads in Home Assistant as one device with four
 * named switches, which is how HA shows multi-channel Shelly or Tasmota boxes. Feature ids are
 * the device (or service) name, then the param name, slugged, so they survive restarts and
 * firmware updates that keep the names.
 *
 * Map by param `type`, address by param `name` (firmware authors rename params freely).
 */

import {createHash} from 'node:crypto';

import {CommandError, type FeatureCommand} from '../../core/commands.js';
import type {
    ColorMode,
    DeviceFacts,
    DeviceState,
    FanState,
    Feature,
    FeatureName,
    FeatureValue,
    LightFeature,
    LightState,
} from '../../core/device.js';
import {type ParamsDocument, type RmDevice, type RmNodeConfig, type RmParam} from './node-config.js';

export const FIRMWARE_FEATURE = 'firmware';
export const ALERT_FEATURE = 'alert';
export const MANUFACTURER = 'Espressif (RainMaker)';

export interface ModelOptions {
    /** Which Direction value means forward (RainMaker does not say). */
    fanForwardDirection: 0 | 1;
    temperatureUnit: string;
}

export type Binding =
    | {kind: 'light'; entry: string; power: RmParam; brightness?: RmParam; hue?: RmParam; saturation?: RmParam; cct?: RmParam}
    | {kind: 'fan'; entry: string; power: RmParam; speed?: RmParam; direction?: RmParam}
    /** One param shown as it is: switch, sensor, binary_sensor, number, select. */
    | {kind: 'value'; entry: string; param: RmParam}
    | {kind: 'button'; entry: string; param: RmParam};

export interface NodeModel {
    facts: DeviceFacts;
    features: Feature[];
    /** Feature id → the params behind it. */
    bindings: Map<string, Binding>;
    /** For OTA: images must carry the running project's name. */
    projectName: string | null;
    firmwareVersion: string;
}

const MAX_FEATURE_ID = 48;
/** Services whose params are not entities (rainmaker.md §10.3). */
const UNMAPPED_SERVICES = new Set([
    'esp.service.time',
    'esp.service.schedule',
    'esp.service.scenes',
    // POP is the local-control secret: never exposed.
    'esp.service.local_control',
    // Connectivity is availability; OTA-by-params is not supported, OTA by topics is.
    'esp.service.connectivity',
    'esp.service.ota',
    'esp.service.groups',
    'esp.service.rmaker-controller',
    'esp.service.rmaker-user-auth',
    'esp.service.thread-br',
]);
const LIGHT_TYPES = new Set(['esp.device.lightbulb', 'esp.device.light']);
const SWITCH_TYPES = new Set(['esp.device.switch']);
const OUTLET_TYPES = new Set(['esp.device.outlet', 'esp.device.plug', 'esp.device.socket']);

export function buildNodeModel(config: RmNodeConfig, params: ParamsDocument, options: ModelOptions): NodeModel {
    const used = new Set<string>([FIRMWARE_FEATURE, ALERT_FEATURE]);
    const features: Feature[] = [];
    const bindings = new Map<string, Binding>();
    const single = config.devices.length === 1;
    const add = (feature: Feature, binding: Binding): void => {
        features.push(feature);
        bindings.set(feature.id, binding);
    };

    for (const device of config.devices) {
        const consumed = new Set<string>();
        const mainId = featureId([device.name], used);
        const mainName = single ? null : {text: device.name};
        const byType = (type: string): RmParam | undefined => device.params.find((param) => param.type === type);
        const power = byType('esp.param.power');
        const type = device.type ?? '';

        if (LIGHT_TYPES.has(type) && power?.data_type === 'bool') {
            const light = lightFeature(mainId, mainName, device, power);
            add(light.feature, light.binding);
            for (const param of light.params) consumed.add(param.name);
        } else if ((SWITCH_TYPES.has(type) || OUTLET_TYPES.has(type)) && power?.data_type === 'bool') {
            add({id: mainId, name: mainName, kind: 'switch', deviceClass: OUTLET_TYPES.has(type) ? 'outlet' : 'switch'}, {kind: 'value', entry: device.name, param: power});
            consumed.add(power.name);
        } else if (type === 'esp.device.fan' && power?.data_type === 'bool') {
            const speed = numeric(byType('esp.param.speed'));
            const direction = byType('esp.param.direction')?.data_type === 'int' ? byType('esp.param.direction') : undefined;
            add({id: mainId, name: mainName, kind: 'fan', ...(direction ? {direction: true} : {})}, {kind: 'fan', entry: device.name, power, speed, direction});
            for (const param of [power, speed, direction]) if (param) consumed.add(param.name);
        } else if (type === 'esp.device.temperature-sensor' && numeric(byType('esp.param.temperature'))) {
            const temperature = byType('esp.param.temperature')!;
            add(
                {id: mainId, name: mainName, kind: 'sensor', deviceClass: 'temperature', stateClass: 'measurement', unit: options.temperatureUnit},
                {kind: 'value', entry: device.name, param: temperature},
            );
            consumed.add(temperature.name);
        } else {
            // Not a type we map whole (or missing its main param): every param on its own. The
            // main feature id stays free, so a later firmware that adds the param keeps the rest.
            used.delete(mainId);
        }

        for (const param of device.params) {
            if (consumed.has(param.name)) continue;
            const mapped = fallbackFeature(device, param, single, used, options, undefined);
            if (mapped) add(mapped.feature, mapped.binding);
        }
    }

    for (const service of config.services) {
        if (service.type && UNMAPPED_SERVICES.has(service.type)) continue;
        const system = service.type === 'esp.service.system';
        for (const param of service.params) {
            const mapped = fallbackFeature(service, param, false, used, options, system ? 'config' : undefined);
            if (!mapped) continue;
            if (system && mapped.feature.kind === 'button') {
                if (param.type === 'esp.param.reboot') mapped.feature.deviceClass = 'restart';
                else mapped.feature.enabledByDefault = false;
            }
            add(mapped.feature, mapped.binding);
        }
    }

    features.push({id: FIRMWARE_FEATURE, name: {key: FIRMWARE_FEATURE}, kind: 'update', installable: true, entityCategory: 'config'});
    features.push({id: ALERT_FEATURE, name: {key: ALERT_FEATURE}, kind: 'event', eventTypes: ['alert']});

    return {
        facts: nodeFacts(config, params),
        features,
        bindings,
        projectName: config.info.project_name ?? null,
        firmwareVersion: config.info.fw_version,
    };
}

function nodeFacts(config: RmNodeConfig, params: ParamsDocument): DeviceFacts {
    // A single-device node is named by its device's Name param (what the RainMaker app shows).
    let name = config.info.name;
    const only = config.devices.length === 1 ? config.devices[0]! : undefined;
    if (only) {
        const nameParam = only.params.find((param) => param.type === 'esp.param.name');
        const value = nameParam ? params[only.name]?.[nameParam.name] : undefined;
        name = typeof value === 'string' && value.trim() ? value.trim() : only.name;
    }
    return {
        manufacturer: MANUFACTURER,
        model: config.info.model ?? config.info.project_name ?? config.info.type ?? 'RainMaker node',
        name: name.slice(0, 64) || config.node_id,
        firmware: config.info.fw_version,
    };
}

function numeric(param: RmParam | undefined): RmParam | undefined {
    return param && (param.data_type === 'int' || param.data_type === 'float') ? param : undefined;
}

function lightFeature(id: string, name: FeatureName | null, device: RmDevice, power: RmParam): {feature: LightFeature; binding: Binding; params: RmParam[]} {
    const byType = (type: string): RmParam | undefined => numeric(device.params.find((param) => param.type === type));
    const brightness = byType('esp.param.brightness') ?? byType('esp.param.intensity');
    const hue = byType('esp.param.hue');
    const saturation = byType('esp.param.saturation');
    const hasHs = Boolean(hue && saturation);
    const cct = byType('esp.param.cct');
    const modes: ColorMode[] = [];
    if (hasHs) modes.push('hs');
    if (cct) modes.push('color_temp');
    // HA: `onoff` and `brightness` only ever stand alone; hs and color_temp imply brightness.
    if (modes.length === 0) modes.push(brightness ? 'brightness' : 'onoff');
    const feature: LightFeature = {id, name, kind: 'light', colorModes: modes};
    if (cct) {
        feature.minKelvin = Math.round(cct.bounds?.min ?? 2700);
        feature.maxKelvin = Math.round(cct.bounds?.max ?? 6500);
    }
    const binding: Binding = {
        kind: 'light',
        entry: device.name,
        power,
        ...(brightness ? {brightness} : {}),
        ...(hasHs ? {hue, saturation} : {}),
        ...(cct ? {cct} : {}),
    };
    const params = [power, brightness, hasHs ? hue : undefined, hasHs ? saturation : undefined, cct].filter((param): param is RmParam => Boolean(param));
    return {feature, binding, params};
}

/** rainmaker.md §10.2: one param as an entity of its own, or null when it is not one. */
function fallbackFeature(
    entry: RmDevice,
    param: RmParam,
    singleDevice: boolean,
    used: Set<string>,
    options: ModelOptions,
    category: 'config' | 'diagnostic' | undefined,
): {feature: Feature; binding: Binding} | null {
    if (param.type === 'esp.param.name' || param.ui_type === 'esp.ui.hidden') return null;
    const readable = param.properties.includes('read');
    const writable = param.properties.includes('write');
    if (!readable && !(writable && param.data_type === 'bool')) return null;
    const id = (): string => featureId([entry.name, param.name], used);
    const name = {text: singleDevice ? param.name : `${entry.name} ${param.name}`};
    const base = {name, ...(category ? {entityCategory: category} : {})};
    const value: Binding = {kind: 'value', entry: entry.name, param};
    switch (param.data_type) {
        case 'bool':
            if (writable && (param.ui_type === 'esp.ui.trigger' || param.ui_type === 'esp.ui.push-btn-big' || entry.type === 'esp.service.system')) {
                return {feature: {...base, id: id(), kind: 'button'}, binding: {kind: 'button', entry: entry.name, param}};
            }
            if (writable) return {feature: {...base, id: id(), kind: 'switch'}, binding: value};
            return {feature: {...base, id: id(), kind: 'binary_sensor'}, binding: value};
        case 'int':
        case 'float': {
            const {min, max, step} = param.bounds ?? {};
            if (writable && min !== undefined && max !== undefined && min < max) {
                return {
                    feature: {
                        ...base,
                        id: id(),
                        kind: 'number',
                        min,
                        max,
                        step: step && step > 0 ? step : param.data_type === 'int' ? 1 : (max - min) / 100,
                        mode: param.ui_type === 'esp.ui.slider' ? 'slider' : 'auto',
                    },
                    binding: value,
                };
            }
            if (!readable) return null;
            const timeSeries = param.properties.includes('time_series') || param.properties.includes('simple_ts');
            const temperature = param.type === 'esp.param.temperature';
            return {
                feature: {
                    ...base,
                    id: id(),
                    kind: 'sensor',
                    ...(timeSeries || temperature ? {stateClass: 'measurement' as const} : {}),
                    ...(temperature ? {deviceClass: 'temperature', unit: options.temperatureUnit} : {}),
                },
                binding: value,
            };
        }
        case 'string':
            if (writable && param.valid_strs?.length) return {feature: {...base, id: id(), kind: 'select', options: [...param.valid_strs]}, binding: value};
            // No text entity kind: a writable free-text param is shown read-only.
            return {feature: {...base, id: id(), kind: 'sensor'}, binding: value};
        default:
            // object/array params (schedules, scenes) are not entities.
            return null;
    }
}

/** `Light` + `Brightness` → `light_brightness`; stable, `[a-z0-9_]`, ≤ 48 characters, unique. */
export function featureId(parts: string[], used: Set<string>): string {
    const joined = parts.join(' ');
    let id = parts
        .map((part) =>
            part
                .toLowerCase()
                .replace(/[^a-z0-9]+/g, '_')
                .replace(/^_+|_+$/g, ''),
        )
        .filter(Boolean)
        .join('_');
    const hash = createHash('sha256').update(joined).digest('hex').slice(0, 6);
    // Names in other scripts slug to nothing: the hash of the name stands in.
    if (!id) id = `param_${hash}`;
    if (id.length > MAX_FEATURE_ID) id = `${id.slice(0, MAX_FEATURE_ID - 7).replace(/_+$/, '')}_${hash}`;
    if (used.has(id)) id = `${id.slice(0, MAX_FEATURE_ID - 7).replace(/_+$/, '')}_${hash}`;
    for (let counter = 2; used.has(id); counter++) id = `${id.slice(0, MAX_FEATURE_ID - 3)}_${counter}`;
    used.add(id);
    return id;
}

/** Native range of a param, with the SDK's defaults for the standard types. */
function range(param: RmParam, fallbackMax: number): {min: number; max: number} {
    const min = param.bounds?.min ?? 0;
    const max = param.bounds?.max ?? fallbackMax;
    return max > min ? {min, max} : {min: 0, max: fallbackMax};
}

/** The node's params → feature states. `changed` tells which colour param moved last. */
export function featureStates(model: NodeModel, params: ParamsDocument, previous: DeviceState, changed: ParamsDocument, options: ModelOptions): DeviceState {
    const state: DeviceState = {};
    for (const [id, binding] of model.bindings) {
        const values = params[binding.entry] ?? {};
        const changedValues = changed[binding.entry] ?? {};
        switch (binding.kind) {
            case 'light': {
                const light = lightState(model, id, binding, values, changedValues, previous[id] as LightState | undefined);
                if (light) state[id] = light;
                break;
            }
            case 'fan': {
                const on = values[binding.power.name];
                if (typeof on !== 'boolean') break;
                const fan: FanState = {on};
                const speed = binding.speed ? values[binding.speed.name] : undefined;
                if (binding.speed && typeof speed === 'number') {
                    const {max} = range(binding.speed, 5);
                    fan.percentage = Math.max(0, Math.min(100, Math.round((speed / max) * 100)));
                }
                const direction = binding.direction ? values[binding.direction.name] : undefined;
                if (typeof direction === 'number') fan.direction = direction === options.fanForwardDirection ? 'forward' : 'reverse';
                state[id] = fan;
                break;
            }
            case 'value': {
                const value = values[binding.param.name];
                if (value !== undefined && (typeof value !== 'object' || value === null)) state[id] = value as FeatureValue;
                break;
            }
            case 'button':
                break;
        }
    }
    return state;
}

function lightState(
    model: NodeModel,
    id: string,
    binding: Extract<Binding, {kind: 'light'}>,
    values: Record<string, unknown>,
    changed: Record<string, unknown>,
    previous: LightState | undefined,
): LightState | null {
    const on = values[binding.power.name];
    if (typeof on !== 'boolean') return null;
    const feature = model.features.find((candidate) => candidate.id === id) as LightFeature;
    const light: LightState = {on};
    if (binding.brightness) {
        const value = values[binding.brightness.name];
        if (typeof value === 'number') {
            const {max} = range(binding.brightness, 100);
            light.brightness = Math.max(0, Math.min(255, Math.round((value / max) * 255)));
        }
    }
    if (binding.hue && binding.saturation) {
        const hue = values[binding.hue.name];
        const saturation = values[binding.saturation.name];
        if (typeof hue === 'number' && typeof saturation === 'number') {
            light.hs = {
                h: Math.round((hue / range(binding.hue, 360).max) * 360),
                s: Math.round((saturation / range(binding.saturation, 100).max) * 100),
            };
        }
    }
    if (binding.cct) {
        const kelvin = values[binding.cct.name];
        if (typeof kelvin === 'number') light.colorTempKelvin = Math.round(kelvin);
    }
    // RainMaker has no colour-mode param: the colour param the node reported last decides.
    const hsMoved = [binding.hue?.name, binding.saturation?.name].some((name) => name !== undefined && name in changed);
    const cctMoved = binding.cct !== undefined && binding.cct.name in changed;
    const modes = feature.colorModes;
    if (modes.length === 1) light.colorMode = modes[0]!;
    else if (cctMoved && !hsMoved) light.colorMode = 'color_temp';
    else if (hsMoved) light.colorMode = 'hs';
    else light.colorMode = previous?.colorMode && modes.includes(previous.colorMode) ? previous.colorMode : modes[0]!;
    return light;
}

/**
 * A feature command the core has checked → the `params/remote` document, keyed by device and param
 * name with the JSON types the config declares. What the config cannot carry (a colour on a light
 * without hue params, a value of the wrong type) throws before anything reaches the node, which
 * would silently ignore it.
 */
export function commandToParams(model: NodeModel, featureId: string, command: FeatureCommand, options: ModelOptions): ParamsDocument {
    const binding = model.bindings.get(featureId);
    if (!binding) throw new CommandError(`feature "${featureId}" takes no command`);
    const out: Record<string, unknown> = {};
    switch (binding.kind) {
        case 'button':
            out[binding.param.name] = true;
            break;
        case 'value':
            out[binding.param.name] = typedValue(binding.param, valueOf(command), featureId);
            break;
        case 'light': {
            if (command.kind !== 'light') throw new CommandError(`a light takes light commands, not ${command.kind}`);
            const {change} = command;
            out[binding.power.name] = typedValue(binding.power, change.on, 'on');
            if (change.brightness !== undefined) {
                if (!binding.brightness) throw new CommandError('this light has no brightness');
                const brightness = finite(change.brightness, 'brightness');
                const {max} = range(binding.brightness, 100);
                out[binding.brightness.name] = scaled(binding.brightness, (brightness / 255) * max);
            }
            if (change.hs !== undefined) {
                if (!binding.hue || !binding.saturation) throw new CommandError('this light has no colour');
                out[binding.hue.name] = scaled(binding.hue, (finite(change.hs.h, 'hue') / 360) * range(binding.hue, 360).max);
                out[binding.saturation.name] = scaled(binding.saturation, (finite(change.hs.s, 'saturation') / 100) * range(binding.saturation, 100).max);
            }
            if (change.colorTempKelvin !== undefined) {
                if (!binding.cct) throw new CommandError('this light has no colour temperature');
                out[binding.cct.name] = scaled(binding.cct, finite(change.colorTempKelvin, 'colour temperature'));
            }
            break;
        }
        case 'fan': {
            if (command.kind !== 'fan') throw new CommandError(`a fan takes fan commands, not ${command.kind}`);
            const {change} = command;
            if (change.on !== undefined) out[binding.power.name] = typedValue(binding.power, change.on, 'on');
            if (change.percentage !== undefined) {
                if (!binding.speed) throw new CommandError('this fan has no speed');
                const {min, max} = range(binding.speed, 5);
                // Any percentage above 0 is at least the lowest running speed.
                out[binding.speed.name] = scaled(binding.speed, Math.max(Math.max(min, 1), Math.ceil((finite(change.percentage, 'percentage') / 100) * max)));
            }
            if (change.direction !== undefined) {
                if (!binding.direction) throw new CommandError('this fan has no direction');
                out[binding.direction.name] = change.direction === 'forward' ? options.fanForwardDirection : 1 - options.fanForwardDirection;
            }
            break;
        }
    }
    if (Object.keys(out).length === 0) throw new CommandError('the command changes nothing');
    return {[binding.entry]: out};
}

/** The one value a single-param feature (switch, select, number) is set to. */
function valueOf(command: FeatureCommand): unknown {
    switch (command.kind) {
        case 'switch':
            return command.on;
        case 'select':
            return command.option;
        case 'number':
            return command.value;
        default:
            throw new CommandError(`a single value takes switch, select or number commands, not ${command.kind}`);
    }
}

function finite(value: unknown, what: string): number {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new CommandError(`${what} must be a number, got ${JSON.stringify(value)}`);
    return value;
}

/** Rounds for int params and clamps to the declared bounds (rainmaker.md §10.4). */
function scaled(param: RmParam, value: number): number {
    let out = param.data_type === 'int' ? Math.round(value) : value;
    if (param.bounds?.min !== undefined) out = Math.max(param.bounds.min, out);
    if (param.bounds?.max !== undefined) out = Math.min(param.bounds.max, out);
    return out;
}

/** A command value in the param's exact JSON type, or an Error saying why not. */
function typedValue(param: RmParam, value: unknown, what: string): unknown {
    switch (param.data_type) {
        case 'bool':
            if (typeof value !== 'boolean') throw new CommandError(`${what} must be true or false, got ${JSON.stringify(value)}`);
            return value;
        case 'int':
        case 'float':
            return scaled(param, finite(value, what));
        case 'string':
            if (typeof value !== 'string') throw new CommandError(`${what} must be a string, got ${JSON.stringify(value)}`);
            return value;
        default:
            throw new CommandError(`${what}: ${param.data_type} params cannot be set`);
    }
}
