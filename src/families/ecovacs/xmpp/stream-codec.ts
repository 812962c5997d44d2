/**
 * XMPP's XML stream from strangers: bytes in, the stream header, complete top-level stanzas and the
 * stream's end out. saxes does the tokenising (strict XML 1.0, no entity expansion beyond the five
 * predefined ones, no external entities, linear in its input); our own counters stand in front of it
 * (performance.md §1.5): bytes since the last complete stanza, nesting depth, attributes per element,
 * and no `<!` at all (DOCTYPE, entity declarations, comments, CDATA). Pure: no sockets, no clock.
 */
import {TextDecoder} from 'node:util';

import {SaxesParser, type SaxesTagPlain} from 'saxes';

export type XmlNode = XmlElement | string;

/** An element of a received stanza, or one we build to send. */
export class XmlElement {
    constructor(
        readonly name: string,
        readonly attrs: Record<string, string> = {},
        readonly children: XmlNode[] = [],
    ) {}

    attr(name: string): string | undefined {
        return Object.hasOwn(this.attrs, name) ? this.attrs[name] : undefined;
    }

    elements(): XmlElement[] {
        return this.children.filter((child): child is XmlElement => typeof child !== 'string');
    }

    /** The first child element called `name` (and in namespace `xmlns`, when given). */
    child(name: string, xmlns?: string): XmlElement | undefined {
        return this.elements().find((element) => element.name === name && (xmlns === undefined || element.attr('xmlns') === xmlns));
    }

    text(): string {
        return this.children.filter((child): child is string => typeof child === 'string').join('');
    }

    toString(): string {
        const attributes = Object.entries(this.attrs)
            .map(([name, value]) => ` ${name}="${escapeXml(value)}"`)
            .join('');
        if (this.children.length === 0) return `<${this.name}${attributes}/>`;
        const content = this.children.map((child) => (typeof child === 'string' ? escapeXml(child) : child.toString())).join('');
        return `<${this.name}${attributes}>${content}</${this.name}>`;
    }
}

/** Builds an element; attributes with an undefined value are left out. */
export function xml(name: string, attrs: Record<string, string | undefined> = {}, ...children: XmlNode[]): XmlElement {
    const defined: Record<string, string> = {};
    for (const [key, value] of Object.entries(attrs)) if (value !== undefined) defined[key] = value;
    return new XmlElement(name, defined, children);
}

