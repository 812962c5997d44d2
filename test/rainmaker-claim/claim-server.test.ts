import {X509Certificate, createPrivateKey} from 'node:crypto';
import {promises as fs} from 'node:fs';
import type {IncomingHttpHeaders} from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {setLogSink} from '../../src/util/logger.js';
import {approveSelfClaim, claimNode, readClaimIndex} from '../../src/families/rainmaker/claim.js';
import {type ClaimServer, MAX_CLAIM_RESPONSE_BYTES, startClaimServer} from '../../src/families/rainmaker/claim-server.js';
import {type CertificateAuthority, loadOrCreateCa} from '../../src/edge/tls/ca.js';
import {issueServerCertificate} from '../../src/edge/tls/issue.js';
import {opensslCsr, opensslVerify} from '../edge/tls/openssl.js';

let dataDir: string;
let ca: CertificateAuthority;
let server: ClaimServer;
let openServer: ClaimServer;
const logLines: string[] = [];

beforeAll(async () => {
    setLogSink((level, namespace, message) => logLines.push(`${level} [${namespace}] ${message}`));
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'fogbridge-claim-server-'));
    ca = await loadOrCreateCa(dataDir);
    const serverCert = issueServerCertificate(ca, {hosts: ['localhost'], ips: ['127.0.0.1']});
    const tlsOptions = {cert: serverCert.certPem, key: serverCert.keyPem};
    server = await startClaimServer({dataDir, ca, host: '127.0.0.1', port: 0, tls: tlsOptions, mqttHost: 'rm.example.net'});
    openServer = await startClaimServer({dataDir, ca, host: '127.0.0.1', port: 0, tls: tlsOptions, mqttHost: 'rm.example.net', acceptAnyMac: true, basePath: '/rainmaker/'});
    await approveSelfClaim(dataDir, '7CDFA1B2C3D4');
    await approveSelfClaim(dataDir, '7CDFA1B2C3D5');
});

afterAll(async () => {
    setLogSink(null);
    await server?.close();
    await openServer?.close();
    await fs.rm(dataDir, {recursive: true, force: true});
});

interface Reply {
    status: number;
    headers: IncomingHttpHeaders;
    text: string;
    json: Record<string, unknown>;
}

/** A POST the way esp_http_client sends it: Content-Length and no Content-Type unless given. */
function post(target: ClaimServer, pathname: string, body: string | Buffer, headers: Record<string, string> = {}, method = 'POST'): Promise<Reply> {
    return new Promise((resolve, reject) => {
        const request = https.request(
            {host: '127.0.0.1', port: target.port, path: pathname, method, ca: ca.certPem, servername: 'localhost', headers: {'Content-Length': String(Buffer.byteLength(body)), ...headers}},
            (response) => {
                const chunks: Buffer[] = [];
                response.on('data', (chunk: Buffer) => chunks.push(chunk));
                response.on('end', () => {
                    const text = Buffer.concat(chunks).toString();
                    let json: Record<string, unknown> = {};
                    try {
                        json = JSON.parse(text) as Record<string, unknown>;
                    } catch {
                        // left empty: the assertions say what was expected
                    }
                    resolve({status: response.statusCode ?? 0, headers: response.headers, text, json});
                });
            },
        );
        request.on('error', reject);
        request.end(body);
    });
}

async function selfClaim(target: ClaimServer, mac: string, csrPem: string, base = ''): Promise<Reply> {
    const init = await post(target, `${base}/claim/initiate`, JSON.stringify({mac_addr: mac, platform: 'esp32c3'}));
    expect(init.status).toBe(200);
    const authId = init.json.auth_id as string;
    const challenge = init.json.challenge as string;
    // The firmware's buffers: auth_id ≤ 63, challenge ≤ 129 characters.
    expect(authId.length).toBeLessThanOrEqual(63);
    expect(challenge.length).toBeLessThanOrEqual(129);
    return post(target, `${base}/claim/verify`, JSON.stringify({auth_id: authId, challenge_response: 'AB'.repeat(64), csr: csrPem}));
}

