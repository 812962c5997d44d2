/**
 * The node config a RainMaker node publishes once per boot (rainmaker.md §4.1), validated, and the
 * JSON types its params declare. Everything a node sends is checked here before it touches state.
 */

import {z} from 'zod';

import {clip} from '../../util/clip.js';

const name = z.string().min(1).max(64);
const attribute = z.object({name: z.string().max(64), value: z.string().max(1024)});

const paramSchema = z.object({
    name,
    type: z.string().max(64).optional(),
    data_type: z.enum(['bool', 'int', 'float', 'string', 'object', 'array']),
    properties: z.array(z.string().max(32)).max(16),
    bounds: z
        .object({
            min: z.number().finite().optional(),
            max: z.number().finite().optional(),
            step: z.number().finite().optional(),
        })
        .optional(),
    valid_strs: z.array(z.string().max(128)).max(64).optional(),
    ui_type: z.string().max(64).optional(),
});

const deviceSchema = z.object({
    name,
    type: z.string().max(64).optional(),
    subtype: z.string().max(64).optional(),
    model: z.string().max(64).optional(),
    attributes: z.array(attribute).max(64).optional(),
    primary: z.string().max(64).optional(),
    params: z.array(paramSchema).max(64).default([]),
});

export const nodeConfigSchema = z.object({
    node_id: z.string().min(1).max(128),
    config_version: z.string().max(32),
    info: z.object({
        name: z.string().max(128),
        fw_version: z.string().min(1).max(64),
        type: z.string().max(64).optional(),
        subtype: z.string().max(64).optional(),
        model: z.string().max(64).optional(),
        project_name: z.string().max(64).optional(),
        platform: z.string().max(32).optional(),
    }),
    attributes: z.array(attribute).max(64).optional(),
    devices: z.array(deviceSchema).max(32).default([]),
    services: z.array(deviceSchema).max(32).default([]),
});

export type RmParam = z.infer<typeof paramSchema>;
export type RmDevice = z.infer<typeof deviceSchema>;
export type RmNodeConfig = z.infer<typeof nodeConfigSchema>;
export type RmDataType = RmParam['data_type'];

/** `{<device or service name>: {<param name>: value}}`: reports and commands share this shape. */
export type ParamsDocument = Record<string, Record<string, unknown>>;

export type ConfigResult = {ok: true; config: RmNodeConfig} | {ok: false; reason: string};

/** Parses and validates a `config` payload; the reason names the first problem. */
export function parseNodeConfig(payload: Buffer, expectedNodeId: string): ConfigResult {
    const json = parseJson(payload);
    if (!json.ok) return json;
    const result = nodeConfigSchema.safeParse(json.value);
    if (!result.success) {
        const issue = result.error.issues[0]!;
        return {ok: false, reason: `config does not match the node config schema: ${issue.path.join('.') || '(root)'}: ${issue.message}`};
    }
    const config = result.data;
    if (config.node_id !== expectedNodeId) return {ok: false, reason: `config is for node "${config.node_id}", not this node`};
    const names = new Set<string>();
    for (const entry of [...config.devices, ...config.services]) {
        if (names.has(entry.name)) return {ok: false, reason: `config names "${entry.name}" twice`};
        names.add(entry.name);
        const paramNames = new Set<string>();
        for (const param of entry.params) {
            if (paramNames.has(param.name)) return {ok: false, reason: `config names param "${entry.name}.${param.name}" twice`};
            paramNames.add(param.name);
        }
    }
    return {ok: true, config};
}

export type JsonResult = {ok: true; value: unknown} | {ok: false; reason: string};

/** JSON.parse that never throws and refuses prototype keys from the wire. */
export function parseJson(payload: Buffer): JsonResult {
    try {
        return {
            ok: true,
            value: JSON.parse(payload.toString('utf8'), (key, value: unknown) => {
                if (key === '__proto__' || key === 'constructor' || key === 'prototype') return undefined;
                return value;
            }),
        };
    } catch (error) {
        return {ok: false, reason: `not JSON (${(error as Error).message})`};
    }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether `value` has the exact JSON type a param declares: the node ignores anything else. */
export function hasDeclaredType(param: RmParam, value: unknown): boolean {
    switch (param.data_type) {
        case 'bool':
            return typeof value === 'boolean';
        case 'int':
            return typeof value === 'number' && Number.isInteger(value);
        case 'float':
            return typeof value === 'number' && Number.isFinite(value);
        case 'string':
            return typeof value === 'string';
        case 'object':
            return isPlainObject(value);
        case 'array':
            return Array.isArray(value);
    }
}

export function findEntry(config: RmNodeConfig, entryName: string): RmDevice | undefined {
    return config.devices.find((device) => device.name === entryName) ?? config.services.find((service) => service.name === entryName);
}

export interface ReportCheck {
    /** The params that name a declared param and carry its declared type. */
    accepted: ParamsDocument;
    /** One line per refused param: unknown device/param name or wrong type. */
    refused: string[];
}

/**
 * Splits a `params/local` report into what the config declares (kept) and what it does not
 * (refused, one reason each). A report that is not an object of objects is refused whole.
 */
export function checkReport(config: RmNodeConfig, report: unknown): ReportCheck | {error: string} {
    if (!isPlainObject(report)) return {error: 'params report is not a JSON object'};
    const accepted: ParamsDocument = {};
    const refused: string[] = [];
    for (const [entryName, values] of Object.entries(report)) {
        const entry = findEntry(config, entryName);
        if (!entry) {
            refused.push(`unknown device "${clip(entryName)}"`);
            continue;
        }
        if (!isPlainObject(values)) {
            refused.push(`"${clip(entryName)}" is not an object`);
            continue;
        }
        for (const [paramName, value] of Object.entries(values)) {
            const param = entry.params.find((candidate) => candidate.name === paramName);
            if (!param) {
                refused.push(`unknown param "${clip(entryName)}.${clip(paramName)}"`);
            } else if (!hasDeclaredType(param, value)) {
                refused.push(`"${clip(entryName)}.${clip(paramName)}" is not ${param.data_type}`);
            } else {
                (accepted[entryName] ??= {})[paramName] = value;
            }
        }
    }
    return {accepted, refused};
}
