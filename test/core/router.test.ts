import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';

import {afterEach, beforeEach, describe, expect, it} from 'vitest';

import {EventBus} from '../../src/core/bus.js';
import {CommandError} from '../../src/core/commands.js';
import type {Feature} from '../../src/core/device.js';
import {DeviceRegistry} from '../../src/core/registry.js';
import {CommandRouter, type RoutedCommand} from '../../src/core/router.js';
import {SetupRefused} from '../../src/core/setup.js';
import {setLogSink} from '../../src/util/logger.js';

const RELAY: Feature = {id: 'relay', kind: 'switch', name: {text: 'Relay'}};
const MODE: Feature = {id: 'mode', kind: 'select', name: {text: 'Mode'}, options: ['eco', 'normal']};

describe('CommandRouter', () => {
    let dir: string;
    let router: CommandRouter;
    let received: RoutedCommand[];
    let lines: string[];

    beforeEach(async () => {
        dir = mkdtempSync(path.join(tmpdir(), 'fogbridge-router-'));
        const registry = new DeviceRegistry({file: path.join(dir, 'registry.json'), bus: new EventBus()});
        await registry.load();
        registry.upsert({id: 'icomen-aa', family: 'icomen', facts: {manufacturer: 'ALDI', model: 'plug', name: 'Plug'}, features: [RELAY, MODE]});
        router = new CommandRouter(registry);
        received = [];
        router.register('icomen', async (routed) => {
            if (routed.command.kind === 'select') throw new CommandError('the plug is not connected');
            received.push(routed);
        });
        lines = [];
        setLogSink((level, _namespace, message) => lines.push(`${level} ${message}`));
    });

    afterEach(() => {
        setLogSink(null);
        rmSync(dir, {recursive: true, force: true});
    });

    it('hands the adapter the device, the feature and the checked command', async () => {
        await router.route('icomen-aa', 'relay', {kind: 'switch', on: true});
        expect(received).toHaveLength(1);
        expect(received[0]!.device.id).toBe('icomen-aa');
        expect(received[0]!.feature).toEqual(RELAY);
        expect(received[0]!.command).toEqual({kind: 'switch', on: true});
        expect(lines.filter((line) => line.startsWith('warn'))).toEqual([]);
    });

    it('decodes with the feature it looked up', async () => {
        const kinds: string[] = [];
        await router.decodeAndRoute('icomen-aa', 'relay', (feature) => {
            kinds.push(feature.kind);
            return {kind: 'switch', on: false};
        });
        expect(kinds).toEqual(['switch']);
        expect(received.map((routed) => routed.command)).toEqual([{kind: 'switch', on: false}]);
    });

    it('refuses with one CommandError and logs one line with the device, the feature and the reason', async () => {
        await expect(router.route('icomen-bb', 'relay', {kind: 'switch', on: true})).rejects.toThrow(new CommandError('unknown device icomen-bb'));
        await expect(router.route('icomen-aa', 'lamp', {kind: 'switch', on: true})).rejects.toThrow('icomen-aa has no feature "lamp"');
        await expect(router.route('icomen-aa', 'mode', {kind: 'select', option: 'turbo'})).rejects.toThrow('"turbo" is not one of eco, normal');
        await expect(router.decodeAndRoute('icomen-aa', 'relay', () => {
            throw new CommandError('expected ON or OFF, got "maybe"');
        })).rejects.toThrow(CommandError);
        await expect(router.route('icomen-aa', 'mode', {kind: 'select', option: 'eco'})).rejects.toThrow('the plug is not connected');
        expect(received).toEqual([]);
        expect(lines).toEqual([
            'warn icomen-bb/relay: command refused: unknown device icomen-bb',
            'warn icomen-aa/lamp: command refused: icomen-aa has no feature "lamp"',
            'warn icomen-aa/mode: command refused: "turbo" is not one of eco, normal',
            'warn icomen-aa/relay: command refused: expected ON or OFF, got "maybe"',
            'warn icomen-aa/mode: command refused: the plug is not connected',
        ]);
    });

    it('refuses a command for a family without a running adapter', async () => {
        const registry = new DeviceRegistry({file: path.join(dir, 'other.json'), bus: new EventBus()});
        await registry.load();
        registry.upsert({id: 'miio-1', family: 'miio', facts: {manufacturer: 'Xiaomi', model: 'plug', name: 'Plug'}, features: [RELAY]});
        await expect(new CommandRouter(registry).route('miio-1', 'relay', {kind: 'switch', on: true})).rejects.toThrow('no adapter for miio is running');
    });

    describe('setup input', () => {
        const KEY = {id: 'key', secret: true, maxLength: 20};
        let applied: Record<string, string>[];

        beforeEach(() => {
            applied = [];
            router.registerSetup('icomen', {
                pending: () => (applied.length === 0 ? [KEY] : []),
                apply: async (_device, input) => {
                    if (input.key === 'wrong-but-secret') throw new SetupRefused('that key does not fit');
                    applied.push({...input});
                },
            });
        });

        it('hands the family exactly its pending fields, trimmed', async () => {
            expect(router.pendingSetup('icomen-aa')).toEqual([KEY]);
            await router.setUp('icomen-aa', {key: ' abc '});
            expect(applied).toEqual([{key: 'abc'}]);
            expect(router.pendingSetup('icomen-aa')).toEqual([]);
        });

        it.each([
            [{}, 'key is missing'],
            [{key: 7}, 'key is missing'],
            [{key: 'x', extra: 'y'}, 'unknown field(s): extra'],
            [{key: 'x'.repeat(21)}, 'at most 20 characters'],
            ['key', 'a JSON object'],
        ])('refuses %j: %s', async (input, reason) => {
            await expect(router.setUp('icomen-aa', input)).rejects.toThrow(reason);
            expect(applied).toEqual([]);
        });

        it('refuses input for an unknown device or one that waits for nothing, and never logs the value', async () => {
            await expect(router.setUp('icomen-zz', {key: 'x'})).rejects.toBeInstanceOf(SetupRefused);
            await expect(router.setUp('icomen-aa', {key: 'wrong-but-secret'})).rejects.toThrow('that key does not fit');
            expect(lines).toContain('warn icomen-aa: setup input refused: that key does not fit');
            expect(lines.join('\n')).not.toContain('wrong-but-secret');
            await router.setUp('icomen-aa', {key: 'right'});
            await expect(router.setUp('icomen-aa', {key: 'again'})).rejects.toThrow('waits for no setup input');
        });
    });
});
