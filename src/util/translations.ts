/**
 * The top-level `translations/<language>.json`: every UI string and every entity name fogbridge
 * publishes, one flat key → text file per language. The web UI serves its file; the Home Assistant
 * side looks entity names up in it.
 */
import {readFile} from 'node:fs/promises';

export const LANGUAGES = ['en', 'de'] as const;
export type Language = (typeof LANGUAGES)[number];

/** Two levels up from `src/util` under tsx and from `dist/util` after `npm run build`. */
const TRANSLATIONS_DIRECTORY = new URL('../../translations/', import.meta.url);

export function translationsFile(language: Language): URL {
    return new URL(`${language}.json`, TRANSLATIONS_DIRECTORY);
}

export async function loadTranslations(language: Language): Promise<Record<string, string>> {
    return JSON.parse(await readFile(translationsFile(language), 'utf8')) as Record<string, string>;
}
