import {describe, expect, it} from 'vitest';

import type {LightCommand} from '../../src/core/commands.js';
import {buildNodeModel, commandToParams, featureStates, featureId} from '../../src/families/rainmaker/config-to-features.js';
import {checkReport, parseNodeConfig, type RmNodeConfig} from '../../src/families/rainmaker/node-config.js';
import {compareVersions, parseImageName, progressFromInfo} from '../../src/families/rainmaker/ota.js';
import {mayPublish, maySubscribe, messageKind, parseNodeTopic} from '../../src/families/rainmaker/topics.js';
import {exampleConfig} from '../../src/simulate/rainmaker.js';

const N = '7CDFA1B2C3D4';
const options = {fanForwardDirection: 0 as const, temperatureUnit: '°C'};

describe('RainMaker topics', () => {
    it('normalises both publish forms to (node, suffix)', () => {
        expect(parseNodeTopic(`$aws/rules/esp_init_params/node/${N}/params/local/init`)).toEqual({nodeId: N, suffix: 'params/local/init', rule: 'esp_init_params'});
        expect(parseNodeTopic(`node/${N}/params/local`)).toEqual({nodeId: N, suffix: 'params/local', rule: null});
        expect(parseNodeTopic(`node/${N}`)).toBeNull();
        expect(parseNodeTopic(`node/${N}//x`)).toBeNull();
        expect(parseNodeTopic('$aws/rules/a b/node/X/config')).toBeNull();
        expect(messageKind('params/ts_data')).toBe('tsdata');
        expect(messageKind('params/local/group1')).toBe('params/local');
    });

    it('lets a node publish only in its own namespace', () => {
        expect(mayPublish(N, `node/${N}/params/local`)).toBe(true);
        expect(mayPublish(N, `$aws/rules/esp_node_config/node/${N}/config`)).toBe(true);
        expect(mayPublish(N, `$aws/things/${N}/streams/s1/get/cbor`)).toBe(true);
        expect(mayPublish(N, 'node/OTHERNODE/params/local')).toBe(false);
        expect(mayPublish(N, '$aws/rules/esp_node_config/node/OTHERNODE/config')).toBe(false);
        expect(mayPublish(N, `$aws/things/${N}`)).toBe(false);
        expect(mayPublish(N, 'fogbridge/x/state')).toBe(false);
    });

    it('lets a node subscribe only inside its own prefix', () => {
        expect(maySubscribe(N, `node/${N}/params/remote`)).toBe(true);
        expect(maySubscribe(N, `node/${N}/params/remote/+`)).toBe(true);
        expect(maySubscribe(N, '#')).toBe(false);
        expect(maySubscribe(N, 'node/+/params/remote')).toBe(false);
        expect(maySubscribe(N, 'node/#')).toBe(false);
        expect(maySubscribe(N, `node/${N}`)).toBe(false);
        expect(maySubscribe(N, 'node/OTHER/otaurl')).toBe(false);
        expect(maySubscribe(N, '$aws/rules/+/node/X/#')).toBe(false);
    });

    it('grants nothing to a certificate CN that is not one plain topic level', () => {
        // A CN of "+" would otherwise own the prefix node/+/, i.e. every node's commands.
        expect(maySubscribe('+', 'node/+/params/remote')).toBe(false);
        expect(maySubscribe('#', '$aws/things/#/x')).toBe(false);
        expect(maySubscribe('a/b', 'node/a/b/params/remote')).toBe(false);
        expect(mayPublish('+', 'node/+/params/local')).toBe(false);
        expect(mayPublish('a/b', '$aws/things/a/b/x')).toBe(false);
        expect(mayPublish('', 'node//config')).toBe(false);
    });
});

