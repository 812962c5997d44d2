import type {IPublishPacket} from 'mqtt';

import type {Extension} from '../core/extension.js';
import {createLogger} from '../util/logger.js';
import {parseCommand} from './commands.js';
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
        const device = this.options.registry.get(target.deviceId);
        const feature = device?.features.find((candidate) => candidate.id === target.featureId);
        if (!device || !feature) {
            log.warn(`command for unknown ${device ? 'feature' : 'device'} on ${topic}`);
            return;
        }
        const parsed = parseCommand(device.id, feature, target.attribute, payload);
        if (!parsed.ok) {
            log.warn(`${device.id}/${feature.id}: command refused: ${parsed.reason}`);
            return;
        }
        this.options.router.route(parsed.command).catch((error: Error) => log.warn(`${device.id}/${feature.id}: command failed: ${error.message}`));
    }
}
