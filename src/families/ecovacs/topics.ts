/**
 * The MQTT names of Ecovacs bots (ecovacs.md §2.1, §2.4, §2.5): client ids `did@class/resource`,
 * broadcasts `iot/atr/<event>/<did>/<class>/<res>/<fmt>` and the request/reply pairs
 * `iot/p2p/<cmd>/<from did>/<from class>/<from res>/<to did>/<to class>/<to res>/<q|p>/<rid>/<fmt>`.
 * Parsed and built here and nowhere else.
 */

/** One party of the p2p conversation: a bot, the helper bot or a user client. */
export interface Endpoint {
    id: string;
    /** The model class (`ls1ok3`, `yna5xi`) for bots; `ecouser`/`bumper`/`USER` for user clients. */
    cls: string;
    resource: string;
}

/** `j`: JSON payloads; `x`: XML strings (older MQTT bots). */
export type PayloadFormat = 'j' | 'x';

/** Client-id realms of controllers, not bots (Bumper's classification). */
export const USER_REALMS: readonly string[] = ['ecouser', 'bumper', 'USER'];

/** The in-process helper that relays REST commands; its client id is `helperbot@bumper/helperbot`. */
export const HELPER_ENDPOINT: Endpoint = {id: 'helperbot', cls: 'bumper', resource: 'helperbot'};

/** A single topic level we may build topics and filters from: no separator, no wildcard, not empty. */
export function isTopicLevel(value: string): boolean {
    return value.length > 0 && value.length <= 128 && !/[/+#\u0000]/.test(value);
}

export type ClientIdentity = ({kind: 'bot'} & Endpoint) | ({kind: 'user'} & Endpoint);

/** `E0001234@ls1ok3/wC3g` → a bot; `fuid_x@ecouser/abcd` → a user client; anything else → null. */
export function parseClientId(clientId: string): ClientIdentity | null {
    const at = clientId.indexOf('@');
    const slash = clientId.indexOf('/', at + 1);
    if (at <= 0 || slash < 0) return null;
    const endpoint = {id: clientId.slice(0, at), cls: clientId.slice(at + 1, slash), resource: clientId.slice(slash + 1)};
    if (!isTopicLevel(endpoint.id) || !isTopicLevel(endpoint.cls) || !isTopicLevel(endpoint.resource)) return null;
    return {kind: USER_REALMS.includes(endpoint.cls) ? 'user' : 'bot', ...endpoint};
}

export function formatClientId(endpoint: Endpoint): string {
    return `${endpoint.id}@${endpoint.cls}/${endpoint.resource}`;
}

export interface AtrTopic {
    /** `onBattery`, `reportStats`, `CleanSt` (XML bots), … */
    event: string;
    bot: Endpoint;
    format: PayloadFormat;
}

export function atrTopic({event, bot, format}: AtrTopic): string {
    return `iot/atr/${event}/${bot.id}/${bot.cls}/${bot.resource}/${format}`;
}

export function parseAtrTopic(topic: string): AtrTopic | null {
    const levels = topic.split('/');
    if (levels.length !== 7 || levels[0] !== 'iot' || levels[1] !== 'atr') return null;
    const [, , event, id, cls, resource, format] = levels as [string, string, string, string, string, string, string];
    if (![event, id, cls, resource].every(isTopicLevel) || !isFormat(format)) return null;
    return {event, bot: {id, cls, resource}, format};
}

export interface P2pTopic {
    command: string;
    from: Endpoint;
    to: Endpoint;
    /** `q`: a request to `to`; `p`: `from`'s reply to the request `requestId`. */
    direction: 'q' | 'p';
    requestId: string;
    format: PayloadFormat;
}

export function p2pTopic({command, from, to, direction, requestId, format}: P2pTopic): string {
    return `iot/p2p/${command}/${from.id}/${from.cls}/${from.resource}/${to.id}/${to.cls}/${to.resource}/${direction}/${requestId}/${format}`;
}

export function parseP2pTopic(topic: string): P2pTopic | null {
    const levels = topic.split('/');
    if (levels.length !== 12 || levels[0] !== 'iot' || levels[1] !== 'p2p') return null;
    const [, , command, fromId, fromCls, fromRes, toId, toCls, toRes, direction, requestId, format] = levels as string[] as [
        string, string, string, string, string, string, string, string, string, string, string, string,
    ];
    if (![command, fromId, fromCls, fromRes, toId, toCls, toRes, requestId].every(isTopicLevel)) return null;
    if ((direction !== 'q' && direction !== 'p') || !isFormat(format)) return null;
    return {
        command,
        from: {id: fromId, cls: fromCls, resource: fromRes},
        to: {id: toId, cls: toCls, resource: toRes},
        direction,
        requestId,
        format,
    };
}

/** Where the answer to `request` goes: the same command and request id, the parties swapped. */
export function replyTopicFor(request: P2pTopic): string {
    return p2pTopic({...request, from: request.to, to: request.from, direction: 'p'});
}

/** What a real bot subscribes to (Bumper's logs, ecovacs-stack): requests addressed to it. */
export function botSubscriptions(bot: Endpoint): string[] {
    return [`iot/p2p/+/+/+/+/${bot.id}/${bot.cls}/${bot.resource}/q/+/+`, `iot/cfg/${bot.id}/${bot.cls}/${bot.resource}/+/+`];
}

/** Replies addressed to `endpoint`, whatever they answer. */
export function replySubscription(endpoint: Endpoint): string {
    return `iot/p2p/+/+/+/+/${endpoint.id}/${endpoint.cls}/${endpoint.resource}/p/+/+`;
}

/** Every bot's broadcasts. */
export const ATR_SUBSCRIPTION = 'iot/atr/+/+/+/+/+';

function isFormat(value: string): value is PayloadFormat {
    return value === 'j' || value === 'x';
}
