/**
 * The XMPP names Ecovacs uses (ecovacs.md §3): namespaces, JIDs of bots (`<did>@<class>.ecorobot.net/atom`)
 * and app-side clients (`<uid>@ecouser.net/<resource>`), SASL PLAIN payloads, and the few stanzas
 * both ends build. Pure.
 */
import {xml, type XmlElement} from './stream-codec.js';

export const NS = {
    client: 'jabber:client',
    stream: 'http://etherx.jabber.org/streams',
    tls: 'urn:ietf:params:xml:ns:xmpp-tls',
    sasl: 'urn:ietf:params:xml:ns:xmpp-sasl',
    bind: 'urn:ietf:params:xml:ns:xmpp-bind',
    session: 'urn:ietf:params:xml:ns:xmpp-session',
    stanzas: 'urn:ietf:params:xml:ns:xmpp-stanzas',
    streams: 'urn:ietf:params:xml:ns:xmpp-streams',
    ping: 'urn:xmpp:ping',
    ctl: 'com:ctl',
} as const;

/** The server's own domain, and the domain of app-side users. */
export const SERVER_DOMAIN = 'ecouser.net';
const BOT_DOMAIN_SUFFIX = '.ecorobot.net';
export const BOT_RESOURCE = 'atom';

export interface Jid {
    local: string;
    domain: string;
    resource: string;
}

/** Dids, uids, classes and resources: what real ones look like, and nothing that could break a JID or a log line. */
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export function isJidPart(value: string): boolean {
    return NAME.test(value);
}

/** `local@domain/resource`, each part optional but the domain; null when it is none of ours to read. */
export function parseJid(text: string): Jid | null {
    if (text.length > 256) return null;
    const at = text.indexOf('@');
    const slash = text.indexOf('/', at + 1);
    const local = at >= 0 ? text.slice(0, at) : '';
    const domain = text.slice(at + 1, slash >= 0 ? slash : undefined);
    const resource = slash >= 0 ? text.slice(slash + 1) : '';
    if (!domain || (local && !isJidPart(local)) || (resource && resource.length > 128)) return null;
    return {local, domain, resource};
}

export function formatJid({local, domain, resource}: Jid): string {
    return `${local ? `${local}@` : ''}${domain}${resource ? `/${resource}` : ''}`;
}

export function bareJid(jid: Jid): string {
    return formatJid({...jid, resource: ''});
}

export function botDomain(cls: string): string {
    return `${cls}${BOT_DOMAIN_SUFFIX}`;
}

/** The bot class named by a stream's `to` (`159.ecorobot.net` → `159`); null for any other domain. */
export function classOfDomain(domain: string): string | null {
    if (!domain.toLowerCase().endsWith(BOT_DOMAIN_SUFFIX)) return null;
    const cls = domain.slice(0, -BOT_DOMAIN_SUFFIX.length);
    return isJidPart(cls) && !cls.includes('.') ? cls : null;
}

export type PlainLogin =
    /** `\0<did>\0<secret>`. */
    | {kind: 'bot'; did: string}
    /** `\0<uid>\0` `0/<resource>/<token>` (sucks adds the uid as authzid). */
    | {kind: 'user'; uid: string; resource: string};

/** PLAIN payloads are a few dozen bytes; this is generous. */
const MAX_PLAIN_BASE64 = 2048;

/**
 * Reads a SASL PLAIN payload (§3.2). Who is logging in follows from the stream's `to`: a bot
 * domain makes it a bot of that class, anything else an app-side user. The secret is not returned:
 * no check needs it (any credentials are accepted, like Bumper without USE_AUTH), and what is not
 * kept cannot reach a log.
 */
export function decodePlain(base64: string, botClass: string | null): PlainLogin | {error: string} {
    const trimmed = base64.trim();
    if (trimmed.length > MAX_PLAIN_BASE64) return {error: `PLAIN payload of ${trimmed.length} characters`};
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(trimmed) || trimmed.length % 4 !== 0) return {error: 'PLAIN payload is not base64'};
    const fields = Buffer.from(trimmed, 'base64').toString('utf8').split('\0');
    if (fields.length !== 3) return {error: `PLAIN payload has ${fields.length} fields, not 3`};
    const [, user, password] = fields as [string, string, string];
    if (!isJidPart(user)) return {error: 'PLAIN user name is not a did or uid'};
    if (botClass !== null) return {kind: 'bot', did: user};
    // `0/<resource>/<token>`; a client that sends only a token binds its resource later.
    const resource = password.split('/')[1] ?? '';
    return {kind: 'user', uid: user, resource: isJidPart(resource) ? resource : ''};
}

export function encodePlain(authzid: string, user: string, password: string): string {
    return Buffer.from(`${authzid}\0${user}\0${password}`).toString('base64');
}

/** The opening tag of a stream: it stays open for the whole session, so it is never self-closed. */
export function streamHeader(attrs: Record<string, string>): string {
    const element = xml('stream:stream', {'xmlns:stream': NS.stream, xmlns: NS.client, version: '1.0', ...attrs}).toString();
    return `<?xml version="1.0"?>${element.slice(0, -2)}>`;
}

export const STREAM_END = '</stream:stream>';

/** A stream error and the stream's end, in one write (RFC 6120 §4.9). */
export function streamError(condition: string): string {
    return `${xml('stream:error', {}, xml(condition, {xmlns: NS.streams})).toString()}${STREAM_END}`;
}

/** `<iq type="set"><query xmlns="com:ctl">ctl</query></iq>`: every command and push (§3.3). */
export function ctlIq(attrs: {id: string; to: string; from?: string; type?: string}, ctl: XmlElement): XmlElement {
    return xml('iq', {type: 'set', ...attrs}, xml('query', {xmlns: NS.ctl}, ctl));
}

/** The `<ctl>` of a com:ctl iq, if it is one. */
export function ctlOf(iq: XmlElement): XmlElement | undefined {
    return iq.child('query', NS.ctl)?.child('ctl');
}

export function pingIq(attrs: {id: string; to: string; from?: string}): XmlElement {
    return xml('iq', {type: 'get', ...attrs}, xml('ping', {xmlns: NS.ping}));
}

/** An iq error answering `iq` (RFC 6120 §8.3), with the legacy `code` old clients read. */
export function iqError(iq: XmlElement, address: {from?: string | undefined; to: string}, error: {type: string; code: string; condition: string}): XmlElement {
    return xml(
        'iq',
        {type: 'error', id: iq.attr('id'), ...address},
        xml('error', {type: error.type, code: error.code}, xml(error.condition, {xmlns: NS.stanzas})),
    );
}

/** §3.3: an iq for a bot that is not connected is answered at once, as the real cloud does (sucks #73). */
export const RECIPIENT_UNAVAILABLE = {type: 'wait', code: '404', condition: 'recipient-unavailable'};
export const FEATURE_NOT_IMPLEMENTED = {type: 'cancel', code: '501', condition: 'feature-not-implemented'};
