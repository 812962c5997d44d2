import {execFile} from 'node:child_process';
import {promises as fs} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {promisify} from 'node:util';

/**
 * The Debian `openssl` binary as an independent second opinion: it makes the CSRs a node would
 * make and verifies what we issue, so our code is never checked only against itself.
 */

const run = promisify(execFile);

export async function withTempDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fogbridge-tls-'));
    try {
        return await work(dir);
    } finally {
        await fs.rm(dir, {recursive: true, force: true});
    }
}

export type CsrKind = 'ec' | 'rsa' | 'rsa1024' | 'ec384';

const keyArgs: Record<CsrKind, string[]> = {
    ec: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'],
    ec384: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp384r1'],
    rsa: ['-newkey', 'rsa:2048'],
    rsa1024: ['-newkey', 'rsa:1024'],
};

/** A fresh key and a PKCS#10 CSR for it, made by `openssl req -new`, as a node (mbedTLS) would. */
export async function opensslCsr(kind: CsrKind, subject: string, digest = 'sha256'): Promise<{csrPem: string; keyPem: string}> {
    return withTempDir(async (dir) => {
        const keyFile = path.join(dir, 'node.key');
        const csrFile = path.join(dir, 'node.csr');
        await run('openssl', ['req', '-new', ...keyArgs[kind], '-nodes', `-${digest}`, '-subj', subject, '-keyout', keyFile, '-out', csrFile]);
        return {csrPem: await fs.readFile(csrFile, 'utf8'), keyPem: await fs.readFile(keyFile, 'utf8')};
    });
}

/** `openssl verify -CAfile` of one certificate: resolves with openssl's output, rejects when it fails. */
export async function opensslVerify(caPem: string, certPem: string, purpose?: 'sslclient' | 'sslserver'): Promise<string> {
    return withTempDir(async (dir) => {
        await fs.writeFile(path.join(dir, 'ca.crt'), caPem);
        await fs.writeFile(path.join(dir, 'leaf.crt'), certPem);
        const args = ['verify', '-CAfile', path.join(dir, 'ca.crt'), ...(purpose ? ['-purpose', purpose] : []), path.join(dir, 'leaf.crt')];
        const {stdout} = await run('openssl', args);
        return stdout.trim();
    });
}

/** `openssl x509 -text` of a certificate, for asserting extensions. */
export async function opensslText(certPem: string): Promise<string> {
    return withTempDir(async (dir) => {
        await fs.writeFile(path.join(dir, 'leaf.crt'), certPem);
        const {stdout} = await run('openssl', ['x509', '-in', path.join(dir, 'leaf.crt'), '-noout', '-text']);
        return stdout;
    });
}
