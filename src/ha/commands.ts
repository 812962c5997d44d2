import type {DeviceCommand, Feature, LightState, VacuumCommand} from '../core/device.js';

export type ParsedCommand = {ok: true; command: DeviceCommand} | {ok: false; reason: string};

const VACUUM_COMMANDS: readonly VacuumCommand[] = ['start', 'stop', 'pause', 'return_to_base', 'locate', 'clean_spot'];
const MAX_PAYLOAD = 4096;

/**
 * A message on `<base>/<device>/<feature>[/<attribute>]/set` → a normalised command, checked
 * against what the feature declares, so an adapter only ever sees values it can send.
 */
export function parseCommand(deviceId: string, feature: Feature, attribute: string | null, payload: Buffer): ParsedCommand {
    if (payload.length > MAX_PAYLOAD) return fail(`payload of ${payload.length} bytes is too large`);
    const text = payload.toString('utf8').trim();
    const make = (action: string, value?: unknown): ParsedCommand => ({ok: true, command: {deviceId, featureId: feature.id, action, value}});
    const onOff = (): boolean | null => (text.toUpperCase() === 'ON' ? true : text.toUpperCase() === 'OFF' ? false : null);

    switch (feature.kind) {
        case 'switch': {
            if (attribute) break;
            const on = onOff();
            return on === null ? fail(`expected ON or OFF, got "${clip(text)}"`) : make('set', on);
        }
        case 'vacuum': {
            if (attribute === 'fan_speed') {
                return feature.fanSpeeds?.includes(text) ? make('set_fan_speed', text) : fail(`unknown fan speed "${clip(text)}"`);
            }
            if (attribute) break;
            const command = text as VacuumCommand;
            if (!VACUUM_COMMANDS.includes(command) || !feature.commands.includes(command)) return fail(`unsupported vacuum command "${clip(text)}"`);
            return make(command);
        }
        case 'light': {
            if (attribute) break;
            return parseLight(text, feature.colorModes, make);
        }
        case 'fan': {
            if (!attribute) {
                const on = onOff();
                return on === null ? fail(`expected ON or OFF, got "${clip(text)}"`) : make('set', {on});
            }
            if (attribute === 'percentage') {
                const percentage = Number(text);
                if (!Number.isInteger(percentage) || percentage < 0 || percentage > 100) return fail(`percentage must be 0–100, got "${clip(text)}"`);
                return make('set', percentage === 0 ? {on: false} : {on: true, percentage});
            }
            if (attribute === 'preset_mode') {
                return feature.presetModes?.includes(text) ? make('set', {presetMode: text}) : fail(`unknown preset mode "${clip(text)}"`);
            }
            if (attribute === 'direction' && feature.direction) {
                return text === 'forward' || text === 'reverse' ? make('set', {direction: text}) : fail(`direction must be forward or reverse`);
            }
            if (attribute === 'oscillation' && feature.oscillation) {
                if (text === 'oscillate_on' || text === 'oscillate_off') return make('set', {oscillating: text === 'oscillate_on'});
                return fail('oscillation must be oscillate_on or oscillate_off');
            }
            break;
        }
        case 'select':
            if (attribute) break;
            return feature.options.includes(text) ? make('set', text) : fail(`"${clip(text)}" is not one of ${feature.options.join(', ')}`);
        case 'number': {
            if (attribute) break;
            const value = Number(text);
            if (text === '' || !Number.isFinite(value) || value < feature.min || value > feature.max) {
                return fail(`expected a number from ${feature.min} to ${feature.max}, got "${clip(text)}"`);
            }
            return make('set', value);
        }
        case 'button':
            if (attribute) break;
            return text === 'PRESS' ? make('press') : fail(`expected PRESS, got "${clip(text)}"`);
        case 'update':
            if (attribute || !feature.installable) break;
            return text === 'install' ? make('install') : fail(`expected install, got "${clip(text)}"`);
        default:
            break;
    }
    return fail(`${feature.kind} "${feature.id}" takes no command${attribute ? ` on "${attribute}"` : ''}`);
}

function parseLight(text: string, modes: readonly string[], make: (action: string, value?: unknown) => ParsedCommand): ParsedCommand {
    let body: unknown;
    try {
        body = JSON.parse(text);
    } catch {
        return fail('light commands are JSON');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return fail('light commands are a JSON object');
    const input = body as Record<string, unknown>;
    const value: Partial<LightState> = {};
    if (input.state !== undefined) {
        if (input.state !== 'ON' && input.state !== 'OFF') return fail('"state" must be ON or OFF');
        value.on = input.state === 'ON';
    }
    if (input.brightness !== undefined) {
        const brightness = input.brightness;
        if (typeof brightness !== 'number' || !Number.isInteger(brightness) || brightness < 0 || brightness > 255) return fail('"brightness" must be 0–255');
        if (!modes.some((mode) => mode !== 'onoff')) return fail('this light has no brightness');
        value.brightness = brightness;
    }
    if (input.color !== undefined) {
        const color = input.color as {h?: unknown; s?: unknown} | null;
        if (!modes.includes('hs')) return fail('this light has no colour');
        if (typeof color?.h !== 'number' || typeof color.s !== 'number' || color.h < 0 || color.h > 360 || color.s < 0 || color.s > 100) {
            return fail('"color" must be {"h": 0–360, "s": 0–100}');
        }
        value.hs = {h: color.h, s: color.s};
        value.colorMode = 'hs';
    }
    if (input.color_temp !== undefined) {
        if (!modes.includes('color_temp')) return fail('this light has no colour temperature');
        if (typeof input.color_temp !== 'number' || input.color_temp < 1000 || input.color_temp > 20000) return fail('"color_temp" must be in kelvin');
        value.colorTempKelvin = input.color_temp;
        value.colorMode = 'color_temp';
    }
    if (Object.keys(value).length === 0) return fail('light command changes nothing');
    // HA sends only the attribute it changes; turning a light's brightness up also means "on".
    if (value.on === undefined) value.on = true;
    return make('set', value);
}

function fail(reason: string): ParsedCommand {
    return {ok: false, reason};
}

function clip(text: string): string {
    return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
