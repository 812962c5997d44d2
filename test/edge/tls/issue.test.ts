import {X509Certificate, createPrivateKey} from 'node:crypto';
import {promises as fs} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';

import {setLogSink} from '../../../src/util/logger.js';
import {type CertificateAuthority, loadOrCreateCa} from '../../../src/edge/tls/ca.js';
import {
    type IssuedCertificate,
    issueClientCertificate,
    issueNodeCertificate,
    issueServerCertificate,
    loadOrIssueServerCertificate,
    serverCertificateFiles,
    signCsr,
} from '../../../src/edge/tls/issue.js';
import {pemBlocks, toPem} from '../../../src/edge/tls/pem.js';
import {opensslCsr, opensslText, opensslVerify} from './openssl.js';

// Quiet: these tests assert on results, not on log lines.
beforeAll(() => setLogSink(() => undefined));
afterAll(() => setLogSink(null));

let dataDir: string;
let otherDataDir: string;
let ca: CertificateAuthority;
let otherCa: CertificateAuthority;
let server: IssuedCertificate;

beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'fogbridge-issue-'));
    otherDataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'fogbridge-issue-other-'));
    ca = await loadOrCreateCa(dataDir);
    otherCa = await loadOrCreateCa(otherDataDir);
    server = issueServerCertificate(ca, {hosts: ['rm.example.net', 'localhost'], ips: ['127.0.0.1', '::1']});
});

afterAll(async () => {
    await fs.rm(dataDir, {recursive: true, force: true});
    await fs.rm(otherDataDir, {recursive: true, force: true});
});

const caKey = (authority: CertificateAuthority): X509Certificate['publicKey'] => new X509Certificate(authority.certPem).publicKey;

describe('issueServerCertificate', () => {
    it('carries the DNS and IP SANs, CN = first host, serverAuth, and chains to the CA', async () => {
        const cert = new X509Certificate(server.certPem);
        expect(cert.verify(caKey(ca))).toBe(true);
        expect(cert.verify(caKey(otherCa))).toBe(false);
        expect(cert.checkPrivateKey(createPrivateKey(server.keyPem))).toBe(true);
        expect(cert.subject).toBe('CN=rm.example.net');
        expect(cert.checkHost('rm.example.net')).toBe('rm.example.net');
        expect(cert.checkHost('localhost')).toBe('localhost');
        expect(cert.checkHost('other.example.net')).toBeUndefined();
        expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
        expect(cert.checkIP('::1')).toBe('::1');
        expect(cert.checkIP('10.0.0.1')).toBeUndefined();
        expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
        expect(cert.ca).toBe(false);
        expect(await opensslVerify(ca.certPem, server.certPem, 'sslserver')).toMatch(/: OK$/);
        await expect(opensslVerify(otherCa.certPem, server.certPem)).rejects.toThrow();
    });

    it('refuses bad names', () => {
        expect(() => issueServerCertificate(ca, {hosts: [], ips: []})).toThrow(/at least one/);
        expect(() => issueServerCertificate(ca, {hosts: ['bad host'], ips: []})).toThrow(/not a valid DNS name/);
        expect(() => issueServerCertificate(ca, {hosts: ['10.0.0.1'], ips: []})).toThrow(/list it under ips/);
        expect(() => issueServerCertificate(ca, {hosts: ['a.b'], ips: ['999.1.1.1']})).toThrow(/not an IP address/);
    });
});

describe('loadOrIssueServerCertificate', () => {
    const names = {hosts: ['rm.local'], ips: ['192.168.1.10']};

    it('stores the pair (key 0600), reuses it while the names match, and reissues when they change', async () => {
        const first = await loadOrIssueServerCertificate(dataDir, ca, names);
        const {certFile, keyFile} = serverCertificateFiles(dataDir);
        expect((await fs.stat(keyFile)).mode & 0o777).toBe(0o600);
        expect(await fs.readFile(certFile, 'utf8')).toBe(first.certPem);

        const again = await loadOrIssueServerCertificate(dataDir, ca, {hosts: ['RM.local'], ips: ['192.168.1.10']});
        expect(again.certPem).toBe(first.certPem);

        const renamed = await loadOrIssueServerCertificate(dataDir, ca, {hosts: ['rm.local', 'rm2.local'], ips: ['192.168.1.10']});
        expect(renamed.certPem).not.toBe(first.certPem);
        expect(new X509Certificate(renamed.certPem).checkHost('rm2.local')).toBe('rm2.local');
    });

    it('reissues a stored certificate that another CA signed or whose key does not match', async () => {
        const current = await loadOrIssueServerCertificate(dataDir, ca, names);
        const fromOtherCa = await loadOrIssueServerCertificate(dataDir, otherCa, names);
        expect(fromOtherCa.certPem).not.toBe(current.certPem);
        expect(new X509Certificate(fromOtherCa.certPem).verify(caKey(otherCa))).toBe(true);

        const {keyFile} = serverCertificateFiles(dataDir);
        await fs.writeFile(keyFile, issueClientCertificate(otherCa, 'stray').keyPem);
        const repaired = await loadOrIssueServerCertificate(dataDir, otherCa, names);
        expect(new X509Certificate(repaired.certPem).checkPrivateKey(createPrivateKey(await fs.readFile(keyFile, 'utf8')))).toBe(true);
    });
});

