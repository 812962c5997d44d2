import {randomBytes} from 'node:crypto';
import {promises as fs, constants as fsConstants} from 'node:fs';
import path from 'node:path';

/**
 * Crash-safe JSON files. A write goes to `<file>.tmp`, is fsynced, the current file is kept as
 * `<file>.bak`, and the temp file is renamed over the original; the directory is fsynced so the
 * rename itself survives a power cut. At any instant `<file>` is either the old or the new
 * complete document, and `<file>.bak` is the one before it.
 */
export async function writeFileAtomic(file: string, content: string, options: {mode?: number; currentIsValid?: boolean} = {}): Promise<void> {
    const mode = options.mode ?? 0o600;
    const dir = path.dirname(file);
    const tmp = `${file}.tmp`;
    await writeSynced(tmp, content, mode, 'w');
    await keepBackup(file, options.currentIsValid ?? false);
    await fs.rename(tmp, file);
    await syncDirectory(dir);
}

/**
 * Writes `content` to `file` and fsyncs it before returning, with `mode` even if the file existed.
 * `flag` `wx` refuses an existing file, for writers that pick a unique name.
 */
export async function writeSynced(file: string, content: string | Uint8Array, mode: number, flag: 'w' | 'wx'): Promise<void> {
    const handle = await fs.open(file, flag, mode);
    try {
        await handle.writeFile(content);
        await handle.sync();
    } finally {
        await handle.close();
    }
    await fs.chmod(file, mode);
}

/** `content` in a new temp file beside `file`, named uniquely: two processes writing at once do not collide. */
export async function writeTemporary(file: string, content: string | Uint8Array, mode: number): Promise<string> {
    const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
    await writeSynced(temporary, content, mode, 'wx');
    return temporary;
}

/** Replaces `file` with `content` in one rename, keeping no backup: readers see the old or the new file, never a part. */
export async function replaceFile(file: string, content: string | Uint8Array, mode: number): Promise<void> {
    const temporary = await writeTemporary(file, content, mode);
    try {
        await fs.rename(temporary, file);
    } catch (error) {
        await fs.rm(temporary, {force: true});
        throw error;
    }
    await syncDirectory(path.dirname(file));
}

/** `currentIsValid`: the caller wrote or read the current file whole, so it need not be parsed again. */
async function keepBackup(file: string, currentIsValid: boolean): Promise<void> {
    const backup = `${file}.bak`;
    try {
        await fs.access(file, fsConstants.F_OK);
    } catch {
        return;
    }
    // Only a parseable file may become the backup: a corrupted original must not replace the last good copy.
    if (!currentIsValid) {
        try {
            JSON.parse(await fs.readFile(file, 'utf8'));
        } catch {
            return;
        }
    }
    await fs.rm(backup, {force: true});
    await fs.link(file, backup);
}

/** Makes a rename in `dir` durable. */
export async function syncDirectory(dir: string): Promise<void> {
    const handle = await fs.open(dir, 'r');
    try {
        await handle.sync();
    } finally {
        await handle.close();
    }
}

export type JsonReadResult<T> =
    | {status: 'missing'}
    | {status: 'ok'; value: T; source: string}
    | {status: 'recovered'; value: T; source: string; error: string}
    | {status: 'corrupt'; error: string};

/**
 * Reads `<file>`, falling back to `<file>.bak` when the file is cut short or not valid JSON.
 * `validate` throws with a reason when the document parses but has the wrong shape.
 */
export async function readJsonWithBackup<T>(file: string, validate: (value: unknown) => T): Promise<JsonReadResult<T>> {
    const primary = await readOne(file, validate);
    if (primary.status !== 'corrupt') return primary;
    const backup = await readOne(`${file}.bak`, validate);
    if (backup.status === 'ok') return {status: 'recovered', value: backup.value, source: backup.source, error: primary.error};
    return {status: 'corrupt', error: primary.error};
}

async function readOne<T>(file: string, validate: (value: unknown) => T): Promise<{status: 'missing'} | {status: 'ok'; value: T; source: string} | {status: 'corrupt'; error: string}> {
    let text: string;
    try {
        text = await fs.readFile(file, 'utf8');
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {status: 'missing'};
        return {status: 'corrupt', error: `${file}: ${(error as Error).message}`};
    }
    try {
        return {status: 'ok', value: validate(JSON.parse(text)), source: file};
    } catch (error) {
        const size = Buffer.byteLength(text);
        return {status: 'corrupt', error: `${file} (${size} bytes) is not a valid document: ${(error as Error).message}`};
    }
}