describe('self-claim HTTPS flow', () => {
    it.each([
        ['ec', '7CDFA1B2C3D4'],
        ['rsa', '7CDFA1B2C3D5'],
    ] as const)('issues a certificate for an %s CSR: CN = node id, small body with Content-Length', async (kind, mac) => {
        const {csrPem, keyPem} = await opensslCsr(kind, `/CN=${mac}`);
        const reply = await selfClaim(server, mac, csrPem);
        expect(reply.status).toBe(200);
        expect(Number(reply.headers['content-length'])).toBe(Buffer.byteLength(reply.text));
        expect(reply.headers['transfer-encoding']).toBeUndefined();
        expect(Buffer.byteLength(reply.text)).toBeLessThanOrEqual(MAX_CLAIM_RESPONSE_BYTES);
        // JSON escapes the PEM's newlines as \n, which is what the firmware un-escapes.
        expect(reply.text).toContain('-----BEGIN CERTIFICATE-----\\n');
        expect(reply.json.mqtt_host).toBe('rm.example.net');

        const certPem = reply.json.certificate as string;
        const cert = new X509Certificate(certPem);
        expect(cert.subject).toBe(`CN=${mac}`);
        expect(cert.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
        expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
        expect(await opensslVerify(ca.certPem, certPem, 'sslclient')).toMatch(/: OK$/);

        const index = await readClaimIndex(dataDir);
        expect(index.claims[mac]).toMatchObject({nodeId: mac, method: 'self', certSerial: cert.serialNumber});
        expect(await fs.readFile(path.join(dataDir, 'rainmaker', 'nodes', mac, 'node.crt'), 'utf8')).toBe(certPem);
    });

    it('uses the node id the CSR does not choose, and the one recorded for a host-claimed MAC', async () => {
        const {csrPem} = await opensslCsr('ec', '/CN=I-AM-SOMEONE-ELSE');
        const mine = await selfClaim(server, '7CDFA1B2C3D4', csrPem);
        expect(new X509Certificate(mine.json.certificate as string).subject).toBe('CN=7CDFA1B2C3D4');

        await claimNode(dataDir, ca, {mac: '00:11:22:33:44:55', mqttHost: 'rm.example.net'});
        const hostClaimed = await selfClaim(server, '001122334455', csrPem);
        expect(hostClaimed.status).toBe(200);
    });

    it('accepts application/json too, and any MAC on an open service under a base path', async () => {
        const {csrPem} = await opensslCsr('ec', '/CN=x');
        const init = await post(openServer, '/rainmaker/claim/initiate', JSON.stringify({mac_addr: 'a1b2c3d4e5f6'}), {'Content-Type': 'application/json; charset=utf-8'});
        expect(init.status).toBe(200);
        const verify = await post(openServer, '/rainmaker/claim/verify', JSON.stringify({auth_id: init.json.auth_id, challenge_response: 'ab'.repeat(64), csr: csrPem}), {'Content-Type': 'application/json'});
        expect(verify.status).toBe(200);
        expect(new X509Certificate(verify.json.certificate as string).subject).toBe('CN=A1B2C3D4E5F6');
    });

    it('refuses plain TLS clients that do not trust our CA (the server presents our certificate)', async () => {
        const outcome = await new Promise<string>((resolve) => {
            const socket = tls.connect({host: '127.0.0.1', port: server.port, servername: 'localhost'});
            socket.on('secureConnect', () => resolve('trusted'));
            socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
        });
        expect(outcome).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    });
});

describe('bad requests get a clear 4xx and the service keeps running', () => {
    const expectFailure = (reply: Reply, status: number, description: RegExp): void => {
        expect(reply.status).toBe(status);
        expect(reply.json.status).toBe('failure');
        expect(reply.json.description).toMatch(description);
        expect(Number(reply.headers['content-length'])).toBe(Buffer.byteLength(reply.text));
    };

    it('not JSON', async () => {
        expectFailure(await post(server, '/claim/initiate', '{"mac_addr":'), 400, /not JSON/);
        expectFailure(await post(server, '/claim/initiate', '[1,2]'), 400, /JSON object/);
        expectFailure(await post(server, '/claim/initiate', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), 400, /UTF-8/);
    });

    it('wrong content type', async () => {
        expectFailure(await post(server, '/claim/initiate', 'mac_addr=7CDFA1B2C3D4', {'Content-Type': 'application/x-www-form-urlencoded'}), 415, /content type/);
    });

    it('oversized body, declared or streamed', async () => {
        expectFailure(await post(server, '/claim/initiate', 'x'.repeat(70 * 1024)), 413, /larger than 65536/);
        // Chunked, so no Content-Length warns the server: the cap is counted while reading.
        const streamed = await new Promise<Reply>((resolve, reject) => {
            const request = https.request({host: '127.0.0.1', port: server.port, path: '/claim/initiate', method: 'POST', ca: ca.certPem, servername: 'localhost'}, (response) => {
                const chunks: Buffer[] = [];
                response.on('data', (chunk: Buffer) => chunks.push(chunk));
                response.on('end', () => {
                    const text = Buffer.concat(chunks).toString();
                    resolve({status: response.statusCode ?? 0, headers: response.headers, text, json: JSON.parse(text) as Record<string, unknown>});
                });
            });
            request.on('error', reject);
            for (let index = 0; index < 10; index++) request.write('y'.repeat(8 * 1024));
            request.end();
        });
        expectFailure(streamed, 413, /larger than/);
    });

    it('unknown or invalid MAC', async () => {
        expectFailure(await post(server, '/claim/initiate', JSON.stringify({mac_addr: 'DEADBEEF0001', platform: 'esp32c3'})), 403, /DEADBEEF0001 is not approved/);
        expectFailure(await post(server, '/claim/initiate', JSON.stringify({mac_addr: 'zz', platform: 'esp32c3'})), 400, /not a MAC address/);
        expectFailure(await post(server, '/claim/initiate', JSON.stringify({platform: 'esp32c3'})), 400, /mac_addr/);
    });

    it('prototype keys', async () => {
        expectFailure(await post(server, '/claim/initiate', '{"mac_addr":"7CDFA1B2C3D4","__proto__":{"admin":true}}'), 400, /__proto__/);
    });

    it('unknown auth_id, bad challenge response, bad CSR', async () => {
        const {csrPem} = await opensslCsr('ec', '/CN=x');
        expectFailure(await post(server, '/claim/verify', JSON.stringify({auth_id: 'nope', challenge_response: 'AB'.repeat(64), csr: csrPem})), 400, /unknown or expired auth_id/);

        const init = async (): Promise<string> => (await post(server, '/claim/initiate', JSON.stringify({mac_addr: '7CDFA1B2C3D4', platform: 'esp32c3'}))).json.auth_id as string;
        expectFailure(await post(server, '/claim/verify', JSON.stringify({auth_id: await init(), challenge_response: 'short', csr: csrPem})), 400, /challenge_response/);
        expectFailure(await post(server, '/claim/verify', JSON.stringify({auth_id: await init(), challenge_response: 'AB'.repeat(64), csr: 'garbage'})), 400, /certificate request refused: no PEM/);
        const rsa1024 = (await opensslCsr('rsa1024', '/CN=x')).csrPem;
        expectFailure(await post(server, '/claim/verify', JSON.stringify({auth_id: await init(), challenge_response: 'AB'.repeat(64), csr: rsa1024})), 400, /2048 bits/);

        // An auth_id is good for one verify only.
        const authId = await init();
        expect((await post(server, '/claim/verify', JSON.stringify({auth_id: authId, challenge_response: 'AB'.repeat(64), csr: csrPem}))).status).toBe(200);
        expectFailure(await post(server, '/claim/verify', JSON.stringify({auth_id: authId, challenge_response: 'AB'.repeat(64), csr: csrPem})), 400, /unknown or expired/);
    });

    it('wrong method or path', async () => {
        expectFailure(await post(server, '/claim/initiate', '', {}, 'GET'), 405, /use POST/);
        expectFailure(await post(server, '/claim/other', '{}'), 404, /no such endpoint/);
        expectFailure(await post(openServer, '/claim/initiate', '{}'), 404, /no such endpoint/);
    });

    it('still serves a full claim after all of that, and logged one clear line per refusal without secrets', async () => {
        const {csrPem} = await opensslCsr('ec', '/CN=7CDFA1B2C3D4');
        expect((await selfClaim(server, '7CDFA1B2C3D4', csrPem)).status).toBe(200);
        expect(logLines.some((line) => line.startsWith('warn') && line.includes('refused (403): MAC DEADBEEF0001 is not approved'))).toBe(true);
        expect(logLines.some((line) => line.includes('issued a certificate to node 7CDFA1B2C3D4'))).toBe(true);
        expect(logLines.join('\n')).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE/);
    });
});
