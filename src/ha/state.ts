import type {DeviceState, FanState, Feature, FeatureValue, LightState, PublicDevice, UpdateState, VacuumState} from '../core/device.js';

/**
 * Normalised feature values → the JSON Home Assistant's MQTT platforms read. Every stateful
 * feature appears in the device state (null while unknown), so no value_template ever meets a
 * missing key. Nothing is published before the device has reported something (see `hasReported`).
 */
export function renderDeviceState(device: Pick<PublicDevice, 'features'>, state: DeviceState): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const feature of device.features) {
        if (feature.kind === 'button' || feature.kind === 'event' || feature.kind === 'image') continue;
        out[feature.id] = renderFeature(feature, state[feature.id] ?? null);
    }
    return out;
}

/** Whether the device has told any of these features' values: until then HA's entities stay unknown, not null. */
export function hasReported(state: DeviceState, features: readonly Pick<Feature, 'id'>[]): boolean {
    return features.some((feature) => state[feature.id] !== undefined && state[feature.id] !== null);
}

/** Vacuums and JSON lights read a whole topic of their own rather than a templated value. */
export function hasOwnStateTopic(feature: Pick<Feature, 'kind'> | {kind: string}): boolean {
    return feature.kind === 'vacuum' || feature.kind === 'light';
}

export function renderFeature(feature: Feature, value: FeatureValue): unknown {
    switch (feature.kind) {
        case 'switch':
        case 'binary_sensor':
            return typeof value === 'boolean' ? (value ? 'ON' : 'OFF') : null;
        case 'vacuum': {
            const vacuum = value as VacuumState | null;
            const out: Record<string, unknown> = {state: vacuum?.activity ?? null};
            if (vacuum?.fanSpeed) out.fan_speed = vacuum.fanSpeed;
            if (feature.segments && vacuum?.segments) out.segments = vacuum.segments;
            return out;
        }
        case 'light': {
            const light = value as LightState | null;
            if (!light) return {state: null};
            const out: Record<string, unknown> = {state: light.on ? 'ON' : 'OFF'};
            if (light.brightness !== undefined) out.brightness = light.brightness;
            if (light.colorMode) out.color_mode = light.colorMode;
            if (light.colorMode === 'hs' && light.hs) out.color = {h: light.hs.h, s: light.hs.s};
            if (light.colorMode === 'color_temp' && light.colorTempKelvin !== undefined) out.color_temp = light.colorTempKelvin;
            return out;
        }
        case 'fan': {
            const fan = value as FanState | null;
            if (!fan) return {state: null, percentage: null, preset_mode: null, direction: null, oscillation: null};
            return {
                state: fan.on ? 'ON' : 'OFF',
                percentage: fan.percentage ?? null,
                preset_mode: fan.presetMode ?? null,
                direction: fan.direction ?? null,
                oscillation: fan.oscillating === undefined ? null : fan.oscillating ? 'oscillate_on' : 'oscillate_off',
            };
        }
        case 'update': {
            const update = value as UpdateState | null;
            if (!update) return {installed_version: null, latest_version: null};
            const out: Record<string, unknown> = {
                installed_version: update.installedVersion,
                latest_version: update.latestVersion,
                in_progress: update.inProgress ?? false,
            };
            if (update.progress !== undefined) out.update_percentage = update.progress;
            if (update.releaseSummary) out.release_summary = update.releaseSummary;
            return out;
        }
        default:
            return value;
    }
}
