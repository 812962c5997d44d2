import {X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync, webcrypto} from 'node:crypto';
import {isIP} from 'node:net';
import path from 'node:path';

// @peculiar/x509 (through tsyringe) needs the Reflect metadata API before it loads.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import forge from 'node-forge';

import {createLogger} from '../../util/logger.js';
import {type CertificateAuthority, tlsDirectory} from './ca.js';
import {ensurePrivateDirectory, readFileIfExists, replaceFile} from './files.js';
import {addYears, backdatedNow, pemBlocks, randomSerialHex} from './pem.js';

/**
 * Leaf certificates signed by our CA. Two minting paths, one profile:
 * - node-forge (synchronous) when the key pair is generated here, always RSA-2048: server
 *   certificates and `issueClientCertificate`;
 * - @peculiar/x509 (WebCrypto, asynchronous) when the public key comes from elsewhere and may be
 *   ECDSA P-256, which node-forge cannot read: CSRs and the claim tool's node keys.
 * Keys always come from `crypto.generateKeyPairSync`; Node's TLS does all verification.
 */

const log = createLogger('tls:issue');

export interface IssuedCertificate {
    certPem: string;
    keyPem: string;
}

export interface ServerNames {
    hosts: string[];
    ips: string[];
}

export type NodeKeyType = 'ec' | 'rsa';

const SERVER_VALIDITY_YEARS = 2;
const CLIENT_VALIDITY_YEARS = 10;
/** loadOrIssueServerCertificate renews a stored certificate that expires sooner than this. */
const SERVER_RENEW_BEFORE_MS = 30 * 24 * 60 * 60 * 1000;
/** A CSR is a few hundred bytes; anything this large is not one. */
const MAX_CSR_LENGTH = 16 * 1024;
const ACCEPTED_CSR_HASHES = new Set(['SHA-256', 'SHA-384', 'SHA-512']);
/** X.520 upper bound for a common name. */
const MAX_COMMON_NAME_LENGTH = 64;

// ---------------------------------------------------------------------------------------------
// The CA, parsed once per CertificateAuthority object.

interface ParsedCa {
    certPem: string;
    forgeCert: forge.pki.Certificate;
    forgeKey: forge.pki.rsa.PrivateKey;
    node: X509Certificate;
    /** Hex subject key identifier of the CA, copied into every leaf's authorityKeyIdentifier. */
    keyIdHex: string;
}

const parsedCas = new WeakMap<CertificateAuthority, ParsedCa>();

function parseCa(ca: CertificateAuthority): ParsedCa {
    const cached = parsedCas.get(ca);
    if (cached && cached.certPem === ca.certPem) return cached;
    const forgeCert = forge.pki.certificateFromPem(ca.certPem);
    const parsed: ParsedCa = {
        certPem: ca.certPem,
        forgeCert,
        forgeKey: forge.pki.privateKeyFromPem(ca.keyPem) as forge.pki.rsa.PrivateKey,
        node: new X509Certificate(ca.certPem),
        keyIdHex: forgeCert.generateSubjectKeyIdentifier().toHex(),
    };
    parsedCas.set(ca, parsed);
    return parsed;
}

/** The CA's validity caps every leaf: a leaf outliving its issuer would fail anyway. */
function leafNotAfter(ca: ParsedCa, notBefore: Date, years: number): Date {
    const wanted = addYears(notBefore, years);
    const caEnd = new Date(ca.node.validTo);
    return wanted < caEnd ? wanted : caEnd;
}

function assertCommonName(commonName: string): void {
    if (commonName.length === 0 || commonName.length > MAX_COMMON_NAME_LENGTH) {
        throw new Error(`common name must be 1 to ${MAX_COMMON_NAME_LENGTH} characters, got ${commonName.length}`);
    }
    if (/[\u0000-\u001f\u007f]/.test(commonName)) throw new Error('common name must not contain control characters');
}

// ---------------------------------------------------------------------------------------------
// node-forge path: RSA key pairs generated here.

interface ForgeLeafRequest {
    commonName: string;
    publicKeyPem: string;
    usage: 'server' | 'client';
    names?: ServerNames;
}

function generateRsaKeyPair(): {publicKeyPem: string; keyPem: string} {
    const {publicKey, privateKey} = generateKeyPairSync('rsa', {modulusLength: 2048, publicExponent: 0x10001});
    return {
        publicKeyPem: publicKey.export({type: 'spki', format: 'pem'}).toString(),
        keyPem: privateKey.export({type: 'pkcs8', format: 'pem'}).toString(),
    };
}

