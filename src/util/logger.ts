/**
 * Levelled logging with a namespace per module (`icomen:session`, `ha:mqtt`).
 *
 * Every secret the registry or the settings know is registered here and masked in every line, so a
 * token that slips into an error message still never reaches the log.
 */

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogSink = (level: LogLevel, namespace: string, message: string) => void;

/** A line as it was logged: already masked, and only if its level was on. */
export interface LogLine {
    time: number;
    level: LogLevel;
    namespace: string;
    message: string;
}
export type LogSubscriber = (line: LogLine) => void;

const rank: Record<LogLevel, number> = {error: 0, warn: 1, info: 2, debug: 3};

let globalLevel: LogLevel = 'info';
const namespaceLevels = new Map<string, LogLevel>();
/** Registered secrets by their first MIN_SECRET_LENGTH characters. */
const secretsByHead = new Map<string, string[]>();
let sink: LogSink = defaultSink;
const subscribers = new Set<LogSubscriber>();
const levelListeners = new Set<() => void>();

function defaultSink(level: LogLevel, namespace: string, message: string): void {
    process.stderr.write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} [${namespace}] ${message}\n`);
}

export function setLogLevel(level: LogLevel, namespace?: string): void {
    if (namespace) namespaceLevels.set(namespace, level);
    else globalLevel = level;
    for (const listener of levelListeners) listener();
}

/** Hears every change of a level, for a thread of ours that keeps the same levels. Returns the unsubscribe. */
export function onLogLevelChange(listener: () => void): () => void {
    levelListeners.add(listener);
    return () => levelListeners.delete(listener);
}

/** The level in force for `namespace` (the global one without). */
export function getLogLevel(namespace?: string): LogLevel {
    return namespace ? levelFor(namespace) : globalLevel;
}

export function setLogSink(next: LogSink | null): void {
    sink = next ?? defaultSink;
}

/**
 * Hears every line next to the sink (the web UI's live log). A subscriber must not log: its own
 * line would come back to it.
 */
export function subscribeToLog(subscriber: LogSubscriber): () => void {
    subscribers.add(subscriber);
    return () => subscribers.delete(subscriber);
}

/** Secrets shorter than this would mask ordinary words; none of ours are that short. */
const MIN_SECRET_LENGTH = 6;

export function registerSecret(value: string | undefined | null): void {
    if (!value || value.length < MIN_SECRET_LENGTH) return;
    const head = value.slice(0, MIN_SECRET_LENGTH);
    const candidates = secretsByHead.get(head);
    if (!candidates) secretsByHead.set(head, [value]);
    else if (!candidates.includes(value)) candidates.push(value);
}

/**
 * Masks every registered secret in `text`. Secrets are looked up by their first characters at each
 * position, so a line costs the same with ten thousand devices' keys registered as with one.
 */
export function redact(text: string): string {
    if (secretsByHead.size === 0 || text.length < MIN_SECRET_LENGTH) return text;
    let out = '';
    let copiedUpTo = 0;
    for (let index = 0; index + MIN_SECRET_LENGTH <= text.length; ) {
        const candidates = secretsByHead.get(text.slice(index, index + MIN_SECRET_LENGTH));
        let matched = 0;
        if (candidates) for (const secret of candidates) if (secret.length > matched && text.startsWith(secret, index)) matched = secret.length;
        if (matched === 0) {
            index++;
            continue;
        }
        out += `${text.slice(copiedUpTo, index)}***`;
        index += matched;
        copiedUpTo = index;
    }
    return copiedUpTo === 0 ? text : out + text.slice(copiedUpTo);
}

function levelFor(namespace: string): LogLevel {
    let best: LogLevel | undefined;
    let bestLength = -1;
    for (const [prefix, level] of namespaceLevels) {
        if ((namespace === prefix || namespace.startsWith(`${prefix}:`)) && prefix.length > bestLength) {
            best = level;
            bestLength = prefix.length;
        }
    }
    return best ?? globalLevel;
}

export interface Logger {
    readonly namespace: string;
    error(message: string): void;
    warn(message: string): void;
    info(message: string): void;
    debug(message: string | (() => string)): void;
    /**
     * At most one line per `key` per interval; the next line says how many were suppressed. For
     * floods of bad packets, where one line per packet would itself be the attack.
     */
    limited(level: LogLevel, key: string, message: string, intervalMs?: number): void;
    child(suffix: string): Logger;
}

export function createLogger(namespace: string): Logger {
    const suppressed = new Map<string, {until: number; count: number}>();
    const write = (level: LogLevel, message: string | (() => string)): void => {
        if (rank[level] > rank[levelFor(namespace)]) return;
        const text = redact(typeof message === 'function' ? message() : message);
        sink(level, namespace, text);
        for (const subscriber of subscribers) {
            try {
                subscriber({time: Date.now(), level, namespace, message: text});
            } catch (error) {
                // Not logged: the failing subscriber would hear that line too.
                process.stderr.write(`log subscriber failed: ${(error as Error).message}\n`);
            }
        }
    };
    return {
        namespace,
        error: (message) => write('error', message),
        warn: (message) => write('warn', message),
        info: (message) => write('info', message),
        debug: (message) => write('debug', message),
        limited(level, key, message, intervalMs = 10_000) {
            const now = Date.now();
            const entry = suppressed.get(key);
            if (entry && now < entry.until) {
                entry.count++;
                return;
            }
            const note = entry && entry.count > 0 ? ` (${entry.count} similar suppressed)` : '';
            suppressed.set(key, {until: now + intervalMs, count: 0});
            if (suppressed.size > 10_000) suppressed.clear();
            write(level, message + note);
        },
        child: (suffix) => createLogger(`${namespace}:${suffix}`),
    };
}
