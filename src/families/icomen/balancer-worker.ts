/**
 * The balancer thread itself (started by `balancer-thread.ts`): one `IcomenServer` on the balancer
 * port, its hooks and log lines queued and sent to the main thread once per turn of this loop, its
 * flood guard's counters sent when they change while a plug floods.
 */
import {parentPort, workerData} from 'node:worker_threads';

import {FloodGuards} from '../../edge/flood-guard.js';
import {createLogger, setLogLevel, setLogSink} from '../../util/logger.js';
import {setThreadPriority} from '../../util/thread.js';
import {BALANCER_LOG_NAMESPACE, BALANCER_PRIORITY, type BalancerCommand, type BalancerEvent, type BalancerMessage, type BalancerWorkerData} from './balancer-thread.js';
import {IcomenServer} from './server.js';

/** How often the flood counters are looked at while a plug floods; they are sent only when they changed. */
const FLOOD_REPORT_MS = 1000;

const data = workerData as BalancerWorkerData;
const port = parentPort!;
let queued: BalancerEvent[] = [];

function post(message: BalancerMessage): void {
    port.postMessage(message);
}

function emit(event: BalancerEvent): void {
    if (queued.length === 0) setImmediate(flush);
    queued.push(event);
}

/**
 * A frame's bytes on their own: a Buffer is often a view into an 8 KB pool, and posting the view
 * would copy the whole pool across and keep it alive on the other side.
 */
function own(bytes: Buffer): Uint8Array {
    return new Uint8Array(bytes);
}

function flush(): void {
    if (queued.length === 0) return;
    const events = queued;
    queued = [];
    post({kind: 'events', events});
}

setLogLevel(data.logLevel);
setLogSink((level, namespace, message) => emit({hook: 'log', level, namespace, message}));

const log = createLogger(BALANCER_LOG_NAMESPACE);
const refused = setThreadPriority(BALANCER_PRIORITY);
if (refused) log.debug(`cannot raise the balancer thread's priority (${refused}): it shares the cores with the rest of the bridge`);

const floodGuards = new FloodGuards();
let reportedFlood = '';
let floodReport: NodeJS.Timeout | null = null;

/**
 * The counters change only while a plug floods, and for a while after (as `flooding` decays): only
 * then are they looked at, so an idle thread has no timer to wake it.
 */
function reportFloodSoon(): void {
    floodReport ??= setTimeout(reportFlood, FLOOD_REPORT_MS);
}

function reportFlood(): void {
    floodReport = null;
    const stats = floodGuards.totals();
    const text = JSON.stringify(stats);
    if (text !== reportedFlood) {
        reportedFlood = text;
        post({kind: 'flood', stats});
    }
    if (stats.flooding > 0) reportFloodSoon();
}

const server = new IcomenServer({
    settings: data.settings,
    listener: 'balancer',
    redirectPort: data.redirectPort,
    counters: data.counters,
    floodGuard: (settings, noun, log) => floodGuards.create(settings, noun, log, reportFloodSoon),
    logger: log,
    hooks: {
        plugConnected: (plug) => emit({hook: 'plugConnected', plug}),
        ...(data.forwardFrames
            ? {
                  frameReceived: (mac, frame) => emit({hook: 'frameReceived', mac, frame: own(frame.frame), plaintext: own(frame.plaintext)}),
                  frameSent: (mac, sent) => emit({hook: 'frameSent', mac, frame: own(sent.frame), plaintext: own(sent.plaintext)}),
              }
            : {}),
        switchState: (mac, on, command) => emit({hook: 'switchState', mac, on, command}),
        badInput: (mac, remote, reason) => emit({hook: 'badInput', mac, remote, reason}),
    },
});

async function stop(): Promise<void> {
    await server.stop();
    if (floodReport) clearTimeout(floodReport);
    flush();
    // Nothing else holds the thread open: it ends here.
    port.close();
}

port.on('message', (command: BalancerCommand) => {
    if (command.kind === 'level') setLogLevel(command.level);
    else void stop();
});

server.start().then(
    (bound) => {
        flush();
        post({kind: 'listening', port: bound});
    },
    (error: Error) => {
        flush();
        post({kind: 'failed', message: error.message});
        port.close();
    },
);
