/**
 * The web UI's command format: a FeatureCommand as JSON (`{"kind":"switch","on":true}`). Only the
 * keys a command of the feature's kind has are taken over, so nothing else the browser sent reaches
 * an adapter; values and ranges are the core's to check (`validateCommand`).
 */
import {CommandError, type FanCommand, type FeatureCommand, type LightCommand, type VacuumCommand, quote} from '../core/commands.js';
import type {Feature} from '../core/device.js';
import {isPlainObject} from '../util/plain-object.js';

const LIGHT_KEYS = ['on', 'brightness', 'colorMode', 'hs', 'colorTempKelvin'] as const;
const FAN_KEYS = ['on', 'percentage', 'presetMode', 'direction', 'oscillating'] as const;

export function decodeWebCommand(body: unknown, feature: Feature): FeatureCommand {
    if (!isPlainObject(body)) throw new CommandError('a command is a JSON object such as {"kind": "switch", "on": true}');
    if (body.kind !== feature.kind) throw new CommandError(`${feature.kind} "${feature.id}" takes "kind": "${feature.kind}", not ${quote(body.kind)}`);
    // The values are whatever the browser sent, typed only by these casts: validateCommand checks them next.
    switch (feature.kind) {
        case 'vacuum':
            if (body.action === 'set_fan_speed') return {kind: 'vacuum', action: 'set_fan_speed', fanSpeed: body.fanSpeed} as VacuumCommand;
            if (body.action === 'clean_segments') return {kind: 'vacuum', action: 'clean_segments', segments: body.segments} as VacuumCommand;
            if (body.action === 'rename_segment') return {kind: 'vacuum', action: 'rename_segment', segment: body.segment, name: body.name} as VacuumCommand;
            return {kind: 'vacuum', action: body.action} as VacuumCommand;
        case 'switch':
            return {kind: 'switch', on: body.on as boolean};
        case 'light':
            return {kind: 'light', change: {...pick(body, LIGHT_KEYS), on: body.on}} as LightCommand;
        case 'fan':
            return {kind: 'fan', change: pick(body, FAN_KEYS)} as FanCommand;
        case 'select':
            return {kind: 'select', option: body.option as string};
        case 'number':
            return {kind: 'number', value: body.value as number};
        case 'button':
            return {kind: 'button', action: 'press'};
        case 'update':
            return {kind: 'update', action: 'install'};
        default:
            throw new CommandError(`${feature.kind} "${feature.id}" takes no command`);
    }
}

function pick(body: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const key of keys) if (body[key] !== undefined) out[key] = body[key];
    return out;
}
