/**
 * Commands in the normalised model: one shape per feature kind, whoever sent them (Home Assistant,
 * the web UI, the CLI). Each intake decodes its own wire format into these; `validateCommand`
 * then checks them once against what the feature declares, so an adapter only ever sees commands
 * its device can carry out.
 */
import type {
    FanFeature,
    FanState,
    Feature,
    FeatureValue,
    LightFeature,
    LightState,
    NumberFeature,
    SelectFeature,
    SwitchFeature,
    UpdateFeature,
    VacuumAction,
    VacuumFeature,
    VacuumState,
} from './device.js';

export type VacuumCommand =
    | {kind: 'vacuum'; action: VacuumAction}
    | {kind: 'vacuum'; action: 'set_fan_speed'; fanSpeed: string}
    /** Cleans these rooms, in this order: ids from the vacuum's `segments` state. */
    | {kind: 'vacuum'; action: 'clean_segments'; segments: string[]}
    /** The user's name for a room (the robot knows only ids); the adapter keeps it. */
    | {kind: 'vacuum'; action: 'rename_segment'; segment: string; name: string};

export interface SwitchCommand {
    kind: 'switch';
    on: boolean;
}

/** Only the attributes that change; `on` is always set, since changing any attribute also means "on". */
export interface LightCommand {
    kind: 'light';
    change: Partial<LightState> & {on: boolean};
}

/** Only the attributes that change. */
export interface FanCommand {
    kind: 'fan';
    change: Partial<FanState>;
}

export interface SelectCommand {
    kind: 'select';
    option: string;
}

export interface NumberCommand {
    kind: 'number';
    value: number;
}

export interface ButtonCommand {
    kind: 'button';
    action: 'press';
}

export interface UpdateCommand {
    kind: 'update';
    action: 'install';
}

export type FeatureCommand = VacuumCommand | SwitchCommand | LightCommand | FanCommand | SelectCommand | NumberCommand | ButtonCommand | UpdateCommand;

/** The one way a command is refused, by the core or by an adapter; the message is for people. */
export class CommandError extends Error {
    override readonly name = 'CommandError';
}

/** More rooms than any flat has: a longer list is a sender's mistake, not a cleaning job. */
export const MAX_SEGMENTS_PER_COMMAND = 64;
export const MAX_ROOM_NAME = 64;

/** The kelvin range checked when a light declares none: wider than any lamp, narrower than nonsense. */
const KELVIN_SANITY = {min: 1000, max: 20_000};

/**
 * Throws a CommandError saying why `command` does not fit `feature`. The values are checked as
 * well as their ranges: intakes that build commands from JSON may pass on what they were sent.
 * `value` is the feature's current state, for what the device changes at run time (a vacuum's rooms).
 */
export function validateCommand(feature: Feature, command: FeatureCommand, value: FeatureValue = null): void {
    if (command.kind !== feature.kind) {
        const takes = isCommandable(feature) ? `takes ${feature.kind} commands, not ${String(command.kind)}` : 'takes no command';
        throw new CommandError(`${feature.kind} "${feature.id}" ${takes}`);
    }
    // The kinds are equal (checked above); TypeScript cannot pair the two unions by it.
    switch (command.kind) {
        case 'vacuum':
            return validateVacuum(feature as VacuumFeature, command, value as VacuumState | null);
        case 'switch':
            return validateSwitch(feature as SwitchFeature, command);
        case 'light':
            return validateLight(feature as LightFeature, command);
        case 'fan':
            return validateFan(feature as FanFeature, command);
        case 'select':
            return validateSelect(feature as SelectFeature, command);
        case 'number':
            return validateNumber(feature as NumberFeature, command);
        case 'button':
            return;
        case 'update':
            return validateUpdate(feature as UpdateFeature);
    }
}

function isCommandable(feature: Feature): boolean {
    return feature.kind !== 'sensor' && feature.kind !== 'binary_sensor' && feature.kind !== 'event' && feature.kind !== 'image';
}

function validateVacuum(feature: VacuumFeature, command: VacuumCommand, state: VacuumState | null): void {
    if (command.action === 'clean_segments') return validateSegments(feature, command.segments, state?.segments ?? {});
    if (command.action === 'rename_segment') {
        validateSegments(feature, [command.segment], state?.segments ?? {});
        const name = command.name;
        if (typeof name !== 'string' || name.trim().length === 0 || name.length > MAX_ROOM_NAME) throw new CommandError(`a room name is 1–${MAX_ROOM_NAME} characters, got ${quote(name)}`);
        return;
    }
    if (command.action === 'set_fan_speed') {
        if (!feature.fanSpeeds?.includes(command.fanSpeed)) {
            const known = feature.fanSpeeds?.length ? `: one of ${feature.fanSpeeds.join(', ')}` : ' (this vacuum has no fan speeds)';
            throw new CommandError(`unknown fan speed ${quote(command.fanSpeed)}${known}`);
        }
        return;
    }
    if (!feature.commands.includes(command.action)) throw new CommandError(`unsupported vacuum command ${quote(command.action)}`);
}

