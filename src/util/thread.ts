/**
 * Worker threads on modules of ours, whether the bridge runs from its build (`dist/*.js`) or from
 * the TypeScript source (tests, `npm run fogbridge`). A thread does not inherit the main thread's
 * module loader, so from source it imports its module through tsx's API.
 */
import {readlinkSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {Worker, type WorkerOptions} from 'node:worker_threads';

/**
 * Starts a thread on the module `name` (without extension) beside `importMetaUrl`, the caller's
 * `import.meta.url`: `.ts` beside a source file, `.js` beside a built one.
 */
export function startThread(name: string, importMetaUrl: string, options: WorkerOptions): Worker {
    const fromSource = new URL(importMetaUrl).pathname.endsWith('.ts');
    const module = new URL(`./${name}.${fromSource ? 'ts' : 'js'}`, importMetaUrl);
    if (!fromSource) return new Worker(module, options);
    const tsx = import.meta.resolve('tsx/esm/api');
    const code = `import(${JSON.stringify(tsx)}).then(({tsImport}) => tsImport(${JSON.stringify(module.href)}, ${JSON.stringify(module.href)}))`;
    return new Worker(code, {...options, eval: true});
}

/**
 * Gives the calling thread a scheduling priority (a nice value, lower is sooner) of its own, not
 * the process's. Linux only, and raising a priority needs root or CAP_SYS_NICE: returns the reason
 * it could not, or null.
 */
export function setThreadPriority(priority: number): string | null {
    try {
        // On Linux a thread's id is a valid target for setpriority(PRIO_PROCESS).
        const threadId = Number(path.basename(readlinkSync('/proc/thread-self')));
        os.setPriority(threadId, priority);
        return null;
    } catch (error) {
        return (error as Error).message;
    }
}
