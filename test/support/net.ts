import dgram from 'node:dgram';
import net from 'node:net';

/**
 * Ports for tests come from below the kernel's ephemeral range (32768–60999 by default), where no
 * outgoing connection can take one between our check and the test's bind, and from a slice of
 * their own per vitest worker, so that two test files running at once never get the same port.
 */
const TEST_PORT_BASE = 20_000;
const PORTS_PER_WORKER = 1500;
const WORKER_SLICES = 8;
const worker = Number(process.env.VITEST_POOL_ID ?? 0) % WORKER_SLICES;
let nextOffset = 0;

/** A port free for TCP and UDP on 127.0.0.1 a moment ago, never handed out twice in a row by this worker. */
export async function freePort(): Promise<number> {
    for (let attempt = 0; attempt < PORTS_PER_WORKER; attempt++) {
        const port = TEST_PORT_BASE + worker * PORTS_PER_WORKER + (nextOffset++ % PORTS_PER_WORKER);
        if ((await canBind(port, 'tcp')) && (await canBind(port, 'udp'))) return port;
    }
    throw new Error(`no free test port in this worker's slice (${TEST_PORT_BASE + worker * PORTS_PER_WORKER}+${PORTS_PER_WORKER})`);
}

function canBind(port: number, protocol: 'tcp' | 'udp'): Promise<boolean> {
    return new Promise((resolve) => {
        if (protocol === 'udp') {
            const socket = dgram.createSocket('udp4');
            socket.once('error', () => resolve(false));
            socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
            return;
        }
        const server = net.createServer();
        server.unref();
        server.once('error', () => resolve(false));
        server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
}

/** Polls `predicate` until it returns a truthy value or the timeout passes. */
export async function waitFor<T>(predicate: () => T | Promise<T>, timeoutMs = 5000, what = 'condition'): Promise<NonNullable<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await predicate();
        if (value) return value as NonNullable<T>;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
}