describe('RainMaker node config', () => {
    it('refuses a config that is not JSON, not the schema, or for another node', () => {
        expect(parseNodeConfig(Buffer.from('{"node_id":'), N)).toMatchObject({ok: false, reason: expect.stringContaining('not JSON')});
        expect(parseNodeConfig(Buffer.from('{"node_id":"X"}'), N)).toMatchObject({ok: false, reason: expect.stringContaining('schema')});
        const config = exampleConfig('lightbulb', 'OTHER', '1.0');
        expect(parseNodeConfig(Buffer.from(JSON.stringify(config)), N)).toMatchObject({ok: false, reason: expect.stringContaining('OTHER')});
        const twice = exampleConfig('lightbulb', N, '1.0');
        twice.devices.push(twice.devices[0]!);
        expect(parseNodeConfig(Buffer.from(JSON.stringify(twice)), N)).toMatchObject({ok: false, reason: expect.stringContaining('twice')});
        expect(parseNodeConfig(Buffer.from(JSON.stringify(exampleConfig('lightbulb', N, '1.0'))), N).ok).toBe(true);
    });

    it('keeps params of declared names and types and refuses the rest', () => {
        const config = exampleConfig('lightbulb', N, '1.0');
        const check = checkReport(config, {Light: {Power: 1, Brightness: 40, Colour: 'red'}, Ghost: {Power: true}});
        expect(check).toEqual({
            accepted: {Light: {Brightness: 40}},
            refused: ['"Light.Power" is not bool', 'unknown param "Light.Colour"', 'unknown device "Ghost"'],
        });
        expect(checkReport(config, [1, 2])).toEqual({error: 'params report is not a JSON object'});
    });
});

