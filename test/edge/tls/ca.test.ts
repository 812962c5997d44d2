import {execFile} from 'node:child_process';
import {X509Certificate, createPrivateKey} from 'node:crypto';
import {promises as fs} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {promisify} from 'node:util';

import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest';

import {setLogSink} from '../../../src/util/logger.js';
import {caFiles, loadOrCreateCa} from '../../../src/edge/tls/ca.js';
import {opensslText} from './openssl.js';

// Quiet: these tests assert on results, not on log lines.
beforeAll(() => setLogSink(() => undefined));
afterAll(() => setLogSink(null));

let dataDir: string;

beforeEach(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'fogbridge-ca-'));
});

afterEach(async () => {
    await fs.rm(dataDir, {recursive: true, force: true});
});

const mode = async (file: string): Promise<number> => (await fs.stat(file)).mode & 0o777;

describe('loadOrCreateCa', () => {
    it('creates an RSA CA with CA:true, keyCertSign/cRLSign and 10 years of validity, in a 0700 dir with a 0600 key', async () => {
        const ca = await loadOrCreateCa(dataDir);
        const {bundleFile, certFile} = caFiles(dataDir);
        expect(ca.certFile).toBe(certFile);
        expect(await mode(path.join(dataDir, 'tls'))).toBe(0o700);
        expect(await mode(bundleFile)).toBe(0o600);
        expect(await fs.readFile(certFile, 'utf8')).toBe(ca.certPem);
        expect(await fs.readFile(certFile, 'utf8')).not.toContain('PRIVATE KEY');

        const cert = new X509Certificate(ca.certPem);
        expect(cert.ca).toBe(true);
        expect(cert.checkPrivateKey(createPrivateKey(ca.keyPem))).toBe(true);
        expect(cert.verify(cert.publicKey)).toBe(true);
        expect(cert.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
        const years = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / (365.25 * 24 * 3600 * 1000);
        expect(years).toBeGreaterThan(9.9);
        expect(years).toBeLessThan(10.1);
        expect(Date.parse(cert.validFrom)).toBeLessThan(Date.now() - 30 * 60 * 1000);
        // 16 random bytes, positive.
        expect(cert.serialNumber).toMatch(/^[0-7][0-9A-F]{31}$/);

        const text = await opensslText(ca.certPem);
        expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE/);
        expect(text).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
    });

    it('loads the same CA on later starts', async () => {
        const first = await loadOrCreateCa(dataDir);
        const second = await loadOrCreateCa(dataDir);
        expect(second).toEqual(first);
    });

    it('gives every concurrent first start the same CA', async () => {
        const results = await Promise.all([1, 2, 3, 4].map(() => loadOrCreateCa(dataDir)));
        for (const result of results) expect(result.certPem).toBe(results[0]!.certPem);
        const leftovers = (await fs.readdir(path.join(dataDir, 'tls'))).filter((name) => name.endsWith('.tmp'));
        expect(leftovers).toEqual([]);
    });

    it('gives concurrent first starts in separate processes the same CA', async () => {
        const child = fileURLToPath(new URL('./load-ca-child.ts', import.meta.url));
        const run = (): Promise<string> => promisify(execFile)(process.execPath, ['--import', 'tsx', child, dataDir]).then(({stdout}) => stdout);
        const outputs = await Promise.all([run(), run(), run()]);
        expect(outputs[0]).toContain('BEGIN CERTIFICATE');
        expect(new Set(outputs).size).toBe(1);
        expect((await loadOrCreateCa(dataDir)).certPem).toBe(outputs[0]);
    });

    it('restores a missing or edited public copy and re-tightens the directory mode', async () => {
        const ca = await loadOrCreateCa(dataDir);
        await fs.writeFile(ca.certFile, 'tampered');
        await fs.chmod(path.join(dataDir, 'tls'), 0o755);
        await loadOrCreateCa(dataDir);
        expect(await fs.readFile(ca.certFile, 'utf8')).toBe(ca.certPem);
        expect(await mode(path.join(dataDir, 'tls'))).toBe(0o700);
    });

    it('refuses a damaged CA file instead of silently replacing it', async () => {
        await loadOrCreateCa(dataDir);
        const {bundleFile} = caFiles(dataDir);
        const text = await fs.readFile(bundleFile, 'utf8');
        await fs.writeFile(bundleFile, text.slice(0, text.indexOf('-----BEGIN CERTIFICATE-----')));
        await expect(loadOrCreateCa(dataDir)).rejects.toThrow(/must hold the CA certificate and its private key/);
    });

    it('refuses a CA file whose key belongs to another certificate', async () => {
        const other = await fs.mkdtemp(path.join(os.tmpdir(), 'fogbridge-ca-other-'));
        try {
            const mine = await loadOrCreateCa(dataDir);
            const theirs = await loadOrCreateCa(other);
            await fs.writeFile(caFiles(dataDir).bundleFile, theirs.keyPem + mine.certPem);
            await expect(loadOrCreateCa(dataDir)).rejects.toThrow(/not a usable CA/);
        } finally {
            await fs.rm(other, {recursive: true, force: true});
        }
    });
});
