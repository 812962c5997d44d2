/**
 * JSON from strangers. `JSON.parse` alone accepts lone surrogates from bytes that were never UTF-8
 * and recurses into any nesting depth a sender likes; both are refused here before parsing, with a
 * reason a log line can carry.
 */

export type JsonDecodeResult = {ok: true; value: unknown} | {ok: false; reason: string};

export interface JsonLimits {
    maxBytes: number;
    /** Arrays and objects nested deeper than this are refused unparsed. */
    maxDepth: number;
}

const utf8 = new TextDecoder('utf-8', {fatal: true, ignoreBOM: false});

export function decodeJson(input: Buffer | string, limits: JsonLimits): JsonDecodeResult {
    const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
    if (size > limits.maxBytes) return {ok: false, reason: `${size} bytes is more than the ${limits.maxBytes} allowed`};
    let text: string;
    if (typeof input === 'string') {
        text = input;
    } else {
        try {
            text = utf8.decode(input);
        } catch {
            return {ok: false, reason: 'not valid UTF-8'};
        }
    }
    const depth = nestingDepth(text);
    if (depth > limits.maxDepth) return {ok: false, reason: `nested deeper than ${limits.maxDepth} levels`};
    try {
        return {ok: true, value: JSON.parse(text)};
    } catch (error) {
        return {ok: false, reason: `not JSON (${(error as Error).message})`};
    }
}

/** The deepest bracket nesting outside strings; stops counting once it is clearly too deep to matter. */
function nestingDepth(text: string): number {
    let depth = 0;
    let deepest = 0;
    let inString = false;
    for (let index = 0; index < text.length; index++) {
        const char = text.charCodeAt(index);
        if (inString) {
            if (char === 0x5c) index++; // backslash: the next character is escaped
            else if (char === 0x22) inString = false;
            continue;
        }
        if (char === 0x22) inString = true;
        else if (char === 0x7b || char === 0x5b) {
            depth++;
            if (depth > deepest) deepest = depth;
        } else if (char === 0x7d || char === 0x5d) depth--;
    }
    return deepest;
}
