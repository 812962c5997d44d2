import {describe, expect, it} from 'vitest';

import type {VacuumCommand} from '../../src/core/commands.js';
import {ChuangmiPlug} from '../../src/families/miio/models/chuangmi-plug.js';
import {createModel} from '../../src/families/miio/models/index.js';
import {fanPresets, RoborockVacuum} from '../../src/families/miio/models/roborock-vacuum.js';

/** Records the requests a model sends and answers them from a table. */
function fakeDevice(answers: Record<string, unknown>): {calls: [string, unknown][]; call: (method: string, params: unknown) => Promise<unknown>} {
    const calls: [string, unknown][] = [];
    return {
        calls,
        call: async (method, params) => {
            calls.push([method, params]);
            if (!(method in answers)) return 'unknown_method';
            return answers[method];
        },
    };
}

// V11's status object (protocol note §2).
const V11_STATUS = {msg_ver: 2, msg_seq: 28, state: 5, battery: 95, clean_time: 606, clean_area: 8115000, error_code: 0, map_present: 1, in_cleaning: 1, in_returning: 0, in_fresh_state: 0, lab_status: 1, water_box_status: 0, fan_power: 102, dnd_enabled: 0, map_status: 3, lock_status: 0};

describe('Roborock vacuum', () => {
    it('describes the features HA needs', () => {
        const features = new RoborockVacuum('roborock.vacuum.s5').features();
        expect(features.find((feature) => feature.id === 'vacuum')).toEqual({
            id: 'vacuum',
            kind: 'vacuum',
            name: null,
            commands: ['start', 'stop', 'pause', 'return_to_base', 'locate', 'clean_spot'],
            fanSpeeds: ['low', 'medium', 'high', 'max', 'off'],
            segments: true,
        });
        // The first generation cleans no single rooms.
        expect(new RoborockVacuum('rockrobo.vacuum.v1').features()[0]).not.toHaveProperty('segments');
        expect(features.find((feature) => feature.id === 'battery')).toEqual({id: 'battery', kind: 'sensor', name: {key: 'battery'}, deviceClass: 'battery', unit: '%', stateClass: 'measurement'});
        expect(features.find((feature) => feature.id === 'fan_speed')).toMatchObject({kind: 'select', options: ['low', 'medium', 'high', 'max', 'off']});
        expect(features.find((feature) => feature.id === 'error')).toMatchObject({kind: 'sensor', deviceClass: 'enum'});
        expect(features.find((feature) => feature.id === 'clean_area')).toMatchObject({deviceClass: 'area', unit: 'm²'});
        expect(features.find((feature) => feature.id === 'clean_time')).toMatchObject({deviceClass: 'duration', unit: 's'});
        expect(features.find((feature) => feature.id === 'main_brush_left')).toMatchObject({unit: '%', entityCategory: 'diagnostic'});
        expect(features.find((feature) => feature.id === 'event')).toMatchObject({kind: 'event', eventTypes: expect.arrayContaining(['back_to_dock', 'clean_complete', 'other'])});
        // Every enum state value must be one of its options.
        for (const feature of features) if (feature.kind === 'sensor' && feature.deviceClass === 'enum') expect(new Set(feature.options).size).toBe(feature.options!.length);
    });

    it('reads get_status (V11) and the consumables', async () => {
        const vacuum = new RoborockVacuum('roborock.vacuum.s5');
        const device = fakeDevice({get_status: [V11_STATUS], get_consumable: [{main_brush_work_time: 540_000, side_brush_work_time: 0, filter_work_time: 999_999_999, sensor_dirty_time: 54_000}]});
        const state = await vacuum.poll(device.call, {consumables: true});
        expect(state).toEqual({
            vacuum: {activity: 'cleaning', fanSpeed: 'medium'},
            fan_speed: 'medium',
            status: 'cleaning',
            battery: 95,
            error: 'none',
            error_code: 0,
            clean_time: 606,
            clean_area: 8.1,
            main_brush_left: 50,
            side_brush_left: 100,
            filter_left: 0,
            sensor_clean_left: 50,
        });
        // A firmware without rooms says unknown_method once and is not asked again.
        expect(device.calls.map(([method]) => method)).toEqual(['get_status', 'get_room_mapping', 'get_consumable']);
        await vacuum.poll(device.call, {consumables: false});
        expect(device.calls.map(([method]) => method).slice(3)).toEqual(['get_status']);
    });

    it('reads the rooms with get_room_mapping, names them, and reads them again when the map changes', async () => {
        const names: Record<string, string> = {'16': 'Kitchen'};
        const vacuum = new RoborockVacuum('roborock.vacuum.s5', undefined, (id) => names[id]);
        const device = fakeDevice({get_status: [V11_STATUS], get_room_mapping: [[16, '1100001'], [17, '1100002'], ['x', 'y'], [9999, 'z'], 'junk']});
        const state = await vacuum.poll(device.call, {consumables: false});
        expect(state.vacuum).toEqual({activity: 'cleaning', fanSpeed: 'medium', segments: {'16': 'Kitchen', '17': 'Room 17'}});
        await vacuum.poll(device.call, {consumables: false});
        expect(device.calls.map(([method]) => method)).toEqual(['get_status', 'get_room_mapping', 'get_status']);

        // segment_map_done, or another map_status, asks for a poll that reads the rooms again.
        expect(vacuum.applyPush('event.segment_map_done', []).pollNow).toBe(true);
        await vacuum.poll(device.call, {consumables: false});
        expect(device.calls.at(-1)?.[0]).toBe('get_room_mapping');
        expect(vacuum.applyPush('props', {map_status: 3}).pollNow).toBe(false);
        expect(vacuum.applyPush('props', {map_status: 7}).pollNow).toBe(true);

        names['17'] = 'Hall';
        expect(vacuum.roomNamesChanged()).toEqual({vacuum: {activity: 'cleaning', fanSpeed: 'medium', segments: {'16': 'Kitchen', '17': 'Hall'}}});
        // A pushed status keeps the rooms in the vacuum's state.
        expect(vacuum.applyPush('props', {state: 8}).state.vacuum).toMatchObject({activity: 'docked', segments: {'16': 'Kitchen', '17': 'Hall'}});
    });

    it('keeps the status when get_room_mapping times out, and asks again at the next poll', async () => {
        const vacuum = new RoborockVacuum('roborock.vacuum.s5');
        let fail = true;
        const call = async (method: string): Promise<unknown> => {
            if (method === 'get_status') return [V11_STATUS];
            if (fail) throw new Error('get_room_mapping got no answer');
            return [[16, '1']];
        };
        expect(await vacuum.poll(call, {consumables: false})).toMatchObject({status: 'cleaning', vacuum: {activity: 'cleaning'}});
        fail = false;
        expect((await vacuum.poll(call, {consumables: false})).vacuum).toMatchObject({segments: {'16': 'Room 16'}});
    });

    it('applies event.status (V8) and partial props pushes; unknown states keep the activity', () => {
        const vacuum = new RoborockVacuum('roborock.vacuum.s5');
        const v8 = {state: 8, msg_ver: 5, map_present: 0, error_code: 0, fan_power: 38, in_cleaning: 0, clean_time: 1127, msg_seq: 10, dnd_enabled: 1, battery: 100, clean_area: 23647500};
        expect(vacuum.applyPush('event.status', [v8]).state).toMatchObject({vacuum: {activity: 'docked'}, battery: 100, clean_area: 23.6, status: 'charging'});
        expect(vacuum.applyPush('props', {fan_power: 104}).state).toEqual({vacuum: {activity: 'docked', fanSpeed: 'max'}, fan_speed: 'max'});
        expect(vacuum.applyPush('props', {state: 77}).state).toEqual({vacuum: {activity: 'docked', fanSpeed: 'max'}, fan_speed: 'max', status: 'unknown'});
        expect(vacuum.applyPush('props', {error_code: 8, state: 12}).state).toMatchObject({error: 'robot_trapped', error_code: 8, vacuum: {activity: 'error'}});
        expect(vacuum.applyPush('props', {error_code: 111}).state).toMatchObject({error: 'hardware_fault'});
        expect(vacuum.applyPush('props', {error_code: 250}).state).toMatchObject({error: 'other'});
    });

    it('turns event.* pushes into events; unknown ones as "other" with the method', () => {
        const vacuum = new RoborockVacuum('roborock.vacuum.s5');
        expect(vacuum.applyPush('event.back_to_origin_succ', []).events).toEqual([{featureId: 'event', eventType: 'back_to_origin_succ', attributes: {params: []}}]);
        expect(vacuum.applyPush('event.new_thing', {a: 1}).events).toEqual([{featureId: 'event', eventType: 'other', attributes: {method: 'event.new_thing', params: {a: 1}}}]);
        expect(vacuum.applyPush('event.status', [{state: 8}]).events).toEqual([]);
    });

    it('turns commands into the right requests and checks the ack', async () => {
        const vacuum = new RoborockVacuum('roborock.vacuum.s5');
        const ok = ['ok'];
        const device = fakeDevice({app_start: ok, app_stop: ok, app_pause: ok, app_charge: ok, find_me: ok, app_spot: ok, set_custom_mode: ok, resume_zoned_clean: ok});
        for (const action of ['start', 'stop', 'pause', 'return_to_base', 'locate', 'clean_spot'] as const) await vacuum.command(device.call, 'vacuum', {kind: 'vacuum', action});
        await vacuum.command(device.call, 'vacuum', {kind: 'vacuum', action: 'set_fan_speed', fanSpeed: 'max'});
        await vacuum.command(device.call, 'fan_speed', {kind: 'select', option: 'low'});
        expect(device.calls).toEqual([
            ['app_start', []],
            ['app_stop', []],
            ['app_pause', []],
            ['app_charge', []],
            ['find_me', ['']],
            ['app_spot', []],
            ['set_custom_mode', [104]],
            ['set_custom_mode', [101]],
        ]);
        // A paused zone job resumes as a zone job.
        vacuum.applyPush('props', {state: 10, in_cleaning: 2});
        await vacuum.command(device.call, 'vacuum', {kind: 'vacuum', action: 'start'});
        expect(device.calls.at(-1)).toEqual(['resume_zoned_clean', []]);
        // A room job: the ids go out as the numbers the robot gave; a paused one resumes as a room job.
        const rooms = fakeDevice({app_segment_clean: ok, resume_segment_clean: ok});
        await vacuum.command(rooms.call, 'vacuum', {kind: 'vacuum', action: 'clean_segments', segments: ['17', '16']});
        vacuum.applyPush('props', {state: 10, in_cleaning: 3});
        await vacuum.command(rooms.call, 'vacuum', {kind: 'vacuum', action: 'start'});
        expect(rooms.calls).toEqual([
            ['app_segment_clean', [{segments: [17, 16], repeat: 1, clean_order_mode: 0}]],
            ['resume_segment_clean', []],
        ]);
        await expect(vacuum.command(device.call, 'vacuum', {kind: 'vacuum', action: 'set_fan_speed', fanSpeed: 'turbo'})).rejects.toThrow(/unknown fan speed "turbo": one of low/);
        await expect(vacuum.command(device.call, 'vacuum', {kind: 'vacuum', action: 'dance'} as unknown as VacuumCommand)).rejects.toThrow(/unknown vacuum command/);
        await expect(vacuum.command(fakeDevice({}).call, 'vacuum', {kind: 'vacuum', action: 'start'})).rejects.toThrow(/refused by the device: "unknown_method"/);
    });

    it('knows the fan presets per model and firmware', () => {
        expect(fanPresets('roborock.vacuum.s6')).toEqual([['low', 101], ['medium', 102], ['high', 103], ['max', 104], ['off', 105]]);
        expect(fanPresets('roborock.vacuum.a27').at(-1)).toEqual(['max_plus', 108]);
        expect(fanPresets('roborock.vacuum.e2')[0]).toEqual(['gentle', 41]);
        expect(fanPresets('rockrobo.vacuum.v1', '3.3.9_003077')).toEqual([['low', 38], ['medium', 60], ['high', 77], ['max', 90]]);
        expect(fanPresets('rockrobo.vacuum.v1', '3.5.7_001234')[0]).toEqual(['low', 101]);
        expect(fanPresets('rockrobo.vacuum.v1', '3.5.8_002034')).toEqual([['low', 38], ['medium', 60], ['high', 75], ['max', 100]]);
    });
});