function mintWithForge(ca: CertificateAuthority, request: ForgeLeafRequest): string {
    const parsed = parseCa(ca);
    const cert = forge.pki.createCertificate();
    cert.publicKey = forge.pki.publicKeyFromPem(request.publicKeyPem);
    cert.serialNumber = randomSerialHex();
    cert.validity.notBefore = backdatedNow();
    cert.validity.notAfter = leafNotAfter(parsed, cert.validity.notBefore, request.usage === 'server' ? SERVER_VALIDITY_YEARS : CLIENT_VALIDITY_YEARS);
    // UTF8String: PrintableString cannot carry "_", which node ids may contain. (@types/node-forge
    // types valueTagClass as a tag class; forge reads it as the ASN.1 string type.)
    cert.setSubject([{shortName: 'CN', value: request.commonName, valueTagClass: forge.asn1.Type.UTF8 as unknown as forge.asn1.Class}]);
    cert.setIssuer(parsed.forgeCert.subject.attributes);
    const extensions: object[] = [
        {name: 'basicConstraints', cA: false, critical: true},
        {name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true},
        {name: 'extKeyUsage', serverAuth: request.usage === 'server', clientAuth: request.usage === 'client'},
        {name: 'subjectKeyIdentifier'},
        {name: 'authorityKeyIdentifier', keyIdentifier: forge.util.hexToBytes(parsed.keyIdHex)},
    ];
    if (request.names) {
        extensions.push({
            name: 'subjectAltName',
            altNames: [
                ...request.names.hosts.map((host) => ({type: 2, value: host})),
                ...request.names.ips.map((ip) => ({type: 7, ip})),
            ],
        });
    }
    cert.setExtensions(extensions);
    cert.sign(parsed.forgeKey, forge.md.sha256.create());
    return forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n');
}

