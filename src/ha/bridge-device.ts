import type {Extension} from '../core/extension.js';
import {LOG_LEVELS, type LogLevel, createLogger, getLogLevel, setLogLevel} from '../util/logger.js';
import type {HaContext} from './context.js';
import {type BridgeDiagnostics, buildBridgeDiscovery} from './discovery.js';

const log = createLogger('ha:bridge');

/** Counters are news, not a stream: checked this often and published when they changed. */
const DIAGNOSTICS_INTERVAL_MS = 10_000;

/**
 * fogbridge itself as a device in HA: its connection, its device count, its drop and flood
 * counters, and a log level HA can set.
 */
export class BridgeDevice implements Extension {
    readonly name = 'ha:bridge';
    private removeFromReplay: (() => void) | null = null;
    private diagnosticsTimer: NodeJS.Timeout | null = null;
    private publishedDiagnostics = '';

    constructor(private readonly context: HaContext) {}

    start(): void {
        this.removeFromReplay = this.context.replay.add({beforeDevices: () => this.publish()});
        this.diagnosticsTimer = setInterval(() => this.publishDiagnostics(false), DIAGNOSTICS_INTERVAL_MS);
        this.diagnosticsTimer.unref();
    }

    stop(): void {
        this.removeFromReplay?.();
        this.removeFromReplay = null;
        if (this.diagnosticsTimer) clearInterval(this.diagnosticsTimer);
        this.diagnosticsTimer = null;
    }

    diagnostics(): BridgeDiagnostics {
        const queue = this.context.queue.stats();
        const {flood, hellosUnanswered} = this.context.edgeCounters();
        return {queue_dropped: queue.dropped, queue_throttled: queue.throttled, flood_dropped: flood.dropped, flooding_devices: flood.flooding, hellos_unanswered: hellosUnanswered};
    }

    /** `always`: a replay re-publishes it even unchanged (the broker may have lost it). */
    private publishDiagnostics(always: boolean): void {
        const payload = JSON.stringify(this.diagnostics());
        if (!always && payload === this.publishedDiagnostics) return;
        this.publishedDiagnostics = payload;
        const {queue, topics} = this.context;
        queue.enqueue({topic: topics.bridgeDiagnostics, payload, retain: true, qos: 1}, always ? {replay: 'fast'} : {});
    }

    /** A command on `<base>/bridge/<feature>/set`; the log level is the only one the bridge takes. */
    onCommand(featureId: string, payload: string): void {
        if (featureId !== 'log_level' || !(LOG_LEVELS as readonly string[]).includes(payload)) {
            log.warn(`bridge command refused: "${payload.slice(0, 20)}" on ${featureId} (the bridge takes a log level: ${LOG_LEVELS.join(', ')})`);
            return;
        }
        setLogLevel(payload as LogLevel);
        log.info(`log level set to ${payload} from Home Assistant`);
        const {queue, topics} = this.context;
        queue.enqueue({topic: topics.bridgeLogLevel, payload, retain: true, qos: 1});
    }

    private publish(): void {
        const {queue, topics, names} = this.context;
        // The bridge's own availability belongs to "everything" too: a retained copy cleared by hand
        // (or lost with a broker's store) would otherwise leave every entity unavailable.
        queue.enqueue({topic: topics.bridgeState, payload: 'online', retain: true, qos: 1}, {replay: 'fast'});
        queue.enqueue({topic: topics.bridgeDiscovery, payload: JSON.stringify(buildBridgeDiscovery(topics, names)), retain: true, qos: 1}, {replay: 'paced'});
        queue.enqueue({topic: topics.bridgeLogLevel, payload: getLogLevel(), retain: true, qos: 1}, {replay: 'fast'});
        this.publishDiagnostics(true);
    }
}
