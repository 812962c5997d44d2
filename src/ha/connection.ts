import {readFileSync} from 'node:fs';
import type {Socket} from 'node:net';

import mqtt, {type IClientOptions, type IPublishPacket, type MqttClient} from 'mqtt';

import type {HaSettings} from '../config/schema.js';
import {createLogger, registerSecret} from '../util/logger.js';
import {topicMatches} from '../util/mqtt-topic.js';
import type {OutboundMessage} from './queue.js';

const log = createLogger('ha:mqtt');

/**
 * A broker restart (an add-on update, a host reboot of Mosquitto) is back within seconds: while the
 * outage is short, retry every quarter second or so, so the bridge is back within a second of the
 * port returning. Only a long outage backs off, up to the maximum. Jitter spreads the retries of
 * several bridges.
 */
const SHORT_OUTAGE_MS = 30_000;
const SHORT_RETRY_MS = 250;
const LONG_RETRY_MIN_MS = 1000;
const MAX_RECONNECT_MS = 30_000;
/** How long a stop waits for the broker to take the `offline` state. */
const STOP_WAIT_MS = 1500;

/** The wait before the next attempt, `outageMs` into an outage. */
export function reconnectDelayMs(outageMs: number, random: () => number = Math.random): number {
    if (outageMs < SHORT_OUTAGE_MS) return Math.round(SHORT_RETRY_MS * (0.5 + random()));
    const doublings = Math.floor((outageMs - SHORT_OUTAGE_MS) / 10_000);
    const base = Math.min(MAX_RECONNECT_MS, LONG_RETRY_MIN_MS * 2 ** doublings);
    return Math.round(base * (0.8 + 0.4 * random()));
}

type MessageHandler = (topic: string, payload: Buffer, packet: IPublishPacket) => void;

/**
 * The mqtt.js client to Home Assistant's broker: last will `offline` on the bridge state topic,
 * `online` on every connect, reconnect with exponential backoff, Nagle off on every new stream.
 */
export class HaConnection {
    private client: MqttClient | null = null;
    private readonly handlers: {filter: string; handler: MessageHandler}[] = [];
    private readonly connectListeners: (() => void)[] = [];
    private readonly disconnectListeners: (() => void)[] = [];
    private corked = false;
    /** When the current outage began; null while connected. */
    private downSince: number | null = null;
    private lastDownLog = 0;

    constructor(
        private readonly url: string,
        private readonly settings: HaSettings,
        private readonly bridgeStateTopic: string,
    ) {}

    get connected(): boolean {
        return this.client?.connected ?? false;
    }

    /** Returns a function that removes the listener again (an extension stopping). */
    onConnect(listener: () => void): () => void {
        return addListener(this.connectListeners, listener);
    }

    onDisconnect(listener: () => void): () => void {
        return addListener(this.disconnectListeners, listener);
    }

    /**
     * Subscribed now if connected, and again after every reconnect. The returned function removes
     * this handler, and the broker subscription with the last handler of its filter.
     */
    subscribe(filter: string, handler: MessageHandler): () => void {
        const entry = {filter, handler};
        this.handlers.push(entry);
        if (this.client?.connected) this.client.subscribe(filter, {qos: 1});
        return () => {
            const index = this.handlers.indexOf(entry);
            if (index < 0) return;
            this.handlers.splice(index, 1);
            if (this.client?.connected && !this.handlers.some((other) => other.filter === filter)) this.client.unsubscribe(filter);
        };
    }

