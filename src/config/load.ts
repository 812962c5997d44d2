import {readFileSync} from 'node:fs';

import {parse as parseYaml} from 'yaml';
import type {z} from 'zod';

import {createLogger} from '../util/logger.js';
import {isPlainObject} from '../util/plain-object.js';
import {type CoreSettings, type RenamedKey, renamedKeysOfSchema} from './schema.js';

export class SettingsError extends Error {}

export const ENV_PREFIX = 'FOGBRIDGE_';

const log = createLogger('settings');

type Tree = Record<string, unknown>;

export interface SettingsSources {
    /** YAML or JSON settings file. */
    file?: string;
    env?: NodeJS.ProcessEnv;
    /** Already nested, e.g. from yargs dot notation (`--icomen.sessionPort 17533`). */
    flags?: Tree;
}

/**
 * Defaults, then the file, then the environment, then CLI flags, checked against `schema` (the
 * core's sections and the families'). A bad value fails with the key, where it came from and what
 * was expected.
 */
export function loadSettingsWith<Schema extends z.ZodType>(schema: Schema, sources: SettingsSources = {}): z.output<Schema> {
    const origin = new Map<string, string>();
    const renames = new KeyRenames(renamedKeysOfSchema.get(schema)?.renamedKeys ?? []);
    let merged: Tree = {};
    if (sources.file) {
        const label = `file ${sources.file}`;
        merged = mergeFrom(merged, renames.apply(readSettingsFile(sources.file), label), label, origin);
    }
    merged = mergeFrom(merged, renames.apply(settingsFromEnv(schema, sources.env ?? {}, renames.keys), 'environment'), 'environment', origin);
    if (sources.flags) merged = mergeFrom(merged, coerceFlagStrings(schema, renames.apply(sources.flags, 'command line')), 'command line', origin);
    const result = schema.safeParse(merged);
    if (!result.success) throw new SettingsError(describeIssues(result.error.issues, origin));
    const {ha} = result.data as CoreSettings;
    if (ha.birthDelayMinMs > ha.birthDelayMaxMs) {
        throw new SettingsError('invalid setting "ha.birthDelayMinMs": expected a value no larger than ha.birthDelayMaxMs');
    }
    return result.data;
}

/**
 * Moves keys that were renamed to where they live now, in each source before the sources are
 * merged (so that a newer source still wins), warning once per old key.
 */
class KeyRenames {
    private readonly warned = new Set<string>();

    constructor(readonly keys: readonly RenamedKey[]) {}

    apply(source: Tree, label: string): Tree {
        if (!this.keys.some((key) => getPath(source, key.from) !== undefined)) return source;
        const tree = structuredClone(source);
        for (const {from, to} of this.keys) {
            const value = getPath(tree, from);
            if (value === undefined) continue;
            deletePath(tree, from);
            const oldName = from.join('.');
            const newName = to.join('.');
            const shadowed = getPath(tree, to) !== undefined;
            if (!shadowed) setPath(tree, to, value);
            if (this.warned.has(oldName)) continue;
            this.warned.add(oldName);
            log.warn(
                shadowed
                    ? `setting "${oldName}" (from ${label}) is deprecated and ignored: "${newName}" is set too`
                    : `setting "${oldName}" (from ${label}) is deprecated: use "${newName}"`,
            );
        }
        return tree;
    }
}

function getPath(tree: Tree, path: readonly string[]): unknown {
    let node: unknown = tree;
    for (const key of path) node = isPlainObject(node) && Object.hasOwn(node, key) ? node[key] : undefined;
    return node;
}

function deletePath(tree: Tree, path: readonly string[]): void {
    const parent = getPath(tree, path.slice(0, -1));
    if (isPlainObject(parent)) delete parent[path[path.length - 1]!];
}

function readSettingsFile(file: string): Tree {
    let text: string;
    try {
        text = readFileSync(file, 'utf8');
    } catch (error) {
        throw new SettingsError(`cannot read settings file ${file}: ${(error as Error).message}`);
    }
    let value: unknown;
    try {
        value = parseYaml(text);
    } catch (error) {
        throw new SettingsError(`settings file ${file} is not valid YAML or JSON: ${(error as Error).message}`);
    }
    if (value === null || value === undefined) return {};
    if (typeof value !== 'object' || Array.isArray(value)) throw new SettingsError(`settings file ${file} must hold a mapping of keys`);
    return value as Tree;
}