function validateSegments(feature: VacuumFeature, segments: unknown, known: Record<string, string>): void {
    if (!feature.segments) throw new CommandError(`vacuum "${feature.id}" cannot clean single rooms`);
    if (!Array.isArray(segments) || segments.length === 0) throw new CommandError('clean_segments needs a non-empty list of segment ids');
    if (segments.length > MAX_SEGMENTS_PER_COMMAND) throw new CommandError(`at most ${MAX_SEGMENTS_PER_COMMAND} segments at once, got ${segments.length}`);
    const seen = new Set<unknown>();
    for (const segment of segments) {
        if (typeof segment !== 'string' || !Object.hasOwn(known, segment)) {
            const rooms = Object.keys(known);
            throw new CommandError(`unknown segment ${quote(segment)}: ${rooms.length ? `one of ${rooms.join(', ')}` : 'the vacuum has reported no rooms yet'}`);
        }
        if (seen.has(segment)) throw new CommandError(`segment ${quote(segment)} is listed twice`);
        seen.add(segment);
    }
}

function validateSwitch(feature: SwitchFeature, command: SwitchCommand): void {
    if (typeof command.on !== 'boolean') throw new CommandError(`switch "${feature.id}" takes true or false, not ${quote(command.on)}`);
}

function validateLight(feature: LightFeature, {change}: LightCommand): void {
    const modes = feature.colorModes;
    if (typeof change.on !== 'boolean') throw new CommandError(`"on" must be true or false, not ${quote(change.on)}`);
    if (change.brightness !== undefined) {
        // HA: hs and color_temp lights are dimmable too; only `onoff` is not.
        if (!modes.some((mode) => mode !== 'onoff')) throw new CommandError('this light has no brightness');
        if (!isIntegerIn(change.brightness, 0, 255)) throw new CommandError(`brightness must be a number from 0 to 255, got ${quote(change.brightness)}`);
    }
    if (change.hs !== undefined) {
        if (!modes.includes('hs')) throw new CommandError('this light has no colour');
        const {h, s} = change.hs ?? {};
        if (!isNumberIn(h, 0, 360) || !isNumberIn(s, 0, 100)) throw new CommandError('"color" must be {"h": 0–360, "s": 0–100}');
    }
    if (change.colorTempKelvin !== undefined) {
        if (!modes.includes('color_temp')) throw new CommandError('this light has no colour temperature');
        const min = feature.minKelvin ?? KELVIN_SANITY.min;
        const max = feature.maxKelvin ?? KELVIN_SANITY.max;
        if (!isNumberIn(change.colorTempKelvin, min, max)) throw new CommandError(`colour temperature must be ${min}–${max} K, got ${quote(change.colorTempKelvin)}`);
    }
    if (change.colorMode !== undefined && !modes.includes(change.colorMode)) throw new CommandError(`this light has no colour mode ${quote(change.colorMode)}`);
}

function validateFan(feature: FanFeature, {change}: FanCommand): void {
    if (Object.keys(change).length === 0) throw new CommandError('fan command changes nothing');
    if (change.on !== undefined && typeof change.on !== 'boolean') throw new CommandError(`"on" must be true or false, not ${quote(change.on)}`);
    if (change.percentage !== undefined && !isIntegerIn(change.percentage, 0, 100)) throw new CommandError(`percentage must be 0–100, got ${quote(change.percentage)}`);
    if (change.presetMode !== undefined && !feature.presetModes?.includes(change.presetMode)) throw new CommandError(`unknown preset mode ${quote(change.presetMode)}`);
    if (change.direction !== undefined) {
        if (!feature.direction) throw new CommandError('this fan has no direction');
        if (change.direction !== 'forward' && change.direction !== 'reverse') throw new CommandError('direction must be forward or reverse');
    }
    if (change.oscillating !== undefined) {
        if (!feature.oscillation) throw new CommandError('this fan does not oscillate');
        if (typeof change.oscillating !== 'boolean') throw new CommandError(`oscillation must be true or false, not ${quote(change.oscillating)}`);
    }
}

function validateSelect(feature: SelectFeature, command: SelectCommand): void {
    if (!feature.options.includes(command.option)) throw new CommandError(`${quote(command.option)} is not one of ${feature.options.join(', ')}`);
}

function validateNumber(feature: NumberFeature, command: NumberCommand): void {
    const {value} = command;
    if (!isNumberIn(value, feature.min, feature.max)) throw new CommandError(`expected a number from ${feature.min} to ${feature.max}, got ${quote(value)}`);
    if (feature.step !== undefined && feature.step > 0) {
        const steps = (value - feature.min) / feature.step;
        // Tolerates the binary rounding of decimal steps (0.1 × 3 is not 0.3).
        if (Math.abs(steps - Math.round(steps)) > 1e-9) throw new CommandError(`${value} is not ${feature.min} plus a multiple of ${feature.step}`);
    }
}

function validateUpdate(feature: UpdateFeature): void {
    if (!feature.installable) throw new CommandError(`update "${feature.id}" cannot be installed from here`);
}

function isNumberIn(value: unknown, min: number, max: number): value is number {
    return typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max;
}

function isIntegerIn(value: unknown, min: number, max: number): value is number {
    return Number.isInteger(value) && isNumberIn(value, min, max);
}

/** A value as a person reads it in a log line, cut short: it may be anything a sender made up. */
export function quote(value: unknown): string {
    // JSON.stringify says `null` for NaN and nothing at all for undefined.
    const text = typeof value === 'number' || value === undefined ? String(value) : JSON.stringify(value);
    return text.length > 42 ? `${text.slice(0, 40)}…` : text;
}
