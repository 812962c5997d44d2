import {describe, expect, it} from 'vitest';

import {CommandError, type FeatureCommand, validateCommand} from '../../src/core/commands.js';
import type {Feature, FeatureValue} from '../../src/core/device.js';

const features = {
    vacuum: {id: 'vacuum', kind: 'vacuum', name: null, commands: ['start', 'return_to_base'], fanSpeeds: ['quiet', 'max']},
    bareVacuum: {id: 'vacuum', kind: 'vacuum', name: null, commands: ['start']},
    roomVacuum: {id: 'vacuum', kind: 'vacuum', name: null, commands: ['start'], segments: true},
    relay: {id: 'relay', kind: 'switch', name: {text: 'Relay'}},
    lamp: {id: 'lamp', kind: 'light', name: {text: 'Lamp'}, colorModes: ['hs', 'color_temp'], minKelvin: 2700, maxKelvin: 6500},
    dimmer: {id: 'dimmer', kind: 'light', name: {text: 'Dimmer'}, colorModes: ['brightness']},
    bulb: {id: 'bulb', kind: 'light', name: {text: 'Bulb'}, colorModes: ['onoff']},
    fan: {id: 'fan', kind: 'fan', name: {text: 'Fan'}, presetModes: ['auto'], direction: true},
    plainFan: {id: 'fan', kind: 'fan', name: {text: 'Fan'}},
    mode: {id: 'mode', kind: 'select', name: {text: 'Mode'}, options: ['eco', 'normal']},
    volume: {id: 'volume', kind: 'number', name: {text: 'Volume'}, min: 0, max: 100},
    temperature: {id: 'temperature', kind: 'number', name: {text: 'Target'}, min: 16, max: 30, step: 0.5},
    identify: {id: 'identify', kind: 'button', name: {text: 'Identify'}},
    firmware: {id: 'firmware', kind: 'update', name: {text: 'Firmware'}, installable: true},
    readOnlyFirmware: {id: 'firmware', kind: 'update', name: {text: 'Firmware'}, installable: false},
    battery: {id: 'battery', kind: 'sensor', name: {text: 'Battery'}},
} satisfies Record<string, Feature>;

/** The reason a command is refused, or null when it is accepted. */
function refusal(feature: Feature, command: FeatureCommand, value: FeatureValue = null): string | null {
    try {
        validateCommand(feature, command, value);
        return null;
    } catch (error) {
        expect(error).toBeInstanceOf(CommandError);
        return (error as Error).message;
    }
}

/** A command as an intake might build it from JSON it did not check. */
const unchecked = (command: Record<string, unknown>): FeatureCommand => command as unknown as FeatureCommand;

