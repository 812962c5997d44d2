import {promises as fs} from 'node:fs';
import path from 'node:path';

import {syncDirectory, writeTemporary} from '../../util/atomic-file.js';

export {replaceFile} from '../../util/atomic-file.js';

/**
 * File helpers for key material. `util/atomic-file.ts`'s `writeFileAtomic` is made for JSON documents (it keeps a
 * parsed `.bak` and uses one fixed temp name); PEM files need neither, but they may be written by
 * two processes starting at once, so they are replaced through unique temp names (`replaceFile`)
 * and the CA is created with an exclusive link that only one process can win.
 */

/** Creates `dir` (and parents) and forces it to 0700: it holds private keys. */
export async function ensurePrivateDirectory(dir: string): Promise<void> {
    await fs.mkdir(dir, {recursive: true, mode: 0o700});
    await fs.chmod(dir, 0o700);
}

/**
 * Creates `file` only if it does not exist yet, complete or not at all. Returns false when another
 * writer got there first (its content is then the one to use).
 */
export async function createFileExclusive(file: string, content: string, mode: number): Promise<boolean> {
    const temporary = await writeTemporary(file, content, mode);
    try {
        // link() fails with EEXIST instead of replacing, unlike rename(): the first complete file wins.
        await fs.link(temporary, file);
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw error;
    } finally {
        await fs.rm(temporary, {force: true});
    }
    await syncDirectory(path.dirname(file));
    return true;
}

export async function readFileIfExists(file: string): Promise<string | null> {
    try {
        return await fs.readFile(file, 'utf8');
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
    }
}