function normaliseNames(names: ServerNames): ServerNames {
    const hosts = [...new Set(names.hosts.map((host) => host.trim().toLowerCase()).filter((host) => host.length > 0))];
    const ips = [...new Set(names.ips.map((ip) => canonicalIp(ip.trim())))];
    for (const host of hosts) {
        if (isIP(host)) throw new Error(`"${host}" is an IP address: list it under ips, not hosts`);
        if (!/^(\*\.)?[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?$/.test(host) || host.length > 253) {
            throw new Error(`"${host}" is not a valid DNS name`);
        }
    }
    if (hosts.length === 0 && ips.length === 0) throw new Error('a server certificate needs at least one host name or IP address');
    return {hosts, ips};
}

function canonicalIp(ip: string): string {
    const version = isIP(ip);
    if (version === 4) return ip;
    // The URL parser compresses IPv6 the canonical way, so "0:0:…:1" and "::1" compare equal.
    if (version === 6) return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
    throw new Error(`"${ip}" is not an IP address`);
}

/** Server certificate for the broker/claim/OTA host with SAN DNS names and IPs; CN = first host (or first IP). ExtKeyUsage serverAuth. */
export function issueServerCertificate(ca: CertificateAuthority, names: ServerNames): IssuedCertificate {
    const normalised = normaliseNames(names);
    const {publicKeyPem, keyPem} = generateRsaKeyPair();
    const commonName = normalised.hosts[0] ?? normalised.ips[0]!;
    return {certPem: mintWithForge(ca, {commonName, publicKeyPem, usage: 'server', names: normalised}), keyPem};
}

/** Client certificate with CN = commonName (RainMaker node id), ExtKeyUsage clientAuth, RSA-2048 key generated here. */
export function issueClientCertificate(ca: CertificateAuthority, commonName: string): IssuedCertificate {
    assertCommonName(commonName);
    const {publicKeyPem, keyPem} = generateRsaKeyPair();
    return {certPem: mintWithForge(ca, {commonName, publicKeyPem, usage: 'client'}), keyPem};
}

// ---------------------------------------------------------------------------------------------
// Stored server certificate.

export function serverCertificateFiles(dataDir: string): {certFile: string; keyFile: string} {
    const dir = tlsDirectory(dataDir);
    return {certFile: path.join(dir, 'server.crt'), keyFile: path.join(dir, 'server.key')};
}

/** DNS names and canonical IPs from Node's `subjectAltName` text ("DNS:a, IP Address:1.2.3.4"). */
function subjectAltNames(cert: X509Certificate): ServerNames {
    const hosts: string[] = [];
    const ips: string[] = [];
    for (const entry of (cert.subjectAltName ?? '').split(/,\s*/)) {
        if (entry.startsWith('DNS:')) hosts.push(entry.slice(4).toLowerCase());
        else if (entry.startsWith('IP Address:')) ips.push(canonicalIp(entry.slice(11)));
    }
    return {hosts, ips};
}

function sameSet(left: string[], right: string[]): boolean {
    return left.length === right.length && left.every((value) => right.includes(value));
}

/** Why a stored server certificate cannot be reused, or null when it can. */
function reasonToReissue(certPem: string, keyPem: string, ca: CertificateAuthority, names: ServerNames): string | null {
    let cert: X509Certificate;
    try {
        cert = new X509Certificate(certPem);
        if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return 'its key does not match';
    } catch (error) {
        return `it does not parse (${(error as Error).message})`;
    }
    if (!cert.verify(parseCa(ca).node.publicKey)) return 'it was not signed by the current CA';
    if (Date.parse(cert.validTo) - Date.now() < SERVER_RENEW_BEFORE_MS) return `it expires on ${cert.validTo}`;
    const stored = subjectAltNames(cert);
    if (!sameSet(stored.hosts, names.hosts) || !sameSet(stored.ips, names.ips)) return 'its names differ from the configured ones';
    return null;
}

/**
 * Loads `<dataDir>/tls/server.{crt,key}` if its SANs match `names`, it chains to `ca` and it is
 * valid for more than 30 days, else issues and stores a new one (key 0600).
 */
export async function loadOrIssueServerCertificate(dataDir: string, ca: CertificateAuthority, names: ServerNames): Promise<IssuedCertificate> {
    const normalised = normaliseNames(names);
    const {certFile, keyFile} = serverCertificateFiles(dataDir);
    await ensurePrivateDirectory(path.dirname(certFile));
    const [certPem, keyPem] = await Promise.all([readFileIfExists(certFile), readFileIfExists(keyFile)]);
    if (certPem !== null && keyPem !== null) {
        const reason = reasonToReissue(certPem, keyPem, ca, normalised);
        if (reason === null) return {certPem, keyPem};
        log.info(`issuing a new server certificate: the stored one cannot be used, ${reason}`);
    } else {
        log.info(`issuing a server certificate for ${[...normalised.hosts, ...normalised.ips].join(', ')}`);
    }
    const issued = issueServerCertificate(ca, normalised);
    // Key first: a crash between the two writes leaves a mismatched pair, which the next start detects and replaces.
    await replaceFile(keyFile, issued.keyPem, 0o600);
    await replaceFile(certFile, issued.certPem, 0o644);
    return issued;
}

// ---------------------------------------------------------------------------------------------
// @peculiar/x509 path: certificates for a public key we did not generate (CSRs) or that is EC.

/** Node's WebCrypto, typed as the provider @peculiar/x509 expects (its types name the DOM's `Crypto`). */
const crypto = webcrypto as unknown as NonNullable<Parameters<typeof x509.X509CertificateGenerator.create>[1]>;

/** The key types a node may bring: what current (ECDSA P-256) and older (RSA-2048) firmware generates. */
function describeAcceptedKey(spkiDer: Buffer): {type: NodeKeyType} {
    let key;
    try {
        key = createPublicKey({key: spkiDer, format: 'der', type: 'spki'});
    } catch (error) {
        throw new Error(`the public key cannot be read: ${(error as Error).message}`);
    }
    const details = key.asymmetricKeyDetails ?? {};
    if (key.asymmetricKeyType === 'rsa') {
        if (details.modulusLength !== 2048) throw new Error(`RSA keys must be 2048 bits, got ${details.modulusLength ?? 'unknown'}`);
        if (details.publicExponent !== 0x10001n) throw new Error(`RSA keys must use the public exponent 65537, got ${details.publicExponent ?? 'unknown'}`);
        return {type: 'rsa'};
    }
    if (key.asymmetricKeyType === 'ec') {
        if (details.namedCurve !== 'prime256v1') throw new Error(`EC keys must be on P-256, got ${details.namedCurve ?? 'unknown'}`);
        return {type: 'ec'};
    }
    throw new Error(`only RSA-2048 and ECDSA P-256 keys are accepted, got ${key.asymmetricKeyType ?? 'unknown'}`);
}

async function importCaSigningKey(ca: CertificateAuthority): Promise<webcrypto.CryptoKey> {
    const der = createPrivateKey(ca.keyPem).export({type: 'pkcs8', format: 'der'});
    return crypto.subtle.importKey('pkcs8', new Uint8Array(der), {name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256'}, false, ['sign']);
}

/**
 * A client certificate (CN = `commonName`, clientAuth) for a public key given as SPKI DER, RSA-2048
 * or ECDSA P-256. keyUsage carries keyAgreement for EC keys and keyEncipherment for RSA keys.
 */
export async function certifyClientPublicKey(ca: CertificateAuthority, spkiDer: Buffer, commonName: string): Promise<string> {
    assertCommonName(commonName);
    const {type} = describeAcceptedKey(spkiDer);
    const parsed = parseCa(ca);
    const publicKey = new Uint8Array(spkiDer);
    const notBefore = backdatedNow();
    const cert = await x509.X509CertificateGenerator.create(
        {
            serialNumber: randomSerialHex(),
            subject: [{CN: [commonName]}],
            issuer: new x509.X509Certificate(ca.certPem).subjectName,
            notBefore,
            notAfter: leafNotAfter(parsed, notBefore, CLIENT_VALIDITY_YEARS),
            publicKey,
            signingKey: await importCaSigningKey(ca),
            signingAlgorithm: {name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256'},
            extensions: [
                new x509.BasicConstraintsExtension(false, undefined, true),
                new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | (type === 'ec' ? x509.KeyUsageFlags.keyAgreement : x509.KeyUsageFlags.keyEncipherment), true),
                new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
                await x509.SubjectKeyIdentifierExtension.create(publicKey, false, crypto),
                new x509.AuthorityKeyIdentifierExtension(parsed.keyIdHex),
            ],
        },
        crypto,
    );
    return cert.toString('pem').replace(/\r\n/g, '\n') + '\n';
}

/**
 * Client certificate and key for a node, key generated here: ECDSA P-256 (the current firmware
 * default, and a certificate small enough for every buffer) or RSA-2048. Keys are written the way
 * esp-rainmaker-cli writes them: EC as PKCS#8, RSA as PKCS#1 (both parse in mbedTLS).
 */
export async function issueNodeCertificate(ca: CertificateAuthority, commonName: string, keyType: NodeKeyType = 'ec'): Promise<IssuedCertificate> {
    const pair = keyType === 'ec'
        ? generateKeyPairSync('ec', {namedCurve: 'prime256v1'})
        : generateKeyPairSync('rsa', {modulusLength: 2048, publicExponent: 0x10001});
    const keyPem = pair.privateKey.export(keyType === 'ec' ? {type: 'pkcs8', format: 'pem'} : {type: 'pkcs1', format: 'pem'}).toString();
    const spkiDer = pair.publicKey.export({type: 'spki', format: 'der'});
    return {certPem: await certifyClientPublicKey(ca, spkiDer, commonName), keyPem};
}

/**
 * Signs a PKCS#10 CSR (PEM; RSA-2048 or ECDSA P-256, self-signature verified) and returns a client
 * certificate whose subject is CN = `commonName` (the CSR's subject is ignored) for the CSR's
 * public key. Asynchronous because WebCrypto is. Rejects garbage, a CSR whose signature does not
 * verify, and other key types or sizes, with the reason in the message.
 */
export async function signCsr(ca: CertificateAuthority, csrPem: string, commonName: string): Promise<string> {
    if (typeof csrPem !== 'string' || csrPem.length > MAX_CSR_LENGTH) throw new Error('the CSR is missing or too large');
    const blocks = pemBlocks(csrPem).filter((block) => block.label === 'CERTIFICATE REQUEST' || block.label === 'NEW CERTIFICATE REQUEST');
    if (blocks.length !== 1) throw new Error(blocks.length === 0 ? 'no PEM certificate request found' : 'more than one certificate request');
    let csr: x509.Pkcs10CertificateRequest;
    try {
        csr = new x509.Pkcs10CertificateRequest(new Uint8Array(blocks[0]!.der));
    } catch (error) {
        throw new Error(`the certificate request does not parse: ${(error as Error).message}`);
    }
    const spkiDer = Buffer.from(csr.publicKey.rawData);
    describeAcceptedKey(spkiDer);
    const hash = csr.signatureAlgorithm.hash?.name;
    // mbedTLS signs CSRs with SHA-256; SHA-1 or MD5 signatures prove too little to be worth accepting.
    if (!hash || !ACCEPTED_CSR_HASHES.has(hash)) throw new Error(`the certificate request is signed with ${hash ?? 'an unknown hash'}; SHA-256, SHA-384 or SHA-512 is required`);
    let valid: boolean;
    try {
        valid = await csr.verify(crypto);
    } catch (error) {
        throw new Error(`the certificate request signature cannot be checked: ${(error as Error).message}`);
    }
    if (!valid) throw new Error('the certificate request signature does not verify');
    return certifyClientPublicKey(ca, spkiDer, commonName);
}
