import {readFileSync, readdirSync} from 'node:fs';
import path from 'node:path';

import {describe, expect, it} from 'vitest';

import {FEATURE_KINDS, VACUUM_ACTIONS} from '../../src/core/device.js';
import {DNS_FORMATS} from '../../src/dns.js';
import type {EdgePorts} from '../../src/edge/index.js';
import {TLS_REFUSAL_REASONS} from '../../src/edge/tls/refusals.js';
import type {FamilyModule} from '../../src/families/family.js';
import {LIFESPAN_PARTS} from '../../src/families/ecovacs/codec.js';
import {ALL_FAMILIES} from '../../src/families/index.js';
import {CLOUD_KEY_SETUP_FIELD} from '../../src/families/miio/adapter.js';
import {CONSUMABLES} from '../../src/families/miio/models/roborock-vacuum.js';
import {ALERT_FEATURE, FIRMWARE_FEATURE} from '../../src/families/rainmaker/config-to-features.js';
import {BRIDGE_DIAGNOSTICS} from '../../src/ha/discovery.js';
import {LOG_LEVELS} from '../../src/util/logger.js';
import {LANGUAGES} from '../../src/util/translations.js';
import {loadFrontend} from '../../src/web/static.js';

const DIRECTORY = path.resolve('translations');
const UI_DIRECTORY = path.resolve('src/web/ui');

function load(language: string): Record<string, string> {
    return JSON.parse(readFileSync(path.join(DIRECTORY, `${language}.json`), 'utf8')) as Record<string, string>;
}

/** The placeholders of a string (`{count}`): a translation must keep every one. */
function placeholders(text: string): string[] {
    return [...text.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!).sort();
}

const languages = readdirSync(DIRECTORY)
    .filter((name) => name.endsWith('.json'))
    .map((name) => name.slice(0, -'.json'.length));

/** Entity name keys the sources build from a value (the expression as written), and the keys they become. */
const BUILT_KEYS: Record<string, string[]> = {
    '`${stem}_left`': LIFESPAN_PARTS.map(([, stem]) => `${stem}_left`),
    '`${stem}_reset`': LIFESPAN_PARTS.map(([, stem]) => `${stem}_reset`),
    // The Roborock's consumables, named after their feature ids.
    id: CONSUMABLES.map(([, id]) => id),
    FIRMWARE_FEATURE: [FIRMWARE_FEATURE],
    ALERT_FEATURE: [ALERT_FEATURE],
    // The bridge's diagnostic counters.
    key: Object.keys(BRIDGE_DIAGNOSTICS),
};

describe('translations', () => {
    const english = load('en');

    it('exist for English and German, each a choice of the language setting', () => {
        expect(languages).toEqual(expect.arrayContaining(['en', 'de']));
        expect([...LANGUAGES].sort()).toEqual([...languages].sort());
    });

    it.each(languages)('%s has every key English has, no other, each with the same placeholders', (language) => {
        const strings = load(language);
        expect(Object.keys(strings).filter((key) => !(key in english)), 'keys English lacks').toEqual([]);
        expect(Object.keys(english).filter((key) => !(key in strings)), 'missing keys').toEqual([]);
        for (const [key, text] of Object.entries(strings)) {
            expect(text.trim(), key).not.toBe('');
            expect(placeholders(text), key).toEqual(placeholders(english[key]!));
        }
    });

    it('has every key the web UI asks for by name', () => {
        const used = new Set<string>();
        for (const file of readdirSync(UI_DIRECTORY).filter((name) => name.endsWith('.js'))) {
            const source = readFileSync(path.join(UI_DIRECTORY, file), 'utf8');
            for (const match of source.matchAll(/\bt\('([a-zA-Z_.]+)'/g)) used.add(match[1]!);
        }
        // Keys the UI builds from a value.
        for (const kind of FEATURE_KINDS) used.add(`kind.${kind}`);
        for (const action of VACUUM_ACTIONS) used.add(`vacuum.${action}`);
        for (const level of LOG_LEVELS) used.add(`level.${level}`);
        for (const format of DNS_FORMATS) used.add(`format.${format}`);
        for (const reason of TLS_REFUSAL_REASONS) used.add(`tlsRefusal.${reason}`);
        used.add('direction.in').add('direction.out');
        used.add(`setup.${CLOUD_KEY_SETUP_FIELD.id}`).add(`setup.${CLOUD_KEY_SETUP_FIELD.id}.hint`);
        // The labels of the families' onboarding notes (with every listener bound, whatever its label) and actions.
        const ports: EdgePorts = {mqttTls: 8883, mqttPlain: 1884, tls: 443, http: new Proxy({}, {get: () => 8080})};
        for (const family of ALL_FAMILIES as readonly FamilyModule[]) {
            for (const note of family.onboardingNotes?.(family.settings.parse({}), {ports, address: '192.0.2.1'}) ?? []) used.add(note.label);
            for (const action of family.onboardingActions?.(family.settings.parse({}), {dataDir: 'unused'}) ?? []) {
                used.add(`onboardingAction.${family.id}.${action.id}`).add(`onboardingAction.${family.id}.${action.id}.submit`);
                for (const field of action.fields) used.add(`setup.${field.id}`).add(`setup.${field.id}.hint`);
            }
            used.add(`family.${family.id}`);
            for (const files of family.onboardingFiles?.(family.settings.parse({}), {dataDir: 'unused'}) ?? []) {
                const key = `onboardingFiles.${family.id}.${files.id}`;
                used.add(key).add(`${key}.hint`).add(`${key}.none`).add(`${key}.item`);
            }
        }
        expect(used.size).toBeGreaterThan(50);
        expect([...used].filter((key) => !(key in english))).toEqual([]);
    });

    it('has every entity name the families and the Home Assistant side give', () => {
        const used = new Set<string>();
        const unresolved: string[] = [];
        for (const directory of ['src/families', 'src/ha']) {
            for (const file of readdirSync(directory, {recursive: true, encoding: 'utf8'}).filter((name) => name.endsWith('.ts'))) {
                const source = readFileSync(path.join(directory, file), 'utf8');
                // `name: {key: …}` in a feature, `names.entity(…)` / `names.text(…)` on the HA side.
                for (const match of source.matchAll(/name: \{key: ('[^']*'|`[^`]*`|\w+)\}|names\.(entity|text)\(([^)]+)\)/g)) {
                    const expression = (match[1] ?? match[3])!;
                    const prefix = match[2] === 'text' ? '' : 'entity.';
                    const literal = /^'([\w.]+)'$/.exec(expression);
                    if (literal) used.add(prefix + literal[1]);
                    else if (!BUILT_KEYS[expression]) unresolved.push(`${file}: ${expression}`);
                }
            }
        }
        expect(unresolved, 'keys built from a value: add them to BUILT_KEYS').toEqual([]);
        for (const key of Object.values(BUILT_KEYS).flat()) used.add(`entity.${key}`);
        expect(used.size).toBeGreaterThan(40);
        expect([...used].filter((key) => !(key in english))).toEqual([]);
    });

    it('the web UI speaks the language set in language', async () => {
        const frontend = await loadFrontend('de');
        expect(frontend.page(null).toString()).toContain('<html lang="de">');
        expect(JSON.parse(frontend.files.get('/translations.json')!.body.toString())).toMatchObject({'nav.devices': 'Geräte'});
    });
});
