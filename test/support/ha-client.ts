import mqtt, {type MqttClient} from 'mqtt';

import {assertValidDiscovery} from './discovery-validator.js';

export interface ReceivedMessage {
    topic: string;
    payload: string;
    retain: boolean;
    qos: number;
    at: number;
}

type Tree = Record<string, unknown>;

/**
 * An MQTT client that behaves like Home Assistant: subscribes to discovery and the bridge's
 * topics, checks every discovery message with the strict validator (a failure is kept and
 * reported by `assertDiscoveryValid`), and publishes commands and birth messages.
 */
export class HaTestClient {
    readonly messages: ReceivedMessage[] = [];
    readonly discoveryErrors: string[] = [];
    private waiters: (() => void)[] = [];

    private constructor(
        readonly client: MqttClient,
        readonly discoveryPrefix: string,
        readonly baseTopic: string,
    ) {}

    static async connect(url: string, options: {discoveryPrefix?: string; baseTopic?: string} = {}): Promise<HaTestClient> {
        const discoveryPrefix = options.discoveryPrefix ?? 'homeassistant';
        const baseTopic = options.baseTopic ?? 'fogbridge';
        const client = await mqtt.connectAsync(url, {clientId: `ha-test-${process.pid}-${Math.random().toString(16).slice(2, 8)}`, reconnectPeriod: 200});
        const ha = new HaTestClient(client, discoveryPrefix, baseTopic);
        client.on('message', (topic, payload, packet) => ha.receive(topic, payload, packet.retain, packet.qos));
        await client.subscribeAsync([`${discoveryPrefix}/#`, `${baseTopic}/#`], {qos: 1});
        return ha;
    }

    private receive(topic: string, payload: Buffer, retain: boolean, qos: number): void {
        const text = payload.toString('utf8');
        if (topic.startsWith(`${this.discoveryPrefix}/`) && topic.endsWith('/config')) {
            try {
                assertValidDiscovery(topic, text, {discoveryPrefix: this.discoveryPrefix});
            } catch (error) {
                this.discoveryErrors.push(`${topic}: ${(error as Error).message}`);
            }
        }
        this.messages.push({topic, payload: text, retain, qos, at: Date.now()});
        for (const wake of this.waiters.splice(0)) wake();
    }

    /** Waits for a message (already received after `since`, or a new one) matching the predicate. */
    async waitFor(predicate: (message: ReceivedMessage) => boolean, options: {timeoutMs?: number; since?: number; what?: string} = {}): Promise<ReceivedMessage> {
        const timeoutMs = options.timeoutMs ?? 5000;
        const since = options.since ?? 0;
        const deadline = Date.now() + timeoutMs;
        let checked = 0;
        for (;;) {
            for (; checked < this.messages.length; checked++) {
                const message = this.messages[checked]!;
                if (message.at >= since && predicate(message)) return message;
            }
            const remaining = deadline - Date.now();
            if (remaining <= 0) {
                const recent = this.messages.slice(-8).map((message) => `${message.topic} ${message.payload.slice(0, 120)}`);
                throw new Error(`timed out waiting for ${options.what ?? 'a message'}; last messages:\n  ${recent.join('\n  ')}`);
            }
            await new Promise<void>((resolve) => {
                const timer = setTimeout(resolve, remaining);
                this.waiters.push(() => {
                    clearTimeout(timer);
                    resolve();
                });
            });
        }
    }

    discoveryTopic(deviceId: string): string {
        return `${this.discoveryPrefix}/device/${deviceId}/config`;
    }

    /** The next valid, non-empty discovery payload of a device. */
    async waitForDiscovery(deviceId: string, options: {timeoutMs?: number; since?: number} = {}): Promise<Tree & {cmps: Record<string, Tree>}> {
        const topic = this.discoveryTopic(deviceId);
        const message = await this.waitFor((candidate) => candidate.topic === topic && candidate.payload.length > 0, {...options, what: `discovery of ${deviceId}`});
        this.assertDiscoveryValid();
        return JSON.parse(message.payload) as Tree & {cmps: Record<string, Tree>};
    }

    async waitForAvailability(deviceId: string, value: 'online' | 'offline', options: {timeoutMs?: number; since?: number} = {}): Promise<void> {
        const topic = `${this.baseTopic}/${deviceId}/availability`;
        await this.waitFor((message) => message.topic === topic && message.payload === value, {...options, what: `${deviceId} ${value}`});
    }

    /** The next device state (JSON on `<base>/<device>/state`) that satisfies the predicate. */
    async waitForState(deviceId: string, predicate: (state: Tree) => boolean, options: {timeoutMs?: number; since?: number} = {}): Promise<Tree> {
        const topic = `${this.baseTopic}/${deviceId}/state`;
        const message = await this.waitFor((candidate) => candidate.topic === topic && candidate.payload.length > 0 && predicate(JSON.parse(candidate.payload) as Tree), {
            ...options,
            what: `a matching state of ${deviceId}`,
        });
        return JSON.parse(message.payload) as Tree;
    }

    /** The latest payload seen on a topic. */
    latest(topic: string): ReceivedMessage | undefined {
        for (let i = this.messages.length - 1; i >= 0; i--) if (this.messages[i]!.topic === topic) return this.messages[i];
        return undefined;
    }

    async publish(topic: string, payload: string, options: {retain?: boolean; qos?: 0 | 1} = {}): Promise<void> {
        await this.client.publishAsync(topic, payload, {retain: options.retain ?? false, qos: options.qos ?? 0});
    }

    /** A command as HA sends it: never retained. */
    async command(deviceId: string, featureId: string, payload: string, attribute?: string): Promise<void> {
        const topic = attribute ? `${this.baseTopic}/${deviceId}/${featureId}/${attribute}/set` : `${this.baseTopic}/${deviceId}/${featureId}/set`;
        await this.publish(topic, payload);
    }

    /** HA's birth message. */
    async birth(topic = `${this.discoveryPrefix}/status`): Promise<void> {
        await this.publish(topic, 'online');
    }

    assertDiscoveryValid(): void {
        if (this.discoveryErrors.length) throw new Error(`invalid discovery:\n${this.discoveryErrors.join('\n')}`);
    }

    async close(): Promise<void> {
        await this.client.endAsync(true);
    }
}
