/**
 * A real TLS client refused by the RainMaker MQTT route on the shared TLS port: the web API lists
 * the refusal with its peer and the reason a user can act on.
 */
import {spawn} from 'node:child_process';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {type CertificateAuthority, loadOrCreateCa} from '../../src/edge/tls/ca.js';
import {issueClientCertificate} from '../../src/edge/tls/issue.js';
import {rainmakerFamily} from '../../src/families/rainmaker/index.js';
import {RAINMAKER_ALPN} from '../../src/families/rainmaker/service.js';
import {type TestBridge, startTestBridge} from '../support/bridge.js';
import {freePort, waitFor} from '../support/net.js';

let bridge: TestBridge;
let base: string;
let ourCa: string;
let foreignDir: string;
let foreignCa: CertificateAuthority;

interface Refusal {
    peer: string;
    listener: string;
    reason: string;
    detail: string;
    count: number;
}

async function refusals(): Promise<Refusal[]> {
    return (await (await fetch(`${base}/api/tls-refusals`)).json()) as Refusal[];
}

/**
 * A RainMaker-like client on the shared TLS port, from its own loopback address (entries are per
 * peer); resolves once the bridge has closed it or the handshake failed.
 */
function connectAsNode(options: tls.ConnectionOptions & {localAddress: string}): Promise<void> {
    return new Promise((resolve) => {
        const socket = tls.connect({host: '127.0.0.1', port: bridge.settings.edge.tlsPort!, servername: bridge.settings.rainmaker.mqttHost, ALPNProtocols: [RAINMAKER_ALPN], ...options});
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
    });
}

beforeAll(async () => {
    const webPort = await freePort();
    bridge = await startTestBridge({families: [rainmakerFamily], settings: {web: {enabled: true, port: webPort}}});
    base = `http://127.0.0.1:${webPort}`;
    ourCa = await (await fetch(`${base}/api/ca.crt`)).text();
    foreignDir = mkdtempSync(path.join(tmpdir(), 'fogbridge-foreign-ca-'));
    foreignCa = await loadOrCreateCa(foreignDir);
});

afterAll(async () => {
    await bridge?.dispose();
    if (foreignDir) rmSync(foreignDir, {recursive: true, force: true});
});

describe('TLS refusals in the web API', () => {
    it('a node without a client certificate: client certificate missing', async () => {
        await connectAsNode({ca: ourCa, localAddress: '127.0.0.2'});
        const refusal = await waitFor(async () => (await refusals()).find((entry) => entry.peer.endsWith('127.0.0.2')), 5000, 'the refusal');
        expect(refusal).toMatchObject({listener: 'rainmaker-mqtt', reason: 'no-client-certificate', count: 1});
    });

    it('a node whose certificate is from another CA: unknown CA', async () => {
        const foreign = issueClientCertificate(foreignCa, 'node-foreign');
        await connectAsNode({ca: ourCa, cert: foreign.certPem, key: foreign.keyPem, localAddress: '127.0.0.3'});
        const refusal = await waitFor(async () => (await refusals()).find((entry) => entry.peer.endsWith('127.0.0.3')), 5000, 'the refusal');
        expect(refusal).toMatchObject({listener: 'rainmaker-mqtt', reason: 'unknown-ca'});
        expect(refusal.detail).toContain('not issued by our CA');
    });

    it('openssl s_client that does not trust our CA: unknown CA, from its alert', async () => {
        const caFile = path.join(foreignDir, 'other-ca.pem');
        writeFileSync(caFile, foreignCa.certPem);
        const client = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${bridge.settings.edge.tlsPort!}`, '-bind', '127.0.0.4:0', '-alpn', RAINMAKER_ALPN, '-CAfile', caFile, '-verify_return_error'], {stdio: ['pipe', 'ignore', 'ignore']});
        const exited = new Promise<number | null>((resolve) => client.on('exit', resolve));
        client.stdin.end();
        expect(await exited).not.toBe(0);
        const refusal = await waitFor(async () => (await refusals()).find((entry) => entry.peer.endsWith('127.0.0.4')), 5000, 'the refusal');
        expect(refusal).toMatchObject({listener: `tls:${bridge.settings.edge.tlsPort!}`, reason: 'unknown-ca', detail: 'tlsv1 alert unknown ca'});
    });

    it('a repeated refusal raises its count, and newest come first', async () => {
        await connectAsNode({ca: ourCa, localAddress: '127.0.0.2'});
        await waitFor(async () => (await refusals())[0]?.count === 2, 5000, 'the second refusal');
        expect((await refusals())[0]).toMatchObject({peer: expect.stringContaining('127.0.0.2'), reason: 'no-client-certificate'});
    });
});
