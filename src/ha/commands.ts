import {CommandError, type FanCommand, type FeatureCommand, type LightCommand, quote} from '../core/commands.js';
import {type Feature, type LightState, VACUUM_ACTIONS, type VacuumAction} from '../core/device.js';
import {isPlainObject} from '../util/plain-object.js';
import {CLEAN_SEGMENTS_ATTRIBUTE} from './topics.js';

const MAX_PAYLOAD = 4096;

/**
 * A message on `<base>/<device>/<feature>[/<attribute>]/set` → the typed command it asks for.
 * Only HA's wire format is read here (ON/OFF, the JSON light schema, `oscillate_on`, …); whether
 * the values fit the feature is the core's check. Throws a CommandError saying what was wrong.
 */
export function decodeCommand(feature: Feature, attribute: string | null, payload: Buffer): FeatureCommand {
    if (payload.length > MAX_PAYLOAD) throw new CommandError(`payload of ${payload.length} bytes is too large`);
    const text = payload.toString('utf8').trim();

    switch (feature.kind) {
        case 'switch':
            if (attribute) break;
            return {kind: 'switch', on: onOff(text)};
        case 'vacuum':
            if (attribute === 'fan_speed') return {kind: 'vacuum', action: 'set_fan_speed', fanSpeed: text};
            if (attribute === CLEAN_SEGMENTS_ATTRIBUTE) return {kind: 'vacuum', action: 'clean_segments', segments: decodeSegmentIds(text)};
            if (attribute) break;
            if (!(VACUUM_ACTIONS as readonly string[]).includes(text)) throw new CommandError(`unsupported vacuum command ${quote(text)}`);
            return {kind: 'vacuum', action: text as VacuumAction};
        case 'light':
            if (attribute) break;
            return decodeLight(text);
        case 'fan': {
            const change = decodeFan(attribute, text);
            if (change) return {kind: 'fan', change};
            break;
        }
        case 'select':
            if (attribute) break;
            return {kind: 'select', option: text};
        case 'number':
            if (attribute) break;
            return {kind: 'number', value: decodeNumber(text)};
        case 'button':
            if (attribute) break;
            if (text !== 'PRESS') throw new CommandError(`expected PRESS, got ${quote(text)}`);
            return {kind: 'button', action: 'press'};
        case 'update':
            if (attribute) break;
            if (text !== 'install') throw new CommandError(`expected install, got ${quote(text)}`);
            return {kind: 'update', action: 'install'};
        default:
            break;
    }
    throw new CommandError(`${feature.kind} "${feature.id}" takes no command${attribute ? ` on "${attribute}"` : ''}`);
}

function onOff(text: string): boolean {
    const upper = text.toUpperCase();
    if (upper === 'ON' || upper === 'OFF') return upper === 'ON';
    throw new CommandError(`expected ON or OFF, got ${quote(text)}`);
}

/** HA sends the segment ids as a JSON list of strings (`["16","17"]`); numbers are read as their text. */
function decodeSegmentIds(text: string): string[] {
    let body: unknown;
    try {
        body = JSON.parse(text);
    } catch {
        throw new CommandError(`segment ids are a JSON list such as ["16","17"], got ${quote(text)}`);
    }
    if (!Array.isArray(body)) throw new CommandError(`segment ids are a JSON list such as ["16","17"], got ${quote(text)}`);
    return body.map((id) => {
        if (typeof id === 'string') return id;
        if (Number.isInteger(id)) return String(id);
        throw new CommandError(`a segment id is a string, got ${quote(id)}`);
    });
}

function decodeNumber(text: string): number {
    const value = Number(text);
    // Number('') is 0: an empty payload is no number.
    if (text === '' || Number.isNaN(value)) throw new CommandError(`expected a number, got ${quote(text)}`);
    return value;
}

/** One fan attribute per topic; null for an attribute HA's fan schema does not have. */
function decodeFan(attribute: string | null, text: string): FanCommand['change'] | null {
    switch (attribute) {
        case null:
            return {on: onOff(text)};
        case 'percentage': {
            const percentage = decodeNumber(text);
            // HA sends 0 for "off" and expects the fan to remember its speed for the next "on".
            return percentage === 0 ? {on: false} : {on: true, percentage};
        }
        case 'preset_mode':
            return {presetMode: text};
        case 'direction':
            if (text !== 'forward' && text !== 'reverse') throw new CommandError('direction must be forward or reverse');
            return {direction: text};
        case 'oscillation':
            if (text !== 'oscillate_on' && text !== 'oscillate_off') throw new CommandError('oscillation must be oscillate_on or oscillate_off');
            return {oscillating: text === 'oscillate_on'};
        default:
            return null;
    }
}

/** HA's JSON light schema: `state`, `brightness`, `color: {h, s}`, `color_temp` in kelvin. */
function decodeLight(text: string): LightCommand {
    let body: unknown;
    try {
        body = JSON.parse(text);
    } catch {
        throw new CommandError('light commands are JSON');
    }
    if (!isPlainObject(body)) throw new CommandError('light commands are a JSON object');
    const change: Partial<LightState> = {};
    if (body.state !== undefined) {
        if (body.state !== 'ON' && body.state !== 'OFF') throw new CommandError('"state" must be ON or OFF');
        change.on = body.state === 'ON';
    }
    if (body.brightness !== undefined) {
        if (typeof body.brightness !== 'number') throw new CommandError(`brightness must be a number, got ${quote(body.brightness)}`);
        change.brightness = body.brightness;
    }
    if (body.color !== undefined) {
        const color = body.color;
        if (!isPlainObject(color) || typeof color.h !== 'number' || typeof color.s !== 'number') throw new CommandError('"color" must be {"h": 0–360, "s": 0–100}');
        change.hs = {h: color.h, s: color.s};
        change.colorMode = 'hs';
    }
    if (body.color_temp !== undefined) {
        if (typeof body.color_temp !== 'number') throw new CommandError('"color_temp" must be in kelvin');
        change.colorTempKelvin = body.color_temp;
        change.colorMode = 'color_temp';
    }
    if (Object.keys(change).length === 0) throw new CommandError('light command changes nothing');
    // HA sends only the attribute it changes; turning a light's brightness up also means "on".
    return {kind: 'light', change: {...change, on: change.on ?? true}};
}