    /** Starts connecting; resolves at the first CONNACK or after `waitMs` (the client keeps retrying). */
    async start(waitMs = 10_000): Promise<boolean> {
        const {mqtt: options} = this.settings;
        registerSecret(options.password);
        const clientOptions: IClientOptions = {
            clientId: options.clientId,
            username: options.username,
            password: options.password,
            keepalive: options.keepaliveSeconds,
            clean: true,
            reconnectPeriod: reconnectDelayMs(0),
            connectTimeout: 10_000,
            resubscribe: false,
            // Offline, the outbound queue coalesces; mqtt.js must not keep its own unbounded copy.
            queueQoSZero: false,
            reconnectOnConnackError: true,
            rejectUnauthorized: options.rejectUnauthorized,
            will: {topic: this.bridgeStateTopic, payload: Buffer.from('offline'), retain: true, qos: 1},
        };
        if (options.ca) clientOptions.ca = readFileSync(options.ca);
        if (options.cert) clientOptions.cert = readFileSync(options.cert);
        if (options.key) clientOptions.key = readFileSync(options.key);

        const client = mqtt.connect(this.url, clientOptions);
        this.client = client;
        client.on('connect', () => {
            (client.stream as Partial<Socket>).setNoDelay?.(true);
            const outage = this.downSince === null ? null : Date.now() - this.downSince;
            this.downSince = null;
            log.info(`connected to ${redactUrl(this.url)}${outage === null ? '' : ` after ${(outage / 1000).toFixed(1)} s without it`}`);
            client.publish(this.bridgeStateTopic, 'online', {retain: true, qos: 1});
            const filters = [...new Set(this.handlers.map((entry) => entry.filter))];
            if (filters.length) client.subscribe(filters, {qos: 1});
            for (const listener of this.connectListeners) listener();
        });
        client.on('close', () => {
            for (const listener of this.disconnectListeners) listener();
            if (this.client !== client) return; // stopping
            const now = Date.now();
            this.downSince ??= now;
            const delay = reconnectDelayMs(now - this.downSince);
            client.options.reconnectPeriod = delay;
            if (now - this.lastDownLog > 10_000) {
                this.lastDownLog = now;
                log.warn(`not connected to ${redactUrl(this.url)}; retrying in ${(delay / 1000).toFixed(2)} s`);
            }
        });
        // Every failed retry errors; during an outage that is four lines a second.
        client.on('error', (error) => log.limited('warn', 'broker-error', `broker ${redactUrl(this.url)}: ${error.message}`));
        client.on('message', (topic, payload, packet) => {
            for (const {filter, handler} of this.handlers) {
                if (!topicMatches(filter, topic)) continue;
                try {
                    handler(topic, payload, packet);
                } catch (error) {
                    log.error(`handler for ${topic} failed: ${(error as Error).message}`);
                }
            }
        });

        if (client.connected) return true;
        return new Promise((resolve) => {
            const timer = setTimeout(() => resolve(false), waitMs);
            client.once('connect', () => {
                clearTimeout(timer);
                resolve(true);
            });
        });
    }

    publish(message: OutboundMessage): Promise<void> {
        const client = this.client;
        if (!client?.connected) return Promise.reject(new Error('not connected'));
        if (/[+#]/.test(message.topic)) return Promise.reject(new Error(`refusing to publish to wildcard topic ${message.topic}`));
        this.corkUntilNextTick(client);
        return new Promise((resolve, reject) => {
            client.publish(message.topic, message.payload, {qos: message.qos, retain: message.retain}, (error) => (error ? reject(error) : resolve()));
        });
    }

    /**
     * A connect storm publishes thousands of small messages per tick: held back until the tick ends,
     * they leave in a few large writes instead of one system call each.
     */
    private corkUntilNextTick(client: MqttClient): void {
        if (this.corked) return;
        const stream = client.stream as Partial<Socket>;
        if (!stream.cork || !stream.uncork) return;
        stream.cork();
        this.corked = true;
        process.nextTick(() => {
            this.corked = false;
            stream.uncork!();
        });
    }

    /**
     * Says `offline` itself (a clean stop sends no will) and disconnects. A broker that does not
     * answer within STOP_WAIT_MS is not waited for: the stop must finish within seconds at any load.
     */
    async stop(): Promise<void> {
        const client = this.client;
        if (!client) return;
        this.client = null;
        let timer: NodeJS.Timeout | undefined;
        const giveUp = new Promise<'gave-up'>((resolve) => (timer = setTimeout(() => resolve('gave-up'), STOP_WAIT_MS)));
        const said = client.connected
            ? new Promise<void>((resolve) => client.publish(this.bridgeStateTopic, 'offline', {retain: true, qos: 1}, () => resolve()))
            : Promise.resolve();
        const outcome = await Promise.race([said.then(() => client.endAsync()), giveUp]);
        clearTimeout(timer);
        if (outcome === 'gave-up') {
            log.warn(`the broker did not confirm our goodbye within ${STOP_WAIT_MS} ms; disconnecting anyway`);
            await client.endAsync(true);
        }
    }
}

function addListener(listeners: (() => void)[], listener: () => void): () => void {
    listeners.push(listener);
    return () => {
        const index = listeners.indexOf(listener);
        if (index >= 0) listeners.splice(index, 1);
    };
}

export function redactUrl(url: string): string {
    return url.replace(/\/\/[^@/]*@/, '//***@');
}
