import type {FeatureCommand} from '../../src/core/commands.js';
import type {Feature, FeatureValue, VacuumState} from '../../src/core/device.js';
import type {DeviceRegistry} from '../../src/core/registry.js';
import {z} from 'zod';

import type {FamilyModule} from '../../src/families/family.js';

/** One feature of every kind, as a family adapter would describe them: names fogbridge gives (keys) and names a device gives (text). */
export const KITCHEN_SINK_FEATURES: Feature[] = [
    {id: 'vacuum', kind: 'vacuum', name: null, commands: ['start', 'stop', 'pause', 'return_to_base', 'locate'], fanSpeeds: ['quiet', 'balanced', 'max'], segments: true},
    {id: 'relay', kind: 'switch', name: {text: 'Relay'}, deviceClass: 'outlet'},
    {id: 'lamp', kind: 'light', name: {text: 'Lamp'}, colorModes: ['hs', 'color_temp'], minKelvin: 2700, maxKelvin: 6500},
    {id: 'dimmer', kind: 'light', name: {text: 'Dimmer'}, colorModes: ['brightness']},
    {id: 'fan', kind: 'fan', name: {text: 'Fan'}, presetModes: ['auto', 'sleep'], direction: true},
    {id: 'battery', kind: 'sensor', name: null, deviceClass: 'battery', unit: '%', stateClass: 'measurement'},
    {id: 'status', kind: 'sensor', name: {key: 'status'}, deviceClass: 'enum', options: ['ok', 'stuck'], entityCategory: 'diagnostic'},
    {id: 'charging', kind: 'binary_sensor', name: {key: 'charging'}, deviceClass: 'battery_charging'},
    {id: 'identify', kind: 'button', name: {text: 'Identify'}, deviceClass: 'identify', entityCategory: 'diagnostic'},
    {id: 'mode', kind: 'select', name: {text: 'Mode'}, options: ['eco', 'normal'], entityCategory: 'config'},
    {id: 'volume', kind: 'number', name: {text: 'Volume'}, min: 0, max: 100, unit: '%', entityCategory: 'config'},
    {id: 'firmware', kind: 'update', name: {key: 'firmware'}, installable: true, entityCategory: 'config'},
    {id: 'alert', kind: 'event', name: {key: 'alert'}, eventTypes: ['low_battery', 'stuck']},
];

export const KITCHEN_SINK_ROOMS = {'16': 'Kitchen', '17': 'Hall'};

/** What the fake "device" was asked, told as a verb (`set`, `start`, `press`, …) and its value. */
export interface ReceivedCommand {
    deviceId: string;
    featureId: string;
    action: string;
    value?: unknown;
}

export interface FakeFamily extends FamilyModule {
    /** Commands the fake "device" received, in order. */
    readonly commands: ReceivedCommand[];
    registry(): DeviceRegistry;
    addDevice(hardwareId: string, features?: Feature[]): string;
}

/**
 * A family whose "devices" live in memory and answer every command the way a real device does:
 * by reporting the new state back, a moment later. (No Ecovacs family exists yet; the fake
 * borrows its family name so ids look real.)
 */
export function createFakeFamily(): FakeFamily {
    let registry: DeviceRegistry | null = null;
    const commands: ReceivedCommand[] = [];
    const requireRegistry = (): DeviceRegistry => {
        if (!registry) throw new Error('the fake family has not started');
        return registry;
    };
    const apply = (deviceId: string, featureId: string, command: FeatureCommand): void => {
        const current = requireRegistry().get(deviceId)!.state[featureId];
        let next: FeatureValue;
        switch (command.kind) {
            case 'switch':
                next = command.on;
                break;
            case 'light':
            case 'fan':
                next = {...(current as object), ...command.change} as FeatureValue;
                break;
            case 'select':
                next = command.option;
                break;
            case 'number':
                next = command.value;
                break;
            case 'vacuum':
                if (command.action === 'start') next = {...(current as VacuumState), activity: 'cleaning'};
                else if (command.action === 'return_to_base') next = {...(current as VacuumState), activity: 'returning'};
                else if (command.action === 'set_fan_speed') next = {...(current as VacuumState), fanSpeed: command.fanSpeed};
                else return;
                break;
            default:
                return;
        }
        requireRegistry().updateState(deviceId, {[featureId]: next});
    };
    return {
        id: 'ecovacs',
        settings: z.strictObject({}).prefault({}),
        commands,
        enabled: () => true,
        create(context) {
            registry = context.registry;
            context.router.register('ecovacs', async ({device, feature, command}) => {
                commands.push({deviceId: device.id, featureId: feature.id, ...received(command)});
                setImmediate(() => apply(device.id, feature.id, command));
            });
            return {start: async () => {}, stop: async () => {}};
        },
        registry: requireRegistry,
        addDevice(hardwareId, features = KITCHEN_SINK_FEATURES) {
            const id = `ecovacs-${hardwareId}`;
            const target = requireRegistry();
            target.upsert({id, family: 'ecovacs', facts: {manufacturer: 'Fake', model: 'Kitchen sink', name: `Fake ${hardwareId}`}, features});
            target.markSeen(id);
            target.updateState(id, {
                vacuum: {activity: 'docked', fanSpeed: 'balanced', segments: KITCHEN_SINK_ROOMS},
                relay: false,
                lamp: {on: false},
                dimmer: {on: true, brightness: 10, colorMode: 'brightness'},
                fan: {on: false, percentage: 0},
                battery: 80,
                status: 'ok',
                charging: true,
                mode: 'eco',
                volume: 30,
                firmware: {installedVersion: '1.0.0', latestVersion: '1.1.0'},
            });
            return id;
        },
    };
}

function received(command: FeatureCommand): {action: string; value?: unknown} {
    switch (command.kind) {
        case 'vacuum':
            if (command.action === 'set_fan_speed') return {action: command.action, value: command.fanSpeed};
            if (command.action === 'clean_segments') return {action: command.action, value: command.segments};
            return {action: command.action};
        case 'button':
        case 'update':
            return {action: command.action};
        case 'switch':
            return {action: 'set', value: command.on};
        case 'light':
        case 'fan':
            return {action: 'set', value: command.change};
        case 'select':
            return {action: 'set', value: command.option};
        case 'number':
            return {action: 'set', value: command.value};
    }
}
