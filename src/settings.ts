/**
 * The settings of this build: the core's sections and every registered family's, assembled into
 * one schema that the file, the environment, the flags and the add-on options are checked against.
 */
import type {z} from 'zod';

import {type SettingsSources, loadSettingsWith, settingKeysOf} from './config/load.js';
import {assembleSettingsSchema, settingsSection} from './config/schema.js';
import type {FamilyCli, FamilyModule} from './families/family.js';
import {ALL_FAMILIES} from './families/index.js';

export {SettingsError, type SettingsSources} from './config/load.js';

export const settingsSchema = assembleSettingsSchema(ALL_FAMILIES);
export type Settings = z.output<typeof settingsSchema>;
export type SettingsInput = z.input<typeof settingsSchema>;

export function loadSettings(sources: SettingsSources = {}): Settings {
    return loadSettingsWith(settingsSchema, sources);
}

/** Every settable key, with its environment variable. */
export function settingKeys(): ReturnType<typeof settingKeysOf> {
    return settingKeysOf(settingsSchema);
}

/** What a family's CLI commands get: the settings `run` would read, and the family's section of them. */
export function familyCli<Schema extends z.ZodType>(family: FamilyModule<string, Schema>): FamilyCli<z.output<Schema>> {
    return {
        loadSettings({config, dataDir}) {
            const settings = loadSettings({file: config ?? process.env.FOGBRIDGE_CONFIG, env: process.env, flags: dataDir ? {dataDir} : {}});
            return {dataDir: settings.dataDir, section: settingsSection(settings, family.id) as z.output<Schema>, edge: settings.edge};
        },
    };
}
