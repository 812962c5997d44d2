/**
 * Loaded into the bridge by `npm run bench -- scale --diagnostics <dir>` (`node --import`), never
 * by the bridge itself. It writes to `<dir>`:
 * - `loop.jsonl`: every 250 ms, the event loop's delay (max and p99 over that interval, from
 *   `monitorEventLoopDelay`), so a storm's stalls show where the balancer's answer waits;
 * - on SIGUSR2: `memory-<label>.json` (after two full collections: `process.memoryUsage()`, VmRSS,
 *   V8's heap spaces) and, with `FOGBRIDGE_HEAP_SNAPSHOT=1`, `<label>.heapsnapshot`, where the
 *   label is read from `<dir>/label`.
 */
import {appendFileSync, readFileSync, writeFileSync} from 'node:fs';
import path from 'node:path';
import {monitorEventLoopDelay} from 'node:perf_hooks';
import v8 from 'node:v8';
import {setFlagsFromString} from 'node:v8';
import {runInNewContext} from 'node:vm';

const directory = process.env.FOGBRIDGE_DIAGNOSTICS_DIR;
if (directory) {
    const delay = monitorEventLoopDelay({resolution: 5});
    delay.enable();
    const loopFile = path.join(directory, 'loop.jsonl');
    setInterval(() => {
        const line = {at: Date.now(), maxMs: delay.max / 1e6, p99Ms: delay.percentile(99) / 1e6, meanMs: delay.mean / 1e6};
        delay.reset();
        appendFileSync(loopFile, `${JSON.stringify(line)}\n`);
    }, 250).unref();

    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    process.on('SIGUSR2', () => {
        const label = readFileSync(path.join(directory, 'label'), 'utf8').trim();
        gc();
        gc();
        const status = readFileSync('/proc/self/status', 'utf8');
        const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN);
        const memory = {
            ...process.memoryUsage(),
            vmRssKb: kb('VmRSS'),
            rssAnonKb: kb('RssAnon'),
            rssFileKb: kb('RssFile'),
            spaces: Object.fromEntries(v8.getHeapSpaceStatistics().map((space) => [space.space_name, {size: space.space_size, used: space.space_used_size}])),
        };
        writeFileSync(path.join(directory, `memory-${label}.json`), JSON.stringify(memory));
        if (process.env.FOGBRIDGE_HEAP_SNAPSHOT === '1') v8.writeHeapSnapshot(path.join(directory, `${label}.heapsnapshot`));
        writeFileSync(path.join(directory, `done-${label}`), '');
    });
}