/** Every leaf key of the schema, as a path, with the name of the environment variable that sets it. */
export function settingKeysOf(schema: z.ZodType): {path: string[]; env: string; kind: string}[] {
    const keys: {path: string[]; env: string; kind: string}[] = [];
    const walk = (schema: z.ZodType, path: string[]): void => {
        const base = unwrap(schema);
        if (base.def.type === 'object' && path.length < 8) {
            for (const [key, child] of Object.entries((base as z.ZodObject).shape)) walk(child as z.ZodType, [...path, key]);
            return;
        }
        keys.push({path, env: ENV_PREFIX + path.map(toUpperSnake).join('_'), kind: base.def.type});
    };
    walk(schema, []);
    return keys;
}

function unwrap(schema: z.ZodType): z.ZodType {
    let current = schema;
    while ('innerType' in current.def) current = current.def.innerType as z.ZodType;
    return current;
}

function toUpperSnake(key: string): string {
    return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

function settingsFromEnv(schema: z.ZodType, env: NodeJS.ProcessEnv, renamedKeys: readonly RenamedKey[]): Tree {
    const tree: Tree = {};
    const current = settingKeysOf(schema);
    // An old variable is read as its old key, typed as its new one; the rename then moves it.
    const renamed = renamedKeys.flatMap(({from, to}) => {
        const target = current.find((key) => key.path.join('.') === to.join('.'));
        return target ? [{path: from, env: ENV_PREFIX + from.map(toUpperSnake).join('_'), kind: target.kind}] : [];
    });
    const keys = [...current, ...renamed];
    for (const key of keys) {
        const raw = env[key.env];
        if (raw === undefined) continue;
        setPath(tree, key.path, coerceEnvValue(raw, key.kind));
    }
    // A misspelt variable in a settings section would otherwise leave its default in place unnoticed.
    // Other FOGBRIDGE_ variables (FOGBRIDGE_CONFIG, test switches) are not settings and pass.
    const known = new Set(keys.map((key) => key.env));
    const sections = new Set(keys.filter((key) => key.path.length > 1).map((key) => `${ENV_PREFIX}${toUpperSnake(key.path[0]!)}_`));
    const unknown = Object.keys(env).filter((name) => !known.has(name) && [...sections].some((section) => name.startsWith(section)));
    if (unknown.length) throw new SettingsError(`unknown setting ${unknown.map((name) => `"${name}"`).join(', ')} (from environment)`);
    return tree;
}

/** Flags arrive as strings where the parser could not know the type (`--icomen.enabled false`). */
function coerceFlagStrings(schema: z.ZodType, flags: Tree): Tree {
    const out = structuredClone(flags);
    for (const key of settingKeysOf(schema)) {
        let node: unknown = out;
        for (const part of key.path.slice(0, -1)) node = isPlainObject(node) ? node[part] : undefined;
        const leaf = key.path[key.path.length - 1]!;
        if (isPlainObject(node) && typeof node[leaf] === 'string') node[leaf] = coerceEnvValue(node[leaf] as string, key.kind);
    }
    return out;
}

function coerceEnvValue(raw: string, kind: string): unknown {
    if (raw === 'null') return null;
    if (kind === 'string' || kind === 'enum') return raw;
    try {
        return JSON.parse(raw);
    } catch {
        return raw;
    }
}

function setPath(tree: Tree, path: string[], value: unknown): void {
    let node = tree;
    for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as Tree;
    node[path[path.length - 1]!] = value;
}

function mergeFrom(target: Tree, source: Tree, label: string, origin: Map<string, string>, prefix = ''): Tree {
    const out: Tree = {...target};
    for (const [key, value] of Object.entries(source)) {
        if (key === '__proto__' || key === 'constructor' || key === 'prototype') continue;
        const path = prefix ? `${prefix}.${key}` : key;
        const existing = out[key];
        if (isPlainObject(value) && isPlainObject(existing)) {
            out[key] = mergeFrom(existing, value, label, origin, path);
        } else {
            out[key] = value;
            origin.set(path, label);
        }
    }
    return out;
}

function describeIssues(issues: z.core.$ZodIssue[], origin: Map<string, string>): string {
    const lines = issues.map((issue) => {
        const key = issue.path.join('.');
        if (issue.code === 'unrecognized_keys') {
            const names = issue.keys.map((name) => (key ? `${key}.${name}` : name));
            return `unknown setting ${names.map((name) => `"${name}"`).join(', ')}${fromWhere(names[0]!, origin)}`;
        }
        return `invalid setting "${key}"${fromWhere(key, origin)}: ${issue.message.replace(/^Invalid input: /, '')}`;
    });
    return lines.join('\n');
}

function fromWhere(key: string, origin: Map<string, string>): string {
    for (let path = key; path; path = path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : '') {
        const label = origin.get(path);
        if (label) return ` (from ${label})`;
    }
    return '';
}
