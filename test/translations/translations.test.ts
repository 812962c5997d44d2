import {readFileSync, readdirSync} from 'node:fs';
import path from 'node:path';

import {describe, expect, it} from 'vitest';

import {FEATURE_KINDS, VACUUM_ACTIONS} from '../../src/core/device.js';
import {assembleSettingsSchema} from '../../src/config/schema.js';
import {DNS_FORMATS} from '../../src/dns.js';
import {TLS_REFUSAL_REASONS} from '../../src/edge/tls/refusals.js';
import type {FamilyModule} from '../../src/families/family.js';
import {ALL_FAMILIES} from '../../src/families/index.js';
import {CLOUD_KEY_SETUP_FIELD} from '../../src/families/miio/adapter.js';
import {LOG_LEVELS} from '../../src/util/logger.js';
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

describe('translations', () => {
    const english = load('en');

    it('exist for English and German', () => {
        expect(languages).toEqual(expect.arrayContaining(['en', 'de']));
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
        // The labels of the families' onboarding notes (with every port on) and actions.
        const edge = assembleSettingsSchema(ALL_FAMILIES).parse({}).edge;
        for (const family of ALL_FAMILIES as readonly FamilyModule[]) {
            for (const note of family.onboardingNotes?.(family.settings.parse({}), {edge, address: '192.0.2.1'}) ?? []) used.add(note.label);
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

    it('the web UI speaks the language set in web.language', async () => {
        const frontend = await loadFrontend('de');
        expect(frontend.page(null).toString()).toContain('<html lang="de">');
        expect(JSON.parse(frontend.files.get('/translations.json')!.body.toString())).toMatchObject({'nav.devices': 'Geräte'});
    });
});
