/**
 * The longest the XMPP stream parser blocks the event loop on the worst inputs of issue 11, next to
 * `JSON.parse` of a string of the same size as baseline. The input reaches the parser as the server
 * feeds it (`BYTES_PER_TURN` per event-loop turn) until the parser refuses it or it is all read; the
 * block is the longest single turn's parsing, timed around the call, the median over `rounds`.
 * Target: ≤ 10 ms for every input (performance.md §9).
 *
 *   npm run bench -- xml-worst [rounds=7]
 */
import {encodePlain} from '../src/families/ecovacs/xmpp/stanza-codec.js';
import {BYTES_PER_TURN, StreamRefusal, XmppStreamParser} from '../src/families/ecovacs/xmpp/stream-codec.js';
import {median, printResult} from './stats.js';

const rounds = Number(process.argv[2] ?? 7);
const HEADER = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='126.ecorobot.net' version='1.0'>`;

function laughs(): string {
    const entities = ['<!ENTITY lol0 "lol">'];
    for (let level = 1; level < 10; level++) entities.push(`<!ENTITY lol${level} "${`&lol${level - 1};`.repeat(10)}">`);
    return `<?xml version="1.0"?><!DOCTYPE lolz [${entities.join('')}]><stream:stream>&lol9;`;
}

const INPUTS: Record<string, Buffer> = {
    billion_laughs: Buffer.from(laughs()),
    xxe: Buffer.from(`<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><stream:stream>&xxe;`),
    doctype_after_header: Buffer.from(`${HEADER}<!DOCTYPE x [<!ELEMENT x ANY>]>`),
    unterminated_text_4mib: Buffer.concat([Buffer.from(`${HEADER}<message><body>`), Buffer.alloc(4 * 1024 * 1024, 'a')]),
    nesting_10k: Buffer.from(HEADER + '<a>'.repeat(10_000)),
    attributes_10k: Buffer.from(`${HEADER}<iq ${Array.from({length: 10_000}, (_, index) => `a${index}='1'`).join(' ')}/>`),
    sasl_1mib: Buffer.from(`${HEADER}<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${'QUFB'.repeat(256 * 1024)}</auth>`),
    sasl_garbage: Buffer.from(`${HEADER}<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${'!@#$'.repeat(256)}</auth>`),
    largest_accepted_stanza: Buffer.from(`${HEADER}<message><body>${'x'.repeat(60 * 1024)}</body></message><auth mechanism='PLAIN'>${encodePlain('', 'E0001', 's')}</auth>`),
    many_small_stanzas_4mib: Buffer.from(HEADER + `<iq type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq>`.repeat(Math.floor((4 * 1024 * 1024) / 56))),
};

/** Feeds `input` as the server does, one slice per event-loop turn; the longest turn in ms. */
async function longestBlock(input: Buffer): Promise<{blockMs: number; outcome: string}> {
    const parser = new XmppStreamParser();
    let longest = 0;
    for (let offset = 0; offset < input.length; offset += BYTES_PER_TURN) {
        await new Promise((resolve) => setImmediate(resolve));
        const started = performance.now();
        try {
            parser.write(input.subarray(offset, offset + BYTES_PER_TURN));
        } catch (error) {
            longest = Math.max(longest, performance.now() - started);
            return {blockMs: longest, outcome: error instanceof StreamRefusal ? error.condition : `threw ${(error as Error).message}`};
        }
        longest = Math.max(longest, performance.now() - started);
    }
    return {blockMs: longest, outcome: 'parsed'};
}

function jsonParseMs(bytes: number): number {
    const text = `"${'a'.repeat(Math.max(0, bytes - 2))}"`;
    const started = performance.now();
    JSON.parse(text);
    return performance.now() - started;
}

const results: Record<string, {bytes: number; outcome: string; blockMs: number; jsonParseMs: number}> = {};
for (const [name, input] of Object.entries(INPUTS)) {
    const blocks: number[] = [];
    const baselines: number[] = [];
    let outcome = '';
    for (let round = 0; round < rounds; round++) {
        const measured = await longestBlock(input);
        blocks.push(measured.blockMs);
        outcome = measured.outcome;
        baselines.push(jsonParseMs(input.length));
    }
    results[name] = {bytes: input.length, outcome, blockMs: round3(median(blocks)), jsonParseMs: round3(median(baselines))};
}

const worst = Math.max(...Object.values(results).map((result) => result.blockMs));
printResult({bench: 'xml-worst', rounds, bytesPerTurn: BYTES_PER_TURN, targetMs: 10, worstBlockMs: round3(worst), withinTarget: worst <= 10, inputs: results});

function round3(value: number): number {
    return Number(value.toFixed(3));
}