describe('RainMaker config → features', () => {
    it('maps the led_light example to one light with hs, System buttons, firmware and alert', () => {
        const model = buildNodeModel(exampleConfig('lightbulb', N, '1.0'), {}, options);
        expect(model.features).toEqual([
            {id: 'light', name: null, kind: 'light', colorModes: ['hs']},
            {id: 'system_reboot', name: {text: 'System Reboot'}, kind: 'button', entityCategory: 'config', deviceClass: 'restart'},
            {id: 'system_factory_reset', name: {text: 'System Factory-Reset'}, kind: 'button', entityCategory: 'config', enabledByDefault: false},
            {id: 'system_wi_fi_reset', name: {text: 'System Wi-Fi-Reset'}, kind: 'button', entityCategory: 'config', enabledByDefault: false},
            {id: 'firmware', name: {key: 'firmware'}, kind: 'update', installable: true, entityCategory: 'config'},
            {id: 'alert', name: {key: 'alert'}, kind: 'event', eventTypes: ['alert']},
        ]);
        expect(model.facts).toEqual({manufacturer: 'Espressif (RainMaker)', model: 'led_light', name: 'Light', firmware: '1.0'});
    });

    it('declares colour temperature with its bounds, and brightness-only and on/off lights alone', () => {
        const config = exampleConfig('lightbulb', N, '1.0');
        const light = config.devices[0]!;
        light.params.push({name: 'CCT', type: 'esp.param.cct', data_type: 'int', properties: ['read', 'write'], bounds: {min: 2700, max: 6500, step: 100}});
        expect(buildNodeModel(config, {}, options).features[0]).toMatchObject({colorModes: ['hs', 'color_temp'], minKelvin: 2700, maxKelvin: 6500});
        light.params = light.params.filter((param) => !['Hue', 'Saturation', 'CCT'].includes(param.name));
        expect(buildNodeModel(config, {}, options).features[0]).toMatchObject({colorModes: ['brightness']});
        light.params = light.params.filter((param) => param.name !== 'Brightness');
        expect(buildNodeModel(config, {}, options).features[0]).toMatchObject({colorModes: ['onoff']});
    });

    it('maps switch, fan and temperature sensor, and falls back per param for other types', () => {
        expect(buildNodeModel(exampleConfig('switch', N, '1.0'), {}, options).features[0]).toEqual({id: 'switch', name: null, kind: 'switch', deviceClass: 'switch'});
        expect(buildNodeModel(exampleConfig('fan', N, '1.0'), {}, options).features[0]).toEqual({id: 'fan', name: null, kind: 'fan', direction: true});
        expect(buildNodeModel(exampleConfig('temperature', N, '1.0'), {}, options).features[0]).toEqual({
            id: 'temperature_sensor',
            name: null,
            kind: 'sensor',
            deviceClass: 'temperature',
            stateClass: 'measurement',
            unit: '°C',
        });
        const custom: RmNodeConfig = {
            ...exampleConfig('switch', N, '1.0'),
            devices: [
                {
                    name: 'Heater',
                    type: 'esp.device.other',
                    params: [
                        {name: 'Enabled', data_type: 'bool', properties: ['read', 'write']},
                        {name: 'Fault', data_type: 'bool', properties: ['read']},
                        {name: 'Level', data_type: 'int', properties: ['read', 'write'], bounds: {min: 1, max: 9}, ui_type: 'esp.ui.slider'},
                        {name: 'Power draw', data_type: 'float', properties: ['read', 'time_series']},
                        {name: 'Mode', data_type: 'string', properties: ['read', 'write'], valid_strs: ['eco', 'boost']},
                        {name: 'Schedules', data_type: 'array', properties: ['read', 'write']},
                        {name: 'Secret', data_type: 'string', properties: ['read'], ui_type: 'esp.ui.hidden'},
                    ],
                },
            ],
            services: [],
        };
        const features = buildNodeModel(custom, {}, options).features.slice(0, -2);
        expect(features).toEqual([
            {id: 'heater_enabled', name: {text: 'Enabled'}, kind: 'switch'},
            {id: 'heater_fault', name: {text: 'Fault'}, kind: 'binary_sensor'},
            {id: 'heater_level', name: {text: 'Level'}, kind: 'number', min: 1, max: 9, step: 1, mode: 'slider'},
            {id: 'heater_power_draw', name: {text: 'Power draw'}, kind: 'sensor', stateClass: 'measurement'},
            {id: 'heater_mode', name: {text: 'Mode'}, kind: 'select', options: ['eco', 'boost']},
        ]);
    });

    it('builds stable feature ids of at most 48 characters', () => {
        const used = new Set<string>();
        expect(featureId(['Light', 'Brightness'], used)).toBe('light_brightness');
        const long = featureId(['A very long device name indeed', 'and an even longer parameter name'], used);
        expect(long).toMatch(/^[a-z0-9_]{1,48}$/);
        expect(featureId(['A very long device name indeed', 'and an even longer parameter name'], new Set())).toBe(long);
        expect(featureId(['Licht', 'Brilho'], used)).toBe('licht_brilho');
        expect(featureId(['灯'], used)).toMatch(/^param_[0-9a-f]{6}$/);
        expect(featureId(['Light', 'Brightness'], used)).not.toBe('light_brightness');
    });

    it('turns params into states and commands into typed params/remote', () => {
        const model = buildNodeModel(exampleConfig('lightbulb', N, '1.0'), {}, options);
        const params = {Light: {Power: true, Brightness: 25, Hue: 180, Saturation: 100}};
        expect(featureStates(model, params, {}, params, options)).toEqual({light: {on: true, brightness: 64, hs: {h: 180, s: 100}, colorMode: 'hs'}});
        // Changes as an intake might build them from JSON it did not check.
        const command = (change: Record<string, unknown>): unknown => commandToParams(model, 'light', {kind: 'light', change: {on: true, ...change}} as LightCommand, options);
        expect(command({on: true, brightness: 153, hs: {h: 30.4, s: 80}})).toEqual({Light: {Power: true, Brightness: 60, Hue: 30, Saturation: 80}});
        expect(() => command({on: 'yes'})).toThrow('on must be true or false');
        expect(() => command({brightness: '50'})).toThrow('brightness must be a number');
        expect(() => command({colorTempKelvin: 3000})).toThrow('no colour temperature');
        expect(() => commandToParams(model, 'nope', {kind: 'switch', on: true}, options)).toThrow('takes no command');
        expect(commandToParams(model, 'system_reboot', {kind: 'button', action: 'press'}, options)).toEqual({System: {Reboot: true}});

        const fan = buildNodeModel(exampleConfig('fan', N, '1.0'), {}, options);
        const fanParams = {Fan: {Power: true, Speed: 3, Direction: 1}};
        expect(featureStates(fan, fanParams, {}, fanParams, options)).toEqual({fan: {on: true, percentage: 60, direction: 'reverse'}});
        expect(commandToParams(fan, 'fan', {kind: 'fan', change: {on: true, percentage: 10, direction: 'forward'}}, options)).toEqual({
            Fan: {Power: true, Speed: 1, Direction: 0},
        });
    });
});

describe('RainMaker OTA helpers', () => {
    it('reads image names, orders versions and parses progress', () => {
        expect(parseImageName('led_light-1.1.bin')).toEqual({project: 'led_light', version: '1.1'});
        expect(parseImageName('my-proj-v2.0.0-rc1.bin')).toEqual({project: 'my-proj', version: '2.0.0-rc1'});
        expect(parseImageName('notes.txt')).toBeNull();
        expect(compareVersions('1.10', '1.9')).toBe(1);
        expect(compareVersions('1.0', '1.0')).toBe(0);
        expect(compareVersions('2.0', '2.0.1')).toBe(-1);
        expect(progressFromInfo('Downloaded 42% Firmware Image')).toBe(42);
        expect(progressFromInfo('Downloading Firmware Image')).toBeNull();
    });
});
