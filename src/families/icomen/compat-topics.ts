/**
 * The legacy topics of kroseneg/icomen-mqtt-bridge, for users migrating from it, as an extension
 * the family contributes: `<base>/cmnd/<mac>/POWER|RequestRAW|ResponseRAW` in, `<base>/stat/<mac>/POWER`
 * (retained) and `<base>/raw/<mac>/RECV|SEND` out. It sits beside the Home Assistant extensions,
 * not inside the adapter, so it subscribes only while it runs and the adapter knows nothing of topics.
 */
import type {Extension} from '../../core/extension.js';
import {createLogger, type Logger} from '../../util/logger.js';
import type {TopicPort} from '../family.js';
import {type EncodedFrame, type IcomenFrame, IcomenCodecError, parseRawCommand, renderRaw} from './codec.js';

/** What the plugs say and are sent, as the adapter sees it. */
export interface PlugObserver {
    frameReceived(mac: string, frame: IcomenFrame): void;
    frameSent(mac: string, sent: EncodedFrame): void;
    /** null: the plug reported a state that is neither on nor off. */
    switchState(mac: string, on: boolean | null): void;
}

/** The adapter as the compatibility topics need it. */
export interface CompatPlugs {
    /** Tells `observer` about every plug from now on; the returned function stops that. */
    observe(observer: PlugObserver): () => void;
    /** Both throw when the plug is not connected. */
    sendPower(mac: string, on: boolean): void;
    sendRaw(mac: string, command: number, data: Buffer, as: 'request' | 'response'): void;
}

export class CompatTopics implements Extension {
    readonly name = 'icomen compatibility topics';
    private stopObserving: (() => void) | null = null;
    private unsubscribe: (() => void) | null = null;
    // Per instance, as the adapter's: a bridge started again in the same process begins with fresh flood limits.
    private readonly log: Logger = createLogger('icomen:compat');

    constructor(
        private readonly topics: TopicPort,
        private readonly base: string,
        private readonly plugs: CompatPlugs,
    ) {}

    start(): void {
        this.stopObserving ??= this.plugs.observe({
            frameReceived: (mac, frame) => this.publish(mac, 'raw', 'RECV', renderRaw(frame.frame, frame.plaintext)),
            frameSent: (mac, sent) => this.publish(mac, 'raw', 'SEND', renderRaw(sent.frame, sent.plaintext)),
            switchState: (mac, on) => this.publish(mac, 'stat', 'POWER', on === null ? 'UNKNOWN' : on ? 'ON' : 'OFF', true),
        });
        this.unsubscribe ??= this.topics.subscribe(`${this.base}/cmnd/+/+`, (topic, payload) => {
            const [, , mac, what] = topic.split('/');
            if (!mac || !what || !/^[0-9a-f]{12}$/.test(mac)) return;
            this.command(mac, what, payload.toString('utf8'));
        });
    }

    stop(): void {
        this.unsubscribe?.();
        this.unsubscribe = null;
        this.stopObserving?.();
        this.stopObserving = null;
    }

    private publish(mac: string, kind: 'raw' | 'stat', leaf: string, payload: string, retain = false): void {
        this.topics.publish(`${this.base}/${kind}/${mac}/${leaf}`, payload, {retain});
    }

    private command(mac: string, what: string, payload: string): void {
        const topic = `${this.base}/cmnd/${mac}/${what}`;
        try {
            switch (what) {
                case 'POWER':
                    if (payload !== 'ON' && payload !== 'OFF') {
                        this.log.limited('warn', `compat:${mac}`, `${topic}: "${payload.slice(0, 20)}" is neither ON nor OFF; ignored`);
                        return;
                    }
                    this.plugs.sendPower(mac, payload === 'ON');
                    return;
                case 'RequestRAW':
                case 'ResponseRAW': {
                    const {command, data} = parseRawCommand(payload.trim());
                    this.plugs.sendRaw(mac, command, data, what === 'RequestRAW' ? 'request' : 'response');
                    return;
                }
                default:
                    this.log.debug(() => `${topic}: unknown command topic ignored`);
            }
        } catch (error) {
            const reason = error instanceof IcomenCodecError ? `bad payload: ${error.message}` : (error as Error).message;
            this.log.limited('warn', `compat:${mac}`, `${topic}: ${reason}`);
        }
    }
}
