/** The shared TLS port: ALPN picks a route, SNI narrows it, the first byte decides when neither does. */
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {TlsPortDispatcher, type TlsPortOptions} from '../../src/edge/tls-port/dispatcher.js';
import {TlsRefusals} from '../../src/edge/tls/refusals.js';
import {createLogger, setLogSink} from '../../src/util/logger.js';
import {type CertificateAuthority, loadOrCreateCa} from '../../src/edge/tls/ca.js';
import {issueServerCertificate} from '../../src/edge/tls/issue.js';
import {freePort, waitFor} from '../support/net.js';
import type {LogLine} from './harness.js';

let dir: string;
let ca: CertificateAuthority;
let dispatcher: TlsPortDispatcher;
const refusals = new TlsRefusals();
let dispatcherOptions: TlsPortOptions;
const logs: LogLine[] = [];
const accepted: {route: string; alpn: string | false; servername: string | null; first: string}[] = [];

function route(name: string): (socket: tls.TLSSocket) => void {
    return (socket) => {
        socket.once('data', (chunk: Buffer) => {
            accepted.push({route: name, alpn: socket.alpnProtocol ?? false, servername: typeof socket.servername === 'string' ? socket.servername : null, first: chunk.toString('latin1', 0, 1)});
            socket.end(name);
        });
    };
}

/** Connects, sends `payload`, resolves with what the route answered (its name) or the error. */
function exchange(options: tls.ConnectionOptions, payload: string): Promise<string> {
    return new Promise((resolve) => {
        const socket = tls.connect({host: '127.0.0.1', port: dispatcher.port!, ca: ca.certPem, servername: 'bridge.fogbridge.test', ...options}, () => socket.write(payload));
        let answer = '';
        socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
        socket.on('error', (error) => resolve(`error: ${error.message}`));
        socket.on('close', () => resolve(answer || 'closed'));
    });
}

beforeAll(async () => {
    setLogSink((level, namespace, message) => logs.push({level, namespace, message}));
    dir = mkdtempSync(path.join(tmpdir(), 'fogbridge-443-'));
    ca = await loadOrCreateCa(dir);
    const cert = issueServerCertificate(ca, {hosts: ['bridge.fogbridge.test', 'vendor.example'], ips: []});
    dispatcherOptions = {
        host: '127.0.0.1',
        port: await freePort(),
        tls: {ca: ca.certPem, cert: cert.certPem, key: cert.keyPem},
        log: createLogger('test:443'),
        label: 'tls-test',
        refusals,
        firstByteTimeoutMs: 500,
    };
    dispatcher = new TlsPortDispatcher(dispatcherOptions);
    dispatcher.addRoute({name: 'rainmaker', alpn: ['x-amzn-mqtt-ca'], accept: route('rainmaker')});
    dispatcher.addRoute({name: 'vendor-https', alpn: ['http/1.1'], matches: ({servername}) => servername === 'vendor.example', firstByte: (byte) => byte >= 0x41 && byte <= 0x5a, accept: route('vendor-https')});
    dispatcher.addRoute({name: 'vendor-mqtt', matches: ({servername, alpnProtocol}) => servername === 'vendor.example' && !alpnProtocol, firstByte: (byte) => byte === 0x10, accept: route('vendor-mqtt')});
    await dispatcher.listen();
});

afterAll(async () => {
    await dispatcher?.close();
    setLogSink(null);
    rmSync(dir, {recursive: true, force: true});
});

describe('TLS port dispatcher', () => {
    it('routes by ALPN', async () => {
        expect(await exchange({ALPNProtocols: ['x-amzn-mqtt-ca']}, '\x10')).toBe('rainmaker');
        expect(await exchange({ALPNProtocols: ['h2', 'http/1.1'], servername: 'vendor.example'}, 'GET / HTTP/1.1\r\n\r\n')).toBe('vendor-https');
        expect(accepted.slice(0, 2)).toEqual([
            {route: 'rainmaker', alpn: 'x-amzn-mqtt-ca', servername: 'bridge.fogbridge.test', first: '\x10'},
            {route: 'vendor-https', alpn: 'http/1.1', servername: 'vendor.example', first: 'G'},
        ]);
    });

    it('refuses an ALPN no route serves in the handshake', async () => {
        expect(await exchange({ALPNProtocols: ['spdy/3']}, 'x')).toMatch(/^error: .*no application protocol/);
        await waitFor(() => logs.some((line) => line.message.includes('no route for ALPN spdy/3')), 2000, 'the ALPN log line');
        await waitFor(() => refusals.list().find((refusal) => refusal.reason === 'no-alpn' && refusal.detail === 'no application protocol'), 2000, 'the ALPN refusal');
    });

    it('lets the first byte decide without ALPN', async () => {
        expect(await exchange({servername: 'vendor.example'}, '\x10\x0c')).toBe('vendor-mqtt');
        expect(await exchange({servername: 'vendor.example'}, 'POST /')).toBe('vendor-https');
        expect(await exchange({servername: 'vendor.example'}, '\x00')).toBe('closed');
        // No route for this name without ALPN.
        expect(await exchange({}, '\x10')).toBe('closed');
        await waitFor(() => logs.some((line) => line.message.includes('no route for first byte 0x0')), 2000, 'the first-byte log line');
        expect(logs.some((line) => line.message.includes('(ALPN none, SNI bridge.fogbridge.test)'))).toBe(true);
        expect(refusals.list()).toContainEqual(expect.objectContaining({reason: 'no-alpn', detail: 'no route (ALPN none, SNI bridge.fogbridge.test)'}));
        expect(refusals.list()).toContainEqual(expect.objectContaining({reason: 'other', detail: 'no route for first byte 0x0'}));
    });

    it('records a client without SNI, where only named routes serve, as no-sni', async () => {
        const named = new TlsPortDispatcher({...dispatcherOptions, port: await freePort(), label: 'tls-named'});
        named.addRoute({name: 'named', sni: ['mq-*.vendor.example'], accept: route('named')});
        await named.listen();
        try {
            const closed = new Promise<void>((resolve) => {
                const socket = tls.connect({host: '127.0.0.1', port: named.port!, ca: ca.certPem, rejectUnauthorized: false}, () => socket.write('\x10'));
                socket.on('error', () => resolve());
                socket.on('close', () => resolve());
            });
            await closed;
            expect(refusals.list()[0]).toMatchObject({listener: `tls-named:${named.port!}`, reason: 'no-sni', detail: 'no route (ALPN none, SNI none)'});
        } finally {
            await named.close();
        }
    });

    it('closes a client that sends nothing after the handshake', async () => {
        const closed = await new Promise<boolean>((resolve) => {
            const socket = tls.connect({host: '127.0.0.1', port: dispatcher.port!, ca: ca.certPem, servername: 'vendor.example'});
            socket.on('error', () => {});
            socket.on('close', () => resolve(true));
        });
        expect(closed).toBe(true);
        expect(logs.some((line) => line.message.includes('sent nothing after the handshake'))).toBe(true);
    });
});
