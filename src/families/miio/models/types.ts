import {CommandError, type FeatureCommand} from '../../../core/commands.js';
import type {DeviceState, Feature} from '../../../core/device.js';

/** Sends one request to the device and resolves with its `result` (rejects on error or timeout). */
export type MiioCall = (method: string, params: unknown) => Promise<unknown>;

export interface ModelEvent {
    featureId: string;
    eventType: string;
    attributes: Record<string, unknown>;
}

export interface PushOutcome {
    state: DeviceState;
    events: ModelEvent[];
    /** The push says something only a poll reads (a vacuum's new room list): poll now. */
    pollNow?: boolean;
}

/**
 * What one device model knows: its features, how to read its state, how to read its pushes and how
 * to turn a feature command into requests. One instance per device (it remembers the last status,
 * e.g. whether a paused vacuum has a zone job to resume).
 */
export interface MiioModel {
    readonly model: string;
    readonly manufacturer: string;
    /** The friendly default name, e.g. "Roborock S5". */
    readonly displayName: string;
    features(): Feature[];
    /** Asks the device for its state (one or more requests) and returns the state patch. */
    poll(call: MiioCall, options: {consumables: boolean}): Promise<DeviceState>;
    /** A device-originated request (`props`, `event.status`, `event.*`, …): state and events in it. */
    applyPush(method: string, params: unknown): PushOutcome;
    /**
     * Sends the requests for a command the core has checked against `featureId`; resolves on the
     * device's ack, rejects with the reason.
     */
    command(call: MiioCall, featureId: string, command: FeatureCommand): Promise<void>;
    /** The user renamed rooms: the state patch that shows the new names (empty if the model has none). */
    roomNamesChanged?(): DeviceState;
}

/** Action results are `["ok"]` or `"ok"`; anything else (e.g. `"unknown_method"`) is a refusal. */
export function expectOk(method: string, result: unknown): void {
    const value = Array.isArray(result) && result.length === 1 ? result[0] : result;
    if (value !== 'ok') throw new CommandError(`${method} was refused by the device: ${JSON.stringify(result)}`);
}


export function finiteNumber(value: unknown): number | undefined {
    return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
