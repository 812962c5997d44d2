/** The adapter with a fake bot link: bot messages → the normalised device, commands → JSON commands. */
import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';

import {beforeEach, describe, expect, it} from 'vitest';

import {EventBus} from '../../src/core/bus.js';
import type {VacuumState} from '../../src/core/device.js';
import {DeviceRegistry} from '../../src/core/registry.js';
import {CommandRouter} from '../../src/core/router.js';
import {ecovacsDeviceId, EcovacsAdapter} from '../../src/families/ecovacs/adapter.js';
import {answerOf, buildBotMessage, type EcoBody, type EcoCommand} from '../../src/families/ecovacs/codec.js';
import {atrTopic} from '../../src/families/ecovacs/topics.js';
import {waitFor} from '../support/net.js';

const BOT = {id: 'E0001234', cls: 'ls1ok3', resource: 'wC3g', serial: 'E0001234SERIAL'};
const ID = ecovacsDeviceId(BOT.id);

const REPLIES: Record<string, unknown> = {
    getBattery: {value: 87, isLow: 0},
    getChargeState: {isCharging: 1, mode: 'slot'},
    getCleanInfo: {trigger: 'workComplete', state: 'idle'},
    getSpeed: {speed: 0},
    getError: {code: [0]},
    getStats: {area: 12, time: 600, type: 'auto'},
    getWaterInfo: {enable: 1, amount: 2},
    getCachedMapInfo: {enable: 1, info: [{mid: '42', using: 1}]},
    getMapSet: {type: 'ar', mid: '42', msid: '1', subsets: [{mssid: '0', subtype: '1'}, {mssid: '1', name: 'Office', subtype: '15'}]},
    getLifeSpan: [{type: 'brush', left: 9000, total: 18000}, {type: 'heap', left: 7200, total: 7200}],
};

let registry: DeviceRegistry;
let router: CommandRouter;
let adapter: EcovacsAdapter;
let sent: EcoCommand[];
let events: {eventType: string; attributes: Record<string, unknown>}[];
let answer: (command: EcoCommand) => EcoBody;

beforeEach(async () => {
    const bus = new EventBus();
    registry = new DeviceRegistry({file: path.join(mkdtempSync(path.join(tmpdir(), 'fogbridge-ecovacs-')), 'registry.json'), bus});
    await registry.load();
    router = new CommandRouter(registry);
    sent = [];
    events = [];
    bus.on('event', (event) => events.push(event));
    answer = (command) => (command.name in REPLIES ? {code: 0, msg: 'ok', data: REPLIES[command.name]} : {code: 0, msg: 'ok'});
    adapter = new EcovacsAdapter({
        registry,
        router,
        link: {send: async (_did, command) => (sent.push(command), answerOf(command.name, answer(command)))},
        pollIntervalSeconds: 60,
        lifespanPollMinutes: 30,
    });
    adapter.start();
    adapter.botConnected(BOT);
    await waitFor(() => (registry.get(ID)?.extra.bot as {rooms?: unknown[]} | undefined)?.rooms?.length, 2000, 'the rooms');
});

const push = (event: string, data: unknown) => adapter.handleAtr(atrTopic({event, bot: BOT, format: 'j'}), JSON.stringify(buildBotMessage(data, 0, null)));
const vacuum = () => registry.get(ID)!.state.vacuum as VacuumState;

