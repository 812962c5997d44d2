import type {IPublishPacket} from 'mqtt';

import type {Extension} from '../core/extension.js';
import {createLogger} from '../util/logger.js';
import {decodeCommand} from './commands.js';
import type {HaContext} from './context.js';
import {BRIDGE_DEVICE_ID, type TopicLayout} from './topics.js';

const log = createLogger('ha:commands');

/**
 * Command topics in, routed commands out. Retained commands are refused: they would replay at
 * every connect.
 */
export class CommandIntake implements Extension {
    readonly name = 'ha:commands';
    private readonly topics: TopicLayout;
    private readonly unsubscribers: (() => void)[] = [];

    constructor(
        private readonly options: HaContext,
        /** The bridge's own entities take commands too, but nothing the router knows of. */
        private readonly onBridgeCommand: (featureId: string, payload: string) => void,
    ) {
        this.topics = options.topics;
    }

    start(): void {
        for (const filter of this.topics.commandFilters) {
            this.unsubscribers.push(this.options.connection.subscribe(filter, (topic, payload, packet) => this.onCommand(topic, payload, packet)));
        }
    }

    stop(): void {
        for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
    }

    private onCommand(topic: string, payload: Buffer, packet: IPublishPacket): void {
        if (packet.retain) {
            log.warn(`ignoring retained message on command topic ${topic}: commands are never retained`);
            return;
        }
        const target = this.topics.parseCommand(topic);
        if (!target) return;
        if (target.deviceId === BRIDGE_DEVICE_ID) return this.onBridgeCommand(target.featureId, payload.toString());
        const {deviceId, featureId, attribute} = target;
        // The router logs every refusal and failure with its reason; nothing is left to do here.
        this.options.router.decodeAndRoute(deviceId, featureId, (feature) => decodeCommand(feature, attribute, payload)).catch(() => undefined);
    }
}
