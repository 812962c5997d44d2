import type {Extension} from '../core/extension.js';
import {LOG_LEVELS, type LogLevel, createLogger, getLogLevel, setLogLevel} from '../util/logger.js';
import type {HaContext} from './context.js';
import {buildBridgeDiscovery} from './discovery.js';

const log = createLogger('ha:bridge');

/** fogbridge itself as a device in HA: its connection, its device count, and a log level HA can set. */
export class BridgeDevice implements Extension {
    readonly name = 'ha:bridge';
    private removeFromReplay: (() => void) | null = null;

    constructor(private readonly context: HaContext) {}

    start(): void {
        this.removeFromReplay = this.context.replay.add({beforeDevices: () => this.publish()});
    }

    stop(): void {
        this.removeFromReplay?.();
        this.removeFromReplay = null;
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
        const {queue, topics} = this.context;
        // The bridge's own availability belongs to "everything" too: a retained copy cleared by hand
        // (or lost with a broker's store) would otherwise leave every entity unavailable.
        queue.enqueue({topic: topics.bridgeState, payload: 'online', retain: true, qos: 1}, {bulk: true});
        queue.enqueue({topic: topics.bridgeDiscovery, payload: JSON.stringify(buildBridgeDiscovery(topics)), retain: true, qos: 1}, {bulk: true});
        queue.enqueue({topic: topics.bridgeLogLevel, payload: getLogLevel(), retain: true, qos: 1}, {bulk: true});
    }
}