describe('EcovacsAdapter', () => {
    it('describes a connected bot from what it reports', () => {
        const device = registry.get(ID)!;
        expect(device.link.online).toBe(true);
        expect(device.facts).toMatchObject({manufacturer: 'Ecovacs', model: 'DEEBOT (ls1ok3)'});
        const ids = device.features.map((feature) => feature.id);
        expect(ids).toEqual(expect.arrayContaining(['vacuum', 'battery', 'charging', 'error', 'clean_area', 'main_brush_left', 'main_brush_reset', 'filter_left', 'water_level', 'mop_attached', 'event']));
        expect(ids).not.toContain('side_brush_left');
        expect(device.state).toMatchObject({battery: 87, charging: true, vacuum: {activity: 'docked', fanSpeed: 'normal'}, main_brush_left: 50, filter_left: 100, water_level: 'medium', mop_attached: true, clean_area: 12, clean_time: 600, error: 'none'});
        expect(device.extra.bot).toMatchObject({mapId: '42', rooms: [{id: '0', name: 'Living Room'}, {id: '1', name: 'Office'}]});
        expect(adapter.listBots()).toEqual([{did: 'E0001234', cls: 'ls1ok3', resource: 'wC3g', name: 'E0001234SERIAL', nick: device.facts.name, online: true}]);
    });

    it('follows the atr pushes through the states of §5.3', () => {
        push('onCleanInfo', {trigger: 'app', state: 'clean', cleanState: {type: 'auto', motionState: 'working'}});
        expect(vacuum()).toEqual({activity: 'cleaning', fanSpeed: 'normal', segments: {'0': 'Living Room', '1': 'Office'}});
        push('onCleanInfo', {trigger: 'app', state: 'clean', cleanState: {motionState: 'pause'}});
        expect(vacuum().activity).toBe('paused');
        push('onError', {code: [105]});
        expect(registry.get(ID)!.state).toMatchObject({vacuum: {activity: 'error'}, error: 'stuck', error_code: 105});
        expect(events).toContainEqual(expect.objectContaining({eventType: 'error', attributes: {code: 105, error: 'stuck'}}));
        push('onCleanInfo', {trigger: 'app', state: 'goCharging'});
        expect(vacuum().activity).toBe('returning');
        push('reportStats', {cid: '1', type: 'auto', stop: 1, area: 24, time: 1736, start: '1', stopReason: 3});
        expect(events).toContainEqual(expect.objectContaining({eventType: 'job_finished', attributes: expect.objectContaining({area: 24, seconds: 1736})}));
        expect(adapter.cleanLogs('E0001234')[0]).toMatchObject({area: 24, last: 1736});
        push('onChargeState', {isCharging: 1});
        expect(vacuum().activity).toBe('docked');
        push('onBattery', {value: 64, isLow: 0});
        expect(registry.get(ID)!.state.battery).toBe(64);
    });

    it('counts a broken push as a bad packet and ignores bots that never connected', () => {
        adapter.handleAtr(atrTopic({event: 'onBattery', bot: BOT, format: 'j'}), '{"body":');
        expect(registry.get(ID)!.link.badPackets).toBe(1);
        adapter.handleAtr(atrTopic({event: 'onBattery', bot: {...BOT, id: 'E9999'}, format: 'j'}), '{}');
        expect(registry.has(ecovacsDeviceId('E9999'))).toBe(false);
    });

    it('turns vacuum commands into the JSON commands of §5.2', async () => {
        sent.length = 0;
        await router.route(ID, 'vacuum', {kind: 'vacuum', action: 'start'});
        expect(sent[0]).toEqual({name: 'clean', data: {act: 'start', type: 'auto'}});
        push('onCleanInfo', {trigger: 'app', state: 'clean', cleanState: {motionState: 'pause'}});
        await router.route(ID, 'vacuum', {kind: 'vacuum', action: 'start'});
        expect(sent.at(-1)?.name === 'getCleanInfo' ? sent.at(-2) : sent.at(-1)).toEqual({name: 'clean', data: {act: 'resume'}});
        sent.length = 0;
        await router.route(ID, 'vacuum', {kind: 'vacuum', action: 'locate'});
        await router.route(ID, 'vacuum', {kind: 'vacuum', action: 'set_fan_speed', fanSpeed: 'max'});
        await router.route(ID, 'water_level', {kind: 'select', option: 'high'});
        await router.route(ID, 'main_brush_reset', {kind: 'button', action: 'press'});
        expect(sent).toEqual(expect.arrayContaining([
            {name: 'playSound', data: {count: 1, sid: 30}},
            {name: 'setSpeed', data: {speed: 1}},
            {name: 'setWaterInfo', data: {amount: 3}},
            {name: 'resetLifeSpan', data: {type: 'brush'}},
        ]));
    });

    it('speaks clean_V2 to bots that report clean info as V2', async () => {
        push('onCleanInfo_V2', {trigger: 'app', state: 'idle'});
        sent.length = 0;
        await router.route(ID, 'vacuum', {kind: 'vacuum', action: 'start'});
        expect(sent[0]).toEqual({name: 'clean_V2', data: {act: 'start', content: {type: 'auto'}}});
    });

    it('reads charge 30007 as docked, and reports refusals and offline bots', async () => {
        push('onCleanInfo', {trigger: 'app', state: 'idle'});
        answer = (command) => (command.name === 'charge' ? {code: '30007', msg: 'fail'} : {code: 0});
        await router.route(ID, 'vacuum', {kind: 'vacuum', action: 'return_to_base'});
        expect(vacuum().activity).toBe('docked');
        answer = () => ({code: 20003, msg: 'rcp not support'});
        await expect(router.route(ID, 'vacuum', {kind: 'vacuum', action: 'pause'})).rejects.toThrow('clean was refused by the bot: 20003 rcp not support');
        adapter.botDisconnected(BOT.id);
        expect(registry.get(ID)!.link.online).toBe(false);
        await expect(router.route(ID, 'vacuum', {kind: 'vacuum', action: 'start'})).rejects.toThrow('offline');
    });

    it('declares the bot\'s rooms as segments, named by the bot or the user, and cleans them as spotArea', async () => {
        expect(registry.get(ID)!.features.find((feature) => feature.id === 'vacuum')).toMatchObject({segments: true});
        expect(vacuum().segments).toEqual({'0': 'Living Room', '1': 'Office'});
        sent.length = 0;
        await router.route(ID, 'vacuum', {kind: 'vacuum', action: 'clean_segments', segments: ['1', '0']});
        expect(sent[0]).toEqual({name: 'clean', data: {act: 'start', type: 'spotArea', content: '1,0', count: 1}});
        await expect(router.route(ID, 'vacuum', {kind: 'vacuum', action: 'clean_segments', segments: ['7']})).rejects.toThrow('unknown segment "7"');

        push('onCleanInfo_V2', {trigger: 'app', state: 'idle'});
        sent.length = 0;
        await router.route(ID, 'vacuum', {kind: 'vacuum', action: 'clean_segments', segments: ['0']});
        expect(sent[0]).toEqual({name: 'clean_V2', data: {act: 'start', content: {type: 'spotArea', value: '0'}}});

        // A rename is the bridge's: kept offline, shown at once, and it survives the bot's next room list.
        adapter.botDisconnected(BOT.id);
        sent.length = 0;
        await router.route(ID, 'vacuum', {kind: 'vacuum', action: 'rename_segment', segment: '0', name: ' Lounge '});
        expect(sent).toEqual([]);
        expect(vacuum().segments).toEqual({'0': 'Lounge', '1': 'Office'});
        push('onMapSet', {type: 'ar', mid: '42', subsets: [{mssid: '0', subtype: '1'}, {mssid: '1', name: 'Office'}, {mssid: '2', subtype: '5'}]});
        expect(vacuum().segments).toEqual({'0': 'Lounge', '1': 'Office', '2': 'Kitchen'});
    });

    it('drops the segments when the map has no rooms any more', () => {
        push('onMapSet', {type: 'ar', mid: '43', subsets: []});
        expect(vacuum().segments).toBeUndefined();
        expect(registry.get(ID)!.features.find((feature) => feature.id === 'vacuum')).not.toHaveProperty('segments');
    });
});
