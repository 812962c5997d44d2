/**
 * The baseline of `balancer-burst`: a bare Node TCP server in a thread of its own, at the balancer
 * thread's priority, that answers the first bytes of a connection with a fixed 48-byte buffer and
 * leaves closing to the client, as the balancer does.
 */
import net from 'node:net';
import {parentPort} from 'node:worker_threads';

import {BALANCER_PRIORITY} from '../../src/families/icomen/balancer-thread.js';
import {setThreadPriority} from '../../src/util/thread.js';

const port = parentPort!;
setThreadPriority(BALANCER_PRIORITY);
const answer = Buffer.alloc(48, 1);
const server = net.createServer((socket) => {
    socket.once('data', () => socket.write(answer));
    socket.on('error', () => undefined);
});
server.maxConnections = 1_000_000;
server.listen({host: '127.0.0.1', port: 0, backlog: 16_384}, () => port.postMessage((server.address() as net.AddressInfo).port));
port.on('message', () => server.close(() => port.close()));
