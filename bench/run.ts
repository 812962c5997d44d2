/**
 * `npm run bench -- <name> [args]`: runs bench/<name>.ts, which prints one JSON line comparing us
 * with a baseline measured in the same run.
 */
import {readdirSync} from 'node:fs';
import {fileURLToPath, pathToFileURL} from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
    .filter((file) => file.endsWith('.ts') && !['run.ts', 'stats.ts', 'support.ts'].includes(file))
    .map((file) => file.slice(0, -3));
const name = process.argv[2];
if (!name || !available.includes(name)) {
    process.stderr.write(`usage: npm run bench -- <${available.join('|')}>\n`);
    process.exit(2);
}
process.argv.splice(2, 1);
await import(pathToFileURL(path.join(here, `${name}.ts`)).href);
