/**
 * Device setup input: what a device waits for from the user before it can work (a key only the
 * user can read off the device), as opposed to a command to one of its features. A family
 * registers a `DeviceSetup` with the router; the web UI asks which fields a device waits for and
 * sends what the user typed through the same router, which checks its shape before the family
 * checks its meaning. Values are secrets by default: never logged, stored or echoed by the core.
 */
import type {Readable} from 'node:stream';

import type {Device} from './device.js';

/** One value a device waits for. The UI labels it with the translation `setup.<id>`. */
export interface SetupField {
    id: string;
    /** Shown as a password field and never sent back. */
    secret: boolean;
    /** A bound on what is read at all; what a valid value is, the family says with its reason. */
    maxLength: number;
}

/**
 * Something the user does once for a family rather than for one device, from the onboarding page
 * (approve a RainMaker node's MAC for self-claiming). Its input is setup input: the same fields,
 * checks and refusals. The UI labels it with the translation `onboardingAction.<family>.<id>`.
 */
export interface OnboardingAction {
    id: string;
    fields: SetupField[];
    /** Applies input the router has checked; resolves with what was done (no secret), rejects with SetupRefused. */
    run(input: Readonly<Record<string, string>>): Promise<string>;
}

/** One download from the onboarding page: its file name, type and bytes. */
export interface OnboardingDownload {
    filename: string;
    contentType: string;
    body: Readable;
}

/**
 * Files a family offers on its onboarding tab, one download per item (a RainMaker node's factory
 * files, per claimed node). They may hold secrets: served only when the user asks for one, and
 * never logged. The UI labels them with the translation `onboardingFiles.<family>.<id>`.
 */
export interface OnboardingFiles {
    id: string;
    /** The items there are now (node ids), in the order to show them. */
    list(): Promise<string[]>;
    /** One item's download, or null when there is no such item. */
    open(item: string): Promise<OnboardingDownload | null>;
}

/** Refused input: the reason is shown to the user as it is, so it never contains the value. */
export class SetupRefused extends Error {}

export interface DeviceSetup {
    /** The fields the device waits for now; empty when it needs nothing. */
    pending(device: Device): SetupField[];
    /** Applies input whose shape the router has checked; rejects with SetupRefused. */
    apply(device: Device, input: Readonly<Record<string, string>>): Promise<void>;
}

/** Exactly the pending fields, each a string of an allowed length; returns the typed input. */
export function checkSetupInput(fields: readonly SetupField[], input: unknown): Record<string, string> {
    if (fields.length === 0) throw new SetupRefused('this device waits for no setup input');
    if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new SetupRefused(`setup input is a JSON object such as {"${fields[0]!.id}": "…"}`);
    const given = input as Record<string, unknown>;
    const unknown = Object.keys(given).filter((key) => !fields.some((field) => field.id === key));
    if (unknown.length > 0) throw new SetupRefused(`unknown field(s): ${unknown.join(', ')}; expected ${fields.map((field) => field.id).join(', ')}`);
    const checked: Record<string, string> = {};
    for (const field of fields) {
        const value = given[field.id];
        if (typeof value !== 'string' || value.trim() === '') throw new SetupRefused(`${field.id} is missing`);
        const trimmed = value.trim();
        if (trimmed.length > field.maxLength) throw new SetupRefused(`${field.id} has at most ${field.maxLength} characters`);
        checked[field.id] = trimmed;
    }
    return checked;
}
