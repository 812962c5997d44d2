/**
 * The frontend's files, read once at start: our own ES modules (`ui/`), Preact and htm from
 * node_modules as ES modules (no bundler, no CDN: the add-on runs offline), and the UI strings of
 * the configured language. Only these files are ever served, so no request path reaches the disk.
 */
import {createHash} from 'node:crypto';
import {readFile, readdir} from 'node:fs/promises';
import {fileURLToPath} from 'node:url';

import {type Language, translationsFile} from '../util/translations.js';

export interface StaticFile {
    body: Buffer;
    type: string;
}

export interface Frontend {
    files: Map<string, StaticFile>;
    /** The page, with `<base>` set under an ingress path and `lang` set. */
    page(ingressPath: string | null): Buffer;
    contentSecurityPolicy: string;
}

/** Next to this module: `src/web/ui` under tsx, `dist/web/ui` after `npm run build` (which copies it). */
const UI_DIRECTORY = new URL('./ui/', import.meta.url);

/** Bare module names the UI imports, served under `vendor/`, mapped for the browser by the page's import map. */
const VENDOR_MODULES = {preact: 'preact.mjs', 'preact/hooks': 'hooks.mjs', htm: 'htm.mjs'} as const;

const TYPES: Record<string, string> = {
    '.js': 'text/javascript; charset=utf-8',
    '.mjs': 'text/javascript; charset=utf-8',
    '.css': 'text/css; charset=utf-8',
    '.json': 'application/json; charset=utf-8',
    '.svg': 'image/svg+xml',
};

/** An ingress path as the Supervisor sends it: `/api/hassio_ingress/<token>`. Anything else is ignored. */
const INGRESS_PATH = /^(\/[A-Za-z0-9_.~-]+)+\/?$/;

export async function loadFrontend(language: Language): Promise<Frontend> {
    const files = new Map<string, StaticFile>();
    for (const name of await readdir(UI_DIRECTORY)) {
        const type = TYPES[name.slice(name.lastIndexOf('.'))];
        if (type) files.set(`/${name}`, {body: await readFile(new URL(name, UI_DIRECTORY)), type});
    }
    const imports: Record<string, string> = {};
    for (const [specifier, file] of Object.entries(VENDOR_MODULES)) {
        files.set(`/vendor/${file}`, {body: await readFile(fileURLToPath(import.meta.resolve(specifier))), type: TYPES['.mjs']!});
        imports[specifier] = `./vendor/${file}`;
    }
    files.set('/translations.json', {body: await readFile(translationsFile(language)), type: TYPES['.json']!});

    const importMap = JSON.stringify({imports});
    const template = (await readFile(new URL('index.html', UI_DIRECTORY), 'utf8')).replace('{{lang}}', language).replace('{{importmap}}', importMap);
    files.delete('/index.html');
    const importMapHash = createHash('sha256').update(importMap).digest('base64');
    return {
        files,
        page(ingressPath) {
            const base = ingressPath && INGRESS_PATH.test(ingressPath) && !ingressPath.includes('..') ? `<base href="${ingressPath.replace(/\/?$/, '/')}">` : '';
            return Buffer.from(template.replace('{{base}}', base));
        },
        contentSecurityPolicy: [
            "default-src 'self'",
            `script-src 'self' 'sha256-${importMapHash}'`,
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'self'",
        ].join('; '),
    };
}