describe('chuangmi plug', () => {
    it('m1: get_prop power/temperature, set_power on/off', async () => {
        const plug = new ChuangmiPlug('chuangmi.plug.m1');
        expect(plug.features().map((feature) => feature.id)).toEqual(['switch', 'temperature']);
        const device = fakeDevice({get_prop: ['on', 38], set_power: ['ok']});
        expect(await plug.poll(device.call)).toEqual({switch: true, temperature: 38});
        await plug.command(device.call, 'switch', {kind: 'switch', on: false});
        expect(device.calls).toEqual([['get_prop', ['power', 'temperature']], ['set_power', ['off']]]);
        expect(plug.applyPush('props', {power: 'on'}).state).toEqual({switch: true});
    });

    it('v1: boolean props, set_on/set_off and the USB switch', async () => {
        const plug = new ChuangmiPlug('chuangmi.plug.v1');
        expect(plug.features().map((feature) => feature.id)).toEqual(['switch', 'temperature', 'usb']);
        const device = fakeDevice({get_prop: [true, false, 32], set_on: ['ok'], set_usb_on: ['ok']});
        expect(await plug.poll(device.call)).toEqual({switch: true, usb: false, temperature: 32});
        await plug.command(device.call, 'switch', {kind: 'switch', on: true});
        await plug.command(device.call, 'usb', {kind: 'switch', on: true});
        expect(device.calls.slice(1)).toEqual([['set_on', []], ['set_usb_on', []]]);
    });

    it('v3: power meter in centiwatts and set_power', async () => {
        const plug = new ChuangmiPlug('chuangmi.plug.v3');
        expect(plug.features().map((feature) => feature.id)).toEqual(['switch', 'temperature', 'usb', 'power']);
        const device = fakeDevice({get_prop: [true, true, 40, 'on'], get_power: [300], set_power: ['ok']});
        expect(await plug.poll(device.call)).toEqual({switch: true, usb: true, temperature: 40, power: 3});
        await plug.command(device.call, 'switch', {kind: 'switch', on: false});
        expect(device.calls.at(-1)).toEqual(['set_power', ['off']]);
    });

    it('picks models by name', () => {
        expect(createModel('roborock.vacuum.s5')).toBeInstanceOf(RoborockVacuum);
        expect(createModel('chuangmi.plug.hmi206')).toBeInstanceOf(ChuangmiPlug);
        expect(createModel('yeelink.light.color1')).toBeNull();
    });
});
