import {X509Certificate, createPrivateKey, generateKeyPairSync, randomBytes} from 'node:crypto';
import path from 'node:path';

import forge from 'node-forge';

import {createLogger} from '../../util/logger.js';
import {createFileExclusive, ensurePrivateDirectory, readFileIfExists, replaceFile} from './files.js';
import {addYears, backdatedNow, pemBlocks, randomSerialHex} from './pem.js';

const log = createLogger('tls:ca');

export interface CertificateAuthority {
    certPem: string;
    keyPem: string;
    /** the CA file paths in the data dir */
    certFile: string;
}

/** `<dataDir>/tls`: CA, server certificate and their keys. */
export function tlsDirectory(dataDir: string): string {
    return path.join(dataDir, 'tls');
}

/**
 * The CA certificate and its private key live together in `ca.pem` (0600), created in one
 * exclusive step so that two first starts cannot end up with a key from one and a certificate from
 * the other. `ca.crt` is a public copy for firmware bundles and `openssl verify -CAfile`.
 */
export function caFiles(dataDir: string): {bundleFile: string; certFile: string} {
    const dir = tlsDirectory(dataDir);
    return {bundleFile: path.join(dir, 'ca.pem'), certFile: path.join(dir, 'ca.crt')};
}

const CA_VALIDITY_YEARS = 10;

/**
 * Creates on first start in `<dataDir>/tls/` (dir 0700, keys 0600) an RSA-2048 CA valid for 10
 * years (basicConstraints CA:true, pathLen 0; keyUsage keyCertSign/cRLSign); later starts load it.
 * RSA because node-forge, which mints our certificates, signs only with RSA keys.
 */
export async function loadOrCreateCa(dataDir: string): Promise<CertificateAuthority> {
    const dir = tlsDirectory(dataDir);
    const {bundleFile, certFile} = caFiles(dataDir);
    await ensurePrivateDirectory(dir);
    let bundle = await readFileIfExists(bundleFile);
    if (bundle === null) {
        const created = mintCa();
        if (await createFileExclusive(bundleFile, created.keyPem + created.certPem, 0o600)) {
            log.info(`created a new certificate authority in ${bundleFile}`);
        }
        // Read back rather than use `created`: a concurrent first start may have won the race.
        bundle = await readFileIfExists(bundleFile);
        if (bundle === null) throw new Error(`${bundleFile} vanished right after it was created`);
    }
    const {certPem, keyPem} = parseCaBundle(bundle, bundleFile);
    if ((await readFileIfExists(certFile)) !== certPem) await replaceFile(certFile, certPem, 0o644);
    return {certPem, keyPem, certFile};
}

function parseCaBundle(text: string, file: string): {certPem: string; keyPem: string} {
    const blocks = pemBlocks(text);
    const cert = blocks.find((block) => block.label === 'CERTIFICATE');
    const key = blocks.find((block) => block.label === 'PRIVATE KEY' || block.label === 'RSA PRIVATE KEY');
    // Never replace a damaged CA silently: every node certificate issued so far depends on it.
    if (!cert || !key) throw new Error(`${file} must hold the CA certificate and its private key; move it away to create a new CA (nodes then need new certificates)`);
    let x509: X509Certificate;
    try {
        x509 = new X509Certificate(cert.der);
        if (!x509.checkPrivateKey(createPrivateKey(key.pem))) throw new Error('the private key does not belong to the certificate');
    } catch (error) {
        throw new Error(`${file} is not a usable CA: ${(error as Error).message}`);
    }
    if (!x509.ca) throw new Error(`${file}: the certificate is not a CA certificate`);
    if (Date.parse(x509.validTo) < Date.now()) log.warn(`the CA in ${file} expired on ${x509.validTo}`);
    return {certPem: cert.pem, keyPem: key.pem};
}

function mintCa(): {certPem: string; keyPem: string} {
    const {publicKey, privateKey} = generateKeyPairSync('rsa', {modulusLength: 2048, publicExponent: 0x10001});
    const keyPem = privateKey.export({type: 'pkcs8', format: 'pem'}).toString();
    const cert = forge.pki.createCertificate();
    cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({type: 'spki', format: 'pem'}).toString());
    cert.serialNumber = randomSerialHex();
    cert.validity.notBefore = backdatedNow();
    cert.validity.notAfter = addYears(cert.validity.notBefore, CA_VALIDITY_YEARS);
    // A per-install suffix keeps two fogbridge CAs apart in one firmware certificate bundle.
    const attributes = [
        {shortName: 'CN', value: `fogbridge local CA ${randomBytes(4).toString('hex')}`},
        {shortName: 'O', value: 'fogbridge'},
    ];
    cert.setSubject(attributes);
    cert.setIssuer(attributes);
    cert.setExtensions([
        {name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true},
        {name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true},
        {name: 'subjectKeyIdentifier'},
    ]);
    cert.sign(forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
    return {certPem: forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n'), keyPem};
}
