/** The XML stream parser on its own: stanzas out, and every hostile input refused with its stream error. */
import {describe, expect, it} from 'vitest';

import {StreamRefusal, XmppStreamParser} from '../../src/families/ecovacs/xmpp/stream-codec.js';

const HEADER = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='159.ecorobot.net' version='1.0'>`;

function refusal(...chunks: (string | Buffer)[]): StreamRefusal {
    const parser = new XmppStreamParser();
    try {
        for (const chunk of chunks) parser.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    } catch (error) {
        if (error instanceof StreamRefusal) return error;
        throw error;
    }
    throw new Error('the input was accepted');
}

describe('XmppStreamParser', () => {
    it('yields the header, stanzas split anywhere, and the end', () => {
        const parser = new XmppStreamParser();
        const text = `${HEADER}<iq type='set' id='7'><query xmlns='com:ctl'><ctl td='Clean'><clean type='auto' speed='standard'/></ctl></query></iq> <presence/></stream:stream>`;
        const events = [...Buffer.from(text)].flatMap((byte) => parser.write(Buffer.from([byte])));
        expect(events.map((event) => event.kind)).toEqual(['open', 'stanza', 'stanza', 'close']);
        expect(events[0]).toMatchObject({attrs: {to: '159.ecorobot.net'}});
        const iq = events[1]!.kind === 'stanza' ? events[1]!.element : null;
        expect(iq?.toString()).toBe('<iq type="set" id="7"><query xmlns="com:ctl"><ctl td="Clean"><clean type="auto" speed="standard"/></ctl></query></iq>');
    });

    it('keeps multi-byte characters split across writes, and attribute names like __proto__ as data', () => {
        const parser = new XmppStreamParser();
        parser.write(Buffer.from(HEADER));
        const bytes = Buffer.from(`<message __proto__='x'><body>Küche ✓</body></message>`);
        const events = [...parser.write(bytes.subarray(0, 31)), ...parser.write(bytes.subarray(31))];
        const message = events[0]!.kind === 'stanza' ? events[0]!.element : null;
        expect(message?.child('body')?.text()).toBe('Küche ✓');
        expect(message?.attr('__proto__')).toBe('x');
        expect(Object.getPrototypeOf({})).not.toHaveProperty('x');
    });

    it('refuses a billion laughs, XXE and any DOCTYPE before parsing them', () => {
        const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><stream:stream>&lol2;`;
        expect(refusal(laughs).condition).toBe('policy-violation');
        expect(refusal(`<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><stream:stream>&xxe;`).condition).toBe('policy-violation');
        expect(refusal(`${HEADER}<iq><!DOCTYPE x></iq>`).condition).toBe('policy-violation');
        // "<" and "!" in two writes
        expect(refusal(`${HEADER}<iq><`, `![CDATA[x]]></iq>`).condition).toBe('policy-violation');
        expect(refusal(`${HEADER}<iq><`, `!-- comment --></iq>`).condition).toBe('policy-violation');
    });

    it('refuses entities it does not know and processing instructions', () => {
        expect(refusal(`${HEADER}<iq>&lol;</iq>`).condition).toBe('not-well-formed');
        expect(refusal(`${HEADER}<?evil?>`).condition).toBe('policy-violation');
    });

    it('refuses an unterminated 4 MiB text node at 64 KiB, quickly', () => {
        const started = performance.now();
        const error = refusal(`${HEADER}<message><body>`, Buffer.alloc(4 * 1024 * 1024, 'a'));
        expect(error.condition).toBe('policy-violation');
        expect(error.message).toContain('65536 bytes');
        expect(performance.now() - started).toBeLessThan(200);
    });

    it('refuses 10k nesting at depth 33, and 65 attributes', () => {
        expect(refusal(HEADER + '<a>'.repeat(10_000)).message).toContain('deeper than 32');
        const attributes = Array.from({length: 65}, (_, index) => `a${index}='1'`).join(' ');
        expect(refusal(`${HEADER}<iq ${attributes}/>`).message).toContain('more than 64 attributes');
    });

    it('counts bytes since the last complete stanza, not in all', () => {
        const parser = new XmppStreamParser();
        parser.write(Buffer.from(HEADER));
        const stanza = Buffer.from(`<message><body>${'x'.repeat(1000)}</body></message>`);
        for (let index = 0; index < 200; index++) expect(parser.write(stanza)).toHaveLength(1);
    });

    it('refuses what is not XML, is not UTF-8, or is not a stream', () => {
        expect(refusal(`${HEADER}<iq></presence>`).condition).toBe('not-well-formed');
        expect(refusal(HEADER, Buffer.from([0x3c, 0x61, 0x3e, 0xff, 0xfe])).condition).toBe('not-well-formed');
        expect(refusal(`<iq type='set'/>`).condition).toBe('not-well-formed');
        expect(refusal(`${HEADER}hello<iq/>`).condition).toBe('not-well-formed');
    });
});
