/**
 * The in-process helper bot (ecovacs.md §2.1): it asks a bot something on
 * `iot/p2p/<cmd>/<helper>/<bot>/q/<rid>/<fmt>` and waits for the answer on the reversed topic
 * `…/<bot>/<helper>/p/<rid>/<fmt>`. It only builds topics, keeps the pending requests and matches
 * replies; the broker connection is injected (`publish`, and `handleMessage` for what arrives on
 * `subscriptions`).
 */
import {randomInt} from 'node:crypto';

import {decodeJson} from '../../util/json.js';
import {createLogger, type Logger} from '../../util/logger.js';
import {MESSAGE_LIMITS} from './codec.js';
import {type Endpoint, HELPER_ENDPOINT, isTopicLevel, p2pTopic, parseP2pTopic, type PayloadFormat, replySubscription} from './topics.js';

export interface HelperBotOptions {
    publish(topic: string, payload: string): void;
    /** How long a bot may take to answer; below the clients' own 60 s (ecovacs.md §8.4). */
    timeoutMs: number;
    /** Requests waiting at once; more are refused rather than queued without bound. */
    maxPending: number;
    identity?: Endpoint;
    logger?: Logger;
}

export interface BotReply {
    requestId: string;
    format: PayloadFormat;
    /** The parsed JSON for `j`, the XML string as sent for `x`. */
    payload: unknown;
}

/** The bot did not answer in time: errno 500 for REST clients. */
export class RelayTimeoutError extends Error {
    override readonly name = 'RelayTimeoutError';
    constructor(
        readonly requestId: string,
        readonly command: string,
        timeoutMs: number,
    ) {
        super(`${command} got no answer within ${timeoutMs} ms`);
    }
}

/** Too many requests wait already, or the helper was closed. */
export class RelayRefusedError extends Error {
    override readonly name = 'RelayRefusedError';
}

export interface HelperBotCounters {
    sent: number;
    answered: number;
    timeouts: number;
    /** Replies for request ids nobody asked for, or from someone other than the bot asked. */
    unsolicited: number;
    /** Replies to a pending request that could not be read. */
    malformed: number;
}

interface Pending {
    bot: Endpoint;
    command: string;
    resolve(reply: BotReply): void;
    reject(error: Error): void;
    timer: NodeJS.Timeout;
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

export class HelperBot {
    readonly identity: Endpoint;
    readonly counters: HelperBotCounters = {sent: 0, answered: 0, timeouts: 0, unsolicited: 0, malformed: 0};
    private readonly pending = new Map<string, Pending>();
    private readonly log: Logger;
    private closed = false;

    constructor(private readonly options: HelperBotOptions) {
        this.identity = options.identity ?? HELPER_ENDPOINT;
        this.log = options.logger ?? createLogger('ecovacs:helper');
    }

    /** What the broker connection must deliver to `handleMessage`. */
    get subscriptions(): string[] {
        return [replySubscription(this.identity)];
    }

    get pendingCount(): number {
        return this.pending.size;
    }

    /**
     * Sends `payload` to `bot` as `command` and resolves with its answer. `payload` is passed
     * through as it came (ecovacs.md §8.5): serialised for `j`, sent as is for `x`.
     */
    request(bot: Endpoint, command: string, payload: unknown, format: PayloadFormat): Promise<BotReply> {
        if (this.closed) return Promise.reject(new RelayRefusedError('the helper bot is stopped'));
        if (!isTopicLevel(command)) return Promise.reject(new RelayRefusedError(`"${command.slice(0, 40)}" is not a command name`));
        if (this.pending.size >= this.options.maxPending) {
            this.log.limited('warn', 'busy', `${this.pending.size} requests wait for bots already: ${command} to ${bot.id} refused`);
            return Promise.reject(new RelayRefusedError(`too many requests waiting (${this.pending.size})`));
        }
        const requestId = this.newRequestId();
        const text = format === 'x' && typeof payload === 'string' ? payload : JSON.stringify(payload ?? {});
        return new Promise<BotReply>((resolve, reject) => {
            const timer = setTimeout(() => {
                this.pending.delete(requestId);
                this.counters.timeouts++;
                reject(new RelayTimeoutError(requestId, command, this.options.timeoutMs));
            }, this.options.timeoutMs);
            timer.unref();
            this.pending.set(requestId, {bot, command, resolve, reject, timer});
            this.counters.sent++;
            this.options.publish(p2pTopic({command, from: this.identity, to: bot, direction: 'q', requestId, format}), text);
        });
    }

    /** A message on one of `subscriptions`; returns whether it was a reply to the helper. */
    handleMessage(topic: string, payload: Buffer | string): boolean {
        const parsed = parseP2pTopic(topic);
        if (!parsed || parsed.direction !== 'p' || !sameEndpoint(parsed.to, this.identity)) return false;
        const waiting = this.pending.get(parsed.requestId);
        if (!waiting || waiting.bot.id !== parsed.from.id || waiting.command !== parsed.command) {
            this.counters.unsolicited++;
            this.log.limited('warn', 'unsolicited', `reply ${parsed.command}/${parsed.requestId} from ${parsed.from.id} answers no request of ours: dropped`);
            return true;
        }
        const reply = readPayload(parsed.format, payload);
        if (!reply.ok) {
            this.counters.malformed++;
            this.log.limited('warn', `malformed:${parsed.from.id}`, `reply ${parsed.command}/${parsed.requestId} from ${parsed.from.id} dropped: ${reply.reason}`);
            return true;
        }
        clearTimeout(waiting.timer);
        this.pending.delete(parsed.requestId);
        this.counters.answered++;
        waiting.resolve({requestId: parsed.requestId, format: parsed.format, payload: reply.value});
        return true;
    }

    /** Fails every waiting request at once (the broker is going away). */
    close(): void {
        this.closed = true;
        for (const [requestId, waiting] of this.pending) {
            clearTimeout(waiting.timer);
            this.pending.delete(requestId);
            waiting.reject(new RelayRefusedError(`the helper bot stopped before ${waiting.bot.id} answered ${waiting.command}`));
        }
    }

    /** 4 letters like Bumper and the real cloud; unique among the pending requests. */
    private newRequestId(): string {
        for (;;) {
            let id = '';
            for (let index = 0; index < 4; index++) id += LETTERS[randomInt(LETTERS.length)];
            if (!this.pending.has(id)) return id;
        }
    }
}

function readPayload(format: PayloadFormat, payload: Buffer | string): {ok: true; value: unknown} | {ok: false; reason: string} {
    if (format === 'j') return decodeJson(payload, MESSAGE_LIMITS);
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
    if (bytes.length > MESSAGE_LIMITS.maxBytes) return {ok: false, reason: `${bytes.length} bytes is more than the ${MESSAGE_LIMITS.maxBytes} allowed`};
    try {
        return {ok: true, value: strictUtf8.decode(bytes)};
    } catch {
        return {ok: false, reason: 'not valid UTF-8'};
    }
}

const strictUtf8 = new TextDecoder('utf-8', {fatal: true});

function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
    return a.id === b.id && a.cls === b.cls && a.resource === b.resource;
}