describe('client certificates', () => {
    it('issueClientCertificate: CN = node id, clientAuth, verifies with Node and openssl', async () => {
        const client = issueClientCertificate(ca, '7CDFA1B2C3D4');
        const cert = new X509Certificate(client.certPem);
        expect(cert.subject).toBe('CN=7CDFA1B2C3D4');
        expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
        expect(cert.verify(caKey(ca))).toBe(true);
        expect(cert.checkPrivateKey(createPrivateKey(client.keyPem))).toBe(true);
        expect(await opensslVerify(ca.certPem, client.certPem, 'sslclient')).toMatch(/: OK$/);
    });

    it('issueNodeCertificate makes an EC P-256 certificate with keyAgreement, RSA on request', async () => {
        const ec = await issueNodeCertificate(ca, 'node_with_underscore');
        const ecCert = new X509Certificate(ec.certPem);
        expect(ecCert.subject).toBe('CN=node_with_underscore');
        expect(ecCert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
        expect(ecCert.checkPrivateKey(createPrivateKey(ec.keyPem))).toBe(true);
        expect(await opensslText(ec.certPem)).toMatch(/Key Usage: critical\s+Digital Signature, Key Agreement/);
        expect(await opensslVerify(ca.certPem, ec.certPem, 'sslclient')).toMatch(/: OK$/);

        const rsa = await issueNodeCertificate(ca, 'AABBCCDDEEFF', 'rsa');
        expect(rsa.keyPem).toContain('BEGIN RSA PRIVATE KEY');
        expect(new X509Certificate(rsa.certPem).publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
        expect(await opensslText(rsa.certPem)).toMatch(/Key Usage: critical\s+Digital Signature, Key Encipherment/);
    });

    it('refuses empty or over-long common names', () => {
        expect(() => issueClientCertificate(ca, '')).toThrow(/1 to 64/);
        expect(() => issueClientCertificate(ca, 'x'.repeat(65))).toThrow(/1 to 64/);
        expect(() => issueClientCertificate(ca, 'a\nb')).toThrow(/control/);
    });
});

describe('mutual TLS with Node', () => {
    let tlsServer: tls.Server;
    let port: number;
    const peers: string[] = [];

    beforeAll(async () => {
        tlsServer = tls.createServer({ca: ca.certPem, cert: server.certPem, key: server.keyPem, requestCert: true, rejectUnauthorized: true}, (socket) => {
            peers.push(String(socket.getPeerCertificate().subject.CN));
            socket.end('hello');
        });
        tlsServer.on('tlsClientError', () => undefined);
        await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
        port = (tlsServer.address() as {port: number}).port;
    });

    afterAll(async () => {
        await new Promise<void>((resolve) => tlsServer.close(() => resolve()));
    });

    afterEach(() => {
        peers.length = 0;
    });

    /** 'accepted' when the server greeted us, else the error code or 'closed'. */
    const attempt = (client: {cert?: string; key?: string}): Promise<string> =>
        new Promise((resolve) => {
            let settled = false;
            const settle = (outcome: string): void => {
                if (!settled) {
                    settled = true;
                    resolve(outcome);
                }
            };
            const socket = tls.connect({host: '127.0.0.1', port, servername: 'localhost', ca: ca.certPem, ...client});
            socket.on('data', (data) => settle(data.toString() === 'hello' ? 'accepted' : 'unexpected'));
            socket.on('error', (error: NodeJS.ErrnoException) => settle(error.code ?? error.message));
            socket.on('close', () => settle('closed'));
        });

    it('accepts a client certificate we issued (RSA and EC) and reports its CN', async () => {
        const rsa = issueClientCertificate(ca, 'RSA_NODE');
        expect(await attempt({cert: rsa.certPem, key: rsa.keyPem})).toBe('accepted');
        const ec = await issueNodeCertificate(ca, 'EC_NODE');
        expect(await attempt({cert: ec.certPem, key: ec.keyPem})).toBe('accepted');
        expect(peers).toEqual(['RSA_NODE', 'EC_NODE']);
    });

    it('refuses a certificate from another CA and a client without a certificate', async () => {
        const foreign = issueClientCertificate(otherCa, 'INTRUDER');
        expect(await attempt({cert: foreign.certPem, key: foreign.keyPem})).not.toBe('accepted');
        expect(await attempt({})).not.toBe('accepted');
        expect(peers).toEqual([]);
    });

    it('refuses a server certificate used as a client certificate (no clientAuth)', async () => {
        expect(await attempt({cert: server.certPem, key: server.keyPem})).not.toBe('accepted');
        expect(peers).toEqual([]);
    });
});

describe('signCsr', () => {
    it.each(['ec', 'rsa'] as const)('signs an openssl %s CSR with CN = node id whatever the CSR says', async (kind) => {
        const {csrPem, keyPem} = await opensslCsr(kind, '/CN=SOMETHING-ELSE/O=Evil Corp');
        const certPem = await signCsr(ca, csrPem, '7CDFA1B2C3D4');
        const cert = new X509Certificate(certPem);
        expect(cert.subject).toBe('CN=7CDFA1B2C3D4');
        expect(cert.issuer).toBe(new X509Certificate(ca.certPem).subject);
        expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
        expect(cert.verify(caKey(ca))).toBe(true);
        expect(cert.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
        expect(cert.serialNumber).toMatch(/^[0-7][0-9A-F]{31}$/);
        expect(Date.parse(cert.validFrom)).toBeLessThan(Date.now() - 30 * 60 * 1000);
        expect(await opensslVerify(ca.certPem, certPem, 'sslclient')).toMatch(/: OK$/);
        const text = await opensslText(certPem);
        expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
        expect(text).toMatch(/Authority Key Identifier/);
    });

    it('refuses a CSR whose signature was tampered with', async () => {
        const {csrPem} = await opensslCsr('ec', '/CN=x');
        const block = pemBlocks(csrPem)[0]!;
        const der = Buffer.from(block.der);
        der[der.length - 3]! ^= 0x55;
        await expect(signCsr(ca, toPem('CERTIFICATE REQUEST', der), 'N')).rejects.toThrow(/signature/);
    });

    it('refuses a CSR whose public key was swapped (signature no longer matches)', async () => {
        const first = pemBlocks((await opensslCsr('rsa', '/CN=a')).csrPem)[0]!.der;
        const second = pemBlocks((await opensslCsr('rsa', '/CN=a')).csrPem)[0]!.der;
        // Same subject, same layout: only key and signature differ. Keep the first key, take the second signature.
        const spliced = Buffer.concat([first.subarray(0, first.length - 256), second.subarray(second.length - 256)]);
        await expect(signCsr(ca, toPem('CERTIFICATE REQUEST', spliced), 'N')).rejects.toThrow(/signature does not verify/);
    });

    it('refuses other key types and sizes', async () => {
        await expect(signCsr(ca, (await opensslCsr('rsa1024', '/CN=x')).csrPem, 'N')).rejects.toThrow(/2048 bits/);
        await expect(signCsr(ca, (await opensslCsr('ec384', '/CN=x')).csrPem, 'N')).rejects.toThrow(/P-256/);
    });

    it('refuses a SHA-1 signed CSR', async () => {
        await expect(signCsr(ca, (await opensslCsr('ec', '/CN=x', 'sha1')).csrPem, 'N')).rejects.toThrow(/SHA-1/);
    });

    it('refuses garbage with a reason', async () => {
        await expect(signCsr(ca, 'hello', 'N')).rejects.toThrow(/no PEM certificate request/);
        await expect(signCsr(ca, toPem('CERTIFICATE REQUEST', Buffer.from('not asn1 at all')), 'N')).rejects.toThrow(/does not parse/);
        await expect(signCsr(ca, server.certPem, 'N')).rejects.toThrow(/no PEM certificate request/);
        await expect(signCsr(ca, 'x'.repeat(20_000), 'N')).rejects.toThrow(/too large/);
    });
});
