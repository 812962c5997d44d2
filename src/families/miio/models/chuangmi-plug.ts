/**
 * chuangmi smart plugs (`chuangmi.plug.*`): `get_prop` / `set_power` and the v1/v3 variants
 * (protocol note miio.md §4.8).
 */
import {CommandError, type FeatureCommand} from '../../../core/commands.js';
import type {DeviceState, Feature} from '../../../core/device.js';
import {isPlainObject} from '../../../util/plain-object.js';
import {expectOk, finiteNumber, type MiioCall, type MiioModel, type PushOutcome} from './types.js';

interface PlugVariant {
    /** Names asked with `get_prop`, answered in the same order. */
    props: string[];
    /** The property holding on/off: `power` ("on"/"off") or `on` (boolean). */
    powerProp: 'power' | 'on';
    usb: boolean;
    /** v3: `get_power` → [centiwatts]. */
    powerMeter: boolean;
}

const VARIANTS: Record<string, PlugVariant> = {
    'chuangmi.plug.v1': {props: ['on', 'usb_on', 'temperature'], powerProp: 'on', usb: true, powerMeter: false},
    'chuangmi.plug.v3': {props: ['on', 'usb_on', 'temperature', 'wifi_led'], powerProp: 'on', usb: true, powerMeter: true},
    'chuangmi.plug.hmi208': {props: ['power', 'usb_on', 'temperature'], powerProp: 'power', usb: true, powerMeter: false},
};
/** m1, m3, v2, hmi205, hmi206 and unknown chuangmi plugs. */
const DEFAULT_VARIANT: PlugVariant = {props: ['power', 'temperature'], powerProp: 'power', usb: false, powerMeter: false};

export function isChuangmiPlug(model: string): boolean {
    return model.startsWith('chuangmi.plug.');
}

export class ChuangmiPlug implements MiioModel {
    readonly manufacturer = 'Xiaomi (chuangmi)';
    readonly displayName: string;
    private readonly variant: PlugVariant;

    constructor(readonly model: string) {
        this.variant = VARIANTS[model] ?? DEFAULT_VARIANT;
        this.displayName = `Mi Smart Plug (${model.slice('chuangmi.plug.'.length)})`;
    }

    features(): Feature[] {
        const features: Feature[] = [
            {id: 'switch', kind: 'switch', name: null, deviceClass: 'outlet'},
            {id: 'temperature', kind: 'sensor', name: {key: 'temperature'}, deviceClass: 'temperature', unit: '°C', stateClass: 'measurement', entityCategory: 'diagnostic'},
        ];
        if (this.variant.usb) features.push({id: 'usb', kind: 'switch', name: {key: 'usb'}, deviceClass: 'outlet'});
        if (this.variant.powerMeter) features.push({id: 'power', kind: 'sensor', name: {key: 'power'}, deviceClass: 'power', unit: 'W', stateClass: 'measurement', precision: 2});
        return features;
    }

    async poll(call: MiioCall): Promise<DeviceState> {
        const values = await call('get_prop', this.variant.props);
        if (!Array.isArray(values)) throw new Error(`get_prop answered ${JSON.stringify(values)}`);
        const record: Record<string, unknown> = {};
        this.variant.props.forEach((name, index) => (record[name] = values[index]));
        const state = this.stateFrom(record);
        if (this.variant.powerMeter) {
            const power = await call('get_power', []);
            const centiwatts = finiteNumber(Array.isArray(power) ? power[0] : power);
            if (centiwatts !== undefined) state.power = centiwatts / 100;
        }
        return state;
    }

    applyPush(method: string, params: unknown): PushOutcome {
        if (method === 'props' && isPlainObject(params)) return {state: this.stateFrom(params), events: []};
        return {state: {}, events: []};
    }

    async command(call: MiioCall, featureId: string, command: FeatureCommand): Promise<void> {
        // Both features are switches: the core has refused every other kind.
        if (command.kind !== 'switch') throw new CommandError(`a plug takes switch commands, not ${command.kind}`);
        const {on} = command;
        if (featureId === 'usb') {
            const method = on ? 'set_usb_on' : 'set_usb_off';
            return expectOk(method, await call(method, []));
        }
        if (this.model === 'chuangmi.plug.v1') {
            const method = on ? 'set_on' : 'set_off';
            return expectOk(method, await call(method, []));
        }
        expectOk('set_power', await call('set_power', [on ? 'on' : 'off']));
    }

    private stateFrom(record: Record<string, unknown>): DeviceState {
        const state: DeviceState = {};
        const power = record[this.variant.powerProp];
        if (power === 'on' || power === true) state.switch = true;
        else if (power === 'off' || power === false) state.switch = false;
        if (this.variant.usb) {
            if (record.usb_on === true || record.usb_on === 'on') state.usb = true;
            else if (record.usb_on === false || record.usb_on === 'off') state.usb = false;
        }
        const temperature = finiteNumber(record.temperature);
        if (temperature !== undefined) state.temperature = temperature;
        return state;
    }
}
