import {describe, expect, it} from 'vitest';

import {CommandError, type FeatureCommand} from '../../src/core/commands.js';
import type {Feature} from '../../src/core/device.js';
import {decodeCommand} from '../../src/ha/commands.js';
import {KITCHEN_SINK_FEATURES} from '../support/fake-family.js';

const feature = (id: string): Feature => KITCHEN_SINK_FEATURES.find((candidate) => candidate.id === id)!;

function decode(id: string, payload: string, attribute: string | null = null): FeatureCommand | string {
    try {
        return decodeCommand(feature(id), attribute, Buffer.from(payload));
    } catch (error) {
        expect(error).toBeInstanceOf(CommandError);
        return (error as Error).message;
    }
}

describe('decodeCommand: HA wire format → typed command', () => {
    it('reads ON/OFF, vacuum verbs, options, numbers, PRESS and install', () => {
        expect(decode('relay', 'ON')).toEqual({kind: 'switch', on: true});
        expect(decode('relay', 'maybe')).toBe('expected ON or OFF, got "maybe"');
        expect(decode('vacuum', 'return_to_base')).toEqual({kind: 'vacuum', action: 'return_to_base'});
        expect(decode('vacuum', 'self_destruct')).toBe('unsupported vacuum command "self_destruct"');
        expect(decode('vacuum', 'max', 'fan_speed')).toEqual({kind: 'vacuum', action: 'set_fan_speed', fanSpeed: 'max'});
        expect(decode('mode', 'turbo')).toEqual({kind: 'select', option: 'turbo'});
        expect(decode('volume', '101')).toEqual({kind: 'number', value: 101});
        expect(decode('volume', '')).toBe('expected a number, got ""');
        expect(decode('identify', 'PRESS')).toEqual({kind: 'button', action: 'press'});
        expect(decode('firmware', 'install')).toEqual({kind: 'update', action: 'install'});
        expect(decode('battery', '1')).toBe('sensor "battery" takes no command');
        expect(decode('relay', 'ON', 'brightness')).toBe('switch "relay" takes no command on "brightness"');
        expect(decode('relay', 'x'.repeat(4097))).toBe('payload of 4097 bytes is too large');
    });

    it('reads the segment ids HA sends for a room clean: a JSON list of strings', () => {
        expect(decode('vacuum', '["16","17"]', 'clean_segments')).toEqual({kind: 'vacuum', action: 'clean_segments', segments: ['16', '17']});
        expect(decode('vacuum', '[16]', 'clean_segments')).toEqual({kind: 'vacuum', action: 'clean_segments', segments: ['16']});
        expect(decode('vacuum', '16', 'clean_segments')).toBe('segment ids are a JSON list such as ["16","17"], got "16"');
        expect(decode('vacuum', 'kitchen', 'clean_segments')).toBe('segment ids are a JSON list such as ["16","17"], got "kitchen"');
        expect(decode('vacuum', '[{"id":16}]', 'clean_segments')).toBe('a segment id is a string, got {"id":16}');
        expect(decode('vacuum', '[1.5]', 'clean_segments')).toBe('a segment id is a string, got 1.5');
    });

    it('reads the JSON light schema; any change but "off" also means "on"', () => {
        expect(decode('lamp', '{"color":{"h":120,"s":50}}')).toEqual({kind: 'light', change: {on: true, hs: {h: 120, s: 50}, colorMode: 'hs'}});
        expect(decode('lamp', '{"state":"OFF"}')).toEqual({kind: 'light', change: {on: false}});
        expect(decode('lamp', '{"color_temp":3000}')).toEqual({kind: 'light', change: {on: true, colorTempKelvin: 3000, colorMode: 'color_temp'}});
        expect(decode('lamp', 'ON')).toBe('light commands are JSON');
        expect(decode('lamp', '{}')).toBe('light command changes nothing');
        expect(decode('lamp', '{"brightness":"high"}')).toBe('brightness must be a number, got "high"');
    });

    it('reads fan attributes: percentage 0 is off, oscillate_on', () => {
        expect(decode('fan', '0', 'percentage')).toEqual({kind: 'fan', change: {on: false}});
        expect(decode('fan', '40', 'percentage')).toEqual({kind: 'fan', change: {on: true, percentage: 40}});
        expect(decode('fan', 'oscillate_on', 'oscillation')).toEqual({kind: 'fan', change: {oscillating: true}});
        expect(decode('fan', 'sideways', 'direction')).toBe('direction must be forward or reverse');
        expect(decode('fan', 'auto', 'preset_mode')).toEqual({kind: 'fan', change: {presetMode: 'auto'}});
        expect(decode('fan', '1', 'speed')).toBe('fan "fan" takes no command on "speed"');
    });
});