export function escapeXml(text: string): string {
    return text.replace(/[&<>"']/g, (char) => XML_ESCAPES[char]!);
}

const XML_ESCAPES: Record<string, string> = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;'};

export interface StreamLimits {
    /** Bytes since the last complete top-level element (or the stream header). */
    maxPendingBytes: number;
    /** Elements nested inside each other, the stream element included. */
    maxDepth: number;
    maxAttributes: number;
}

export const STREAM_LIMITS: StreamLimits = {maxPendingBytes: 64 * 1024, maxDepth: 32, maxAttributes: 64};

export type StreamEvent =
    | {kind: 'open'; attrs: Record<string, string>}
    | {kind: 'stanza'; element: XmlElement}
    | {kind: 'close'};

/** RFC 6120 stream error conditions we refuse input with. */
export type RefusalCondition = 'not-well-formed' | 'policy-violation';

/** Input the stream must not carry: the connection ends with this stream error. */
export class StreamRefusal extends Error {
    override readonly name = 'StreamRefusal';
    constructor(
        readonly condition: RefusalCondition,
        message: string,
    ) {
        super(message);
    }
}

/**
 * What a caller should feed per event-loop turn: about 5 ms of the worst input (a read full of tiny
 * stanzas) on the CI machine class, within the 10 ms a turn may take (`npm run bench -- xml-worst`).
 */
export const BYTES_PER_TURN = 16 * 1024;

/**
 * Bytes are handed to saxes in slices this large, and the pending count is checked between slices,
 * so no element grows more than one slice past the limit before it is refused.
 */
const SLICE_BYTES = 4096;

/** One XML stream; `restart()` after STARTTLS and SASL success, as the peer opens a new stream. */
export class XmppStreamParser {
    private parser!: SaxesParser;
    private decoder!: TextDecoder;
    private readonly stack: XmlElement[] = [];
    private depth = 0;
    private pendingBytes = 0;
    /** The last character fed, to find a `<!` split across two writes. */
    private lastChar = '';
    private readonly emitted: StreamEvent[] = [];

    constructor(private readonly limits: StreamLimits = STREAM_LIMITS) {
        this.restart();
    }

    restart(): void {
        this.parser = new SaxesParser({position: false});
        this.decoder = new TextDecoder('utf-8', {fatal: true});
        this.stack.length = 0;
        this.depth = 0;
        this.pendingBytes = 0;
        this.lastChar = '';
        this.parser.on('opentag', (tag) => this.onOpen(tag));
        this.parser.on('closetag', () => this.onClose());
        this.parser.on('text', (text) => this.onText(text));
        this.parser.on('error', (error) => {
            throw new StreamRefusal('not-well-formed', error.message);
        });
        for (const event of ['doctype', 'comment', 'cdata', 'processinginstruction'] as const) {
            this.parser.on(event, () => {
                throw new StreamRefusal('policy-violation', `${event} is not allowed in an XMPP stream`);
            });
        }
    }

    /** Bytes bytes as received; returns what they completed. Throws StreamRefusal. */
    write(chunk: Buffer): StreamEvent[] {
        this.emitted.length = 0;
        for (let offset = 0; offset < chunk.length; offset += SLICE_BYTES) {
            const slice = chunk.subarray(offset, offset + SLICE_BYTES);
            this.pendingBytes += slice.length;
            if (this.pendingBytes > this.limits.maxPendingBytes) {
                throw new StreamRefusal('policy-violation', `more than ${this.limits.maxPendingBytes} bytes without a complete stanza`);
            }
            let text: string;
            try {
                text = this.decoder.decode(slice, {stream: true});
            } catch {
                throw new StreamRefusal('not-well-formed', 'not valid UTF-8');
            }
            if ((this.lastChar === '<' && text.startsWith('!')) || text.includes('<!')) {
                throw new StreamRefusal('policy-violation', '"<!" (DOCTYPE, entity, comment or CDATA) is not allowed in an XMPP stream');
            }
            if (text.length > 0) this.lastChar = text[text.length - 1]!;
            this.parser.write(text);
        }
        return [...this.emitted];
    }

    private onOpen(tag: SaxesTagPlain): void {
        this.depth++;
        if (this.depth > this.limits.maxDepth) throw new StreamRefusal('policy-violation', `elements nested deeper than ${this.limits.maxDepth}`);
        const attrs = tag.attributes as Record<string, string>;
        if (Object.keys(attrs).length > this.limits.maxAttributes) {
            throw new StreamRefusal('policy-violation', `more than ${this.limits.maxAttributes} attributes on <${tag.name.slice(0, 40)}>`);
        }
        if (this.depth === 1) {
            if (tag.name !== 'stream:stream') throw new StreamRefusal('not-well-formed', `<${tag.name.slice(0, 40)}> where the stream header belongs`);
            this.pendingBytes = 0;
            this.emitted.push({kind: 'open', attrs: {...attrs}});
            return;
        }
        // A plain object without a prototype: attribute names like "__proto__" stay data.
        const element = new XmlElement(tag.name, Object.assign(Object.create(null) as Record<string, string>, attrs));
        this.stack[this.stack.length - 1]?.children.push(element);
        this.stack.push(element);
    }

    private onClose(): void {
        this.depth--;
        if (this.depth === 0) {
            this.emitted.push({kind: 'close'});
            return;
        }
        const element = this.stack.pop()!;
        if (this.depth === 1) {
            this.pendingBytes = 0;
            this.emitted.push({kind: 'stanza', element});
        }
    }

    private onText(text: string): void {
        const current = this.stack[this.stack.length - 1];
        if (current) current.children.push(text);
        else if (text.trim() !== '') throw new StreamRefusal('not-well-formed', 'text outside a stanza');
    }
}