describe('validateCommand', () => {
    it('refuses a command of another kind, and any command for a read-only feature', () => {
        expect(refusal(features.relay, {kind: 'button', action: 'press'})).toBe('switch "relay" takes switch commands, not button');
        expect(refusal(features.battery, {kind: 'number', value: 1})).toBe('sensor "battery" takes no command');
    });

    it('vacuum: declared commands and fan speeds only', () => {
        expect(refusal(features.vacuum, {kind: 'vacuum', action: 'start'})).toBeNull();
        expect(refusal(features.vacuum, {kind: 'vacuum', action: 'set_fan_speed', fanSpeed: 'max'})).toBeNull();
        expect(refusal(features.vacuum, {kind: 'vacuum', action: 'locate'})).toBe('unsupported vacuum command "locate"');
        expect(refusal(features.vacuum, unchecked({kind: 'vacuum', action: 'self_destruct'}))).toBe('unsupported vacuum command "self_destruct"');
        expect(refusal(features.vacuum, {kind: 'vacuum', action: 'set_fan_speed', fanSpeed: 'warp'})).toBe('unknown fan speed "warp": one of quiet, max');
        expect(refusal(features.bareVacuum, {kind: 'vacuum', action: 'set_fan_speed', fanSpeed: 'max'})).toBe('unknown fan speed "max" (this vacuum has no fan speeds)');
    });

    it('vacuum rooms: ids of the rooms the vacuum reported, each once; names of 1–64 characters', () => {
        const rooms = {activity: 'docked', segments: {'16': 'Kitchen', '17': 'Hall'}} as const;
        const clean = (segments: unknown): FeatureCommand => unchecked({kind: 'vacuum', action: 'clean_segments', segments});
        expect(refusal(features.roomVacuum, clean(['17', '16']), rooms)).toBeNull();
        expect(refusal(features.roomVacuum, clean(['18']), rooms)).toBe('unknown segment "18": one of 16, 17');
        expect(refusal(features.roomVacuum, clean(['16']), null)).toBe('unknown segment "16": the vacuum has reported no rooms yet');
        expect(refusal(features.roomVacuum, clean([16]), rooms)).toBe('unknown segment 16: one of 16, 17');
        expect(refusal(features.roomVacuum, clean(['constructor']), rooms)).toBe('unknown segment "constructor": one of 16, 17');
        expect(refusal(features.roomVacuum, clean(['16', '16']), rooms)).toBe('segment "16" is listed twice');
        expect(refusal(features.roomVacuum, clean([]), rooms)).toBe('clean_segments needs a non-empty list of segment ids');
        expect(refusal(features.roomVacuum, clean('16'), rooms)).toBe('clean_segments needs a non-empty list of segment ids');
        expect(refusal(features.roomVacuum, clean(Array.from({length: 65}, (_, index) => String(index))), rooms)).toBe('at most 64 segments at once, got 65');
        expect(refusal(features.bareVacuum, clean(['16']), rooms)).toBe('vacuum "vacuum" cannot clean single rooms');

        const rename = (segment: unknown, name: unknown): FeatureCommand => unchecked({kind: 'vacuum', action: 'rename_segment', segment, name});
        expect(refusal(features.roomVacuum, rename('16', 'Küche'), rooms)).toBeNull();
        expect(refusal(features.roomVacuum, rename('18', 'Bath'), rooms)).toBe('unknown segment "18": one of 16, 17');
        expect(refusal(features.roomVacuum, rename('16', '  '), rooms)).toBe('a room name is 1–64 characters, got "  "');
        expect(refusal(features.roomVacuum, rename('16', 'x'.repeat(65)), rooms)).toMatch(/^a room name is 1–64 characters/);
    });

    it('switch: true or false', () => {
        expect(refusal(features.relay, {kind: 'switch', on: false})).toBeNull();
        expect(refusal(features.relay, unchecked({kind: 'switch', on: 'ON'}))).toBe('switch "relay" takes true or false, not "ON"');
    });

    it('light: only the attributes its colour modes allow, within range', () => {
        expect(refusal(features.lamp, {kind: 'light', change: {on: true, hs: {h: 120, s: 50}, colorMode: 'hs'}})).toBeNull();
        expect(refusal(features.lamp, {kind: 'light', change: {on: true, brightness: 255, colorTempKelvin: 2700, colorMode: 'color_temp'}})).toBeNull();
        expect(refusal(features.dimmer, {kind: 'light', change: {on: true, brightness: 0}})).toBeNull();
        expect(refusal(features.bulb, {kind: 'light', change: {on: false}})).toBeNull();

        expect(refusal(features.bulb, {kind: 'light', change: {on: true, brightness: 10}})).toBe('this light has no brightness');
        expect(refusal(features.dimmer, {kind: 'light', change: {on: true, brightness: 256}})).toBe('brightness must be a number from 0 to 255, got 256');
        expect(refusal(features.dimmer, unchecked({kind: 'light', change: {on: true, brightness: 'bright'}}))).toBe('brightness must be a number from 0 to 255, got "bright"');
        expect(refusal(features.dimmer, {kind: 'light', change: {on: true, hs: {h: 1, s: 1}}})).toBe('this light has no colour');
        expect(refusal(features.lamp, {kind: 'light', change: {on: true, hs: {h: 361, s: 1}}})).toBe('"color" must be {"h": 0–360, "s": 0–100}');
        expect(refusal(features.dimmer, {kind: 'light', change: {on: true, colorTempKelvin: 3000}})).toBe('this light has no colour temperature');
        expect(refusal(features.lamp, {kind: 'light', change: {on: true, colorTempKelvin: 2000}})).toBe('colour temperature must be 2700–6500 K, got 2000');
        expect(refusal(features.dimmer, {kind: 'light', change: {on: true, colorMode: 'hs'}})).toBe('this light has no colour mode "hs"');
        expect(refusal(features.dimmer, unchecked({kind: 'light', change: {brightness: 10}}))).toBe('"on" must be true or false, not undefined');
    });

    it('fan: percentage in range, declared presets, direction only if declared', () => {
        expect(refusal(features.fan, {kind: 'fan', change: {on: true, percentage: 40}})).toBeNull();
        expect(refusal(features.fan, {kind: 'fan', change: {presetMode: 'auto'}})).toBeNull();
        expect(refusal(features.fan, {kind: 'fan', change: {direction: 'reverse'}})).toBeNull();

        expect(refusal(features.fan, {kind: 'fan', change: {}})).toBe('fan command changes nothing');
        expect(refusal(features.fan, {kind: 'fan', change: {on: true, percentage: 101}})).toBe('percentage must be 0–100, got 101');
        expect(refusal(features.fan, {kind: 'fan', change: {on: true, percentage: 12.5}})).toBe('percentage must be 0–100, got 12.5');
        expect(refusal(features.fan, {kind: 'fan', change: {presetMode: 'turbo'}})).toBe('unknown preset mode "turbo"');
        expect(refusal(features.plainFan, {kind: 'fan', change: {direction: 'forward'}})).toBe('this fan has no direction');
        expect(refusal(features.fan, unchecked({kind: 'fan', change: {direction: 'up'}}))).toBe('direction must be forward or reverse');
        expect(refusal(features.fan, {kind: 'fan', change: {oscillating: true}})).toBe('this fan does not oscillate');
    });

    it('select: one of the options', () => {
        expect(refusal(features.mode, {kind: 'select', option: 'normal'})).toBeNull();
        expect(refusal(features.mode, {kind: 'select', option: 'turbo'})).toBe('"turbo" is not one of eco, normal');
    });

    it('number: within min and max, on the step when one is declared', () => {
        expect(refusal(features.volume, {kind: 'number', value: 100})).toBeNull();
        expect(refusal(features.volume, {kind: 'number', value: 33.3})).toBeNull();
        expect(refusal(features.volume, {kind: 'number', value: 101})).toBe('expected a number from 0 to 100, got 101');
        expect(refusal(features.volume, {kind: 'number', value: Number.NaN})).toBe('expected a number from 0 to 100, got NaN');
        expect(refusal(features.temperature, {kind: 'number', value: 21.5})).toBeNull();
        expect(refusal(features.temperature, {kind: 'number', value: 21.2})).toBe('21.2 is not 16 plus a multiple of 0.5');
    });

    it('button: a press; update: an install, if the update is installable', () => {
        expect(refusal(features.identify, {kind: 'button', action: 'press'})).toBeNull();
        expect(refusal(features.firmware, {kind: 'update', action: 'install'})).toBeNull();
        expect(refusal(features.readOnlyFirmware, {kind: 'update', action: 'install'})).toBe('update "firmware" cannot be installed from here');
    });
});
