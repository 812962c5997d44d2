/**
 * Reading a request body within a cap, for the routes of the edge's router: a declared
 * Content-Length over the cap is refused before a byte is read, and a body (chunked or not) that
 * grows past it is refused as soon as it does, so no request can make the bridge buffer more.
 */

import type http from 'node:http';

export type BodyOutcome = {ok: true; body: Buffer} | {ok: false; reason: string};

export function readRequestBody(request: http.IncomingMessage, maxBytes: number): Promise<BodyOutcome> {
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > maxBytes) return Promise.resolve({ok: false, reason: `Content-Length ${declared} is more than the ${maxBytes} bytes allowed`});
    return new Promise((resolve) => {
        const chunks: Buffer[] = [];
        let size = 0;
        // Listeners rather than for-await: leaving a for-await destroys the socket before the answer is sent.
        const onData = (chunk: Buffer): void => {
            size += chunk.length;
            if (size <= maxBytes) {
                chunks.push(chunk);
                return;
            }
            request.off('data', onData);
            request.pause();
            resolve({ok: false, reason: `body larger than the ${maxBytes} bytes allowed`});
        };
        request.on('data', onData);
        request.once('end', () => resolve({ok: true, body: Buffer.concat(chunks)}));
        request.once('error', (error) => resolve({ok: false, reason: `body not received: ${error.message}`}));
    });
}

/**
 * Refuses a request whose body will not be read: 413, and the connection closed once the answer
 * is out (the unread rest of the body must not be parsed as a next request).
 */
export function refuseBody(response: http.ServerResponse): void {
    const text = JSON.stringify({error: 'request body too large'});
    response.writeHead(413, {'content-type': 'application/json', 'content-length': Buffer.byteLength(text), connection: 'close'});
    response.end(text, () => response.socket?.destroy());
}
