/**
 * One archive (gzipped tar, written and read by the `tar` package) of the data directory: the
 * registry with every device and its keys, the CA and the server certificate, the families' files.
 * Restored only into an empty directory, so a restore never mixes two installations' keys. Modes
 * travel with the files: what was 0600 stays 0600.
 */
import {mkdir, readdir, stat} from 'node:fs/promises';
import path from 'node:path';
import type {Readable} from 'node:stream';

import * as tar from 'tar';

import {registryFile} from './registry.js';

/** Files of the moment, not of the installation: a lock of the running bridge, a write in progress, the previous registry (a hard link). */
const TRANSIENT = /\.(lock|tmp|bak)$/;

export class BackupError extends Error {}

/** The archive as a stream; the bridge may run meanwhile (its files are replaced by rename, never rewritten in place). */
export function createBackup(dataDir: string): Readable {
    return tar.create({gzip: true, cwd: dataDir, portable: true, filter: (entry) => !TRANSIENT.test(entry)}, ['.']) as unknown as Readable;
}

/** A backup file into `dataDir`, which must be empty or absent; rejects with BackupError saying why not. */
export async function restoreBackup(archive: string, dataDir: string): Promise<{files: number}> {
    const existing = await readdir(dataDir).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return [];
        throw error;
    });
    if (existing.length > 0) throw new BackupError(`${dataDir} is not empty (${existing.slice(0, 3).join(', ')}${existing.length > 3 ? ', …' : ''}): restore into an empty data directory`);
    await stat(archive).catch(() => {
        throw new BackupError(`no backup file ${archive}`);
    });
    const entries = await listEntries(archive);
    if (!entries.has(path.basename(registryFile(dataDir)))) throw new BackupError(`${archive} is not a fogbridge backup: it has no registry.json`);
    await mkdir(dataDir, {recursive: true, mode: 0o700});
    let files = 0;
    await tar.extract({
        file: archive,
        cwd: dataDir,
        strict: true,
        // Only files and directories: a link in a backup could point anywhere on this machine.
        filter: (_entryPath, entry) => {
            const kind = 'type' in entry ? entry.type : null;
            if (kind === 'File') files++;
            return kind === 'File' || kind === 'Directory';
        },
    });
    return {files};
}

/** Entry paths, normalised (`./tls/ca.pem` → `tls/ca.pem`); rejects an archive tar cannot read. */
async function listEntries(archive: string): Promise<Set<string>> {
    const entries = new Set<string>();
    try {
        await tar.list({file: archive, strict: true, onReadEntry: (entry) => void entries.add(path.normalize(entry.path).replace(/\/$/, ''))});
    } catch (error) {
        throw new BackupError(`${archive} is not a readable backup: ${(error as Error).message}`);
    }
    return entries;
}
