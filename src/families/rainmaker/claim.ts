import {X509Certificate, randomBytes} from 'node:crypto';
import {isIP} from 'node:net';
import path from 'node:path';

import {readJsonWithBackup, writeFileAtomic} from '../../util/atomic-file.js';
import {createLogger} from '../../util/logger.js';
import type {CertificateAuthority} from '../../edge/tls/ca.js';
import {ensurePrivateDirectory, readFileIfExists, replaceFile} from '../../edge/tls/files.js';
import {type NodeKeyType, issueNodeCertificate} from '../../edge/tls/issue.js';

/**
 * Host claiming (rainmaker.md §6.1): the bridge, as CA, gives a node its identity, key and
 * certificate and writes them as the factory (`fctry`) NVS partition content that
 * esp-rainmaker-cli would produce, ready for `nvs_partition_gen.py` and esptool.
 *
 * Node ids are the node's uppercase 12-hex MAC. That is the id the firmware uses by itself when
 * fctry has no `node_id` and the CN its self-claim CSR carries, so a node keeps one identity
 * whether it was host-claimed or self-claimed, and claiming it again after losing the data
 * directory gives the same id (its Home Assistant entities survive).
 */

const log = createLogger('rainmaker:claim');

export interface ClaimedNode {
    nodeId: string;
    /** Uppercase 12-hex, no separators. */
    mac: string;
    certPem: string;
    keyPem: string;
    caPem: string;
    mqttHost: string;
    /** `<dataDir>/rainmaker/nodes/<nodeId>`: the fctry files and `node_info.csv`. */
    dir: string;
}

export interface ClaimOptions {
    mac: string;
    /** Host name (or IP) the node dials, stored as fctry `mqtt_host`: no scheme, no port. */
    mqttHost: string;
    /** ECDSA P-256 by default (current firmware's own choice, smallest certificate); RSA-2048 for old builds. */
    keyType?: NodeKeyType;
}

export type ClaimMethod = 'host' | 'self';

export interface ClaimRecord {
    nodeId: string;
    method: ClaimMethod;
    claimedAt: string;
    mqttHost: string;
    certSerial: string;
    certFingerprint256: string;
}

/** `<dataDir>/rainmaker/claims.json`: MAC → node id (and the latest certificate), plus MACs approved for self-claim. */
export interface ClaimIndex {
    version: 1;
    claims: Record<string, ClaimRecord>;
    approved: Record<string, {approvedAt: string}>;
}

/** Files of the fctry partition, named as esp-rainmaker-cli names them. */
export const FCTRY_FILES = {
    nodeId: 'node.info',
    mqttHost: 'endpoint.info',
    cert: 'node.crt',
    key: 'node.key',
    random: 'random.info',
    csv: 'node_info.csv',
    /** Not part of the partition (the firmware has no fctry key for a server CA): for a custom certificate bundle. */
    ca: 'ca.crt',
} as const;

/** Kconfig defaults of the factory partition: namespace `rmaker_creds`, partition size 0x6000. */
export const FCTRY_NAMESPACE = 'rmaker_creds';
export const FCTRY_PARTITION_SIZE = '0x6000';

export function rainmakerDirectory(dataDir: string): string {
    return path.join(dataDir, 'rainmaker');
}

export function claimsFile(dataDir: string): string {
    return path.join(rainmakerDirectory(dataDir), 'claims.json');
}

export function nodeDirectory(dataDir: string, nodeId: string): string {
    return path.join(rainmakerDirectory(dataDir), 'nodes', nodeId);
}

const MAC_FORMS = [
    /^[0-9A-Fa-f]{12}$/,
    /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/,
    /^[0-9A-Fa-f]{2}(-[0-9A-Fa-f]{2}){5}$/,
    /^[0-9A-Fa-f]{4}(\.[0-9A-Fa-f]{4}){2}$/,
];

/** `7c:df:a1:b2:c3:d4`, `7C-DF-…`, `7cdf.a1b2.c3d4` or `7CDFA1B2C3D4` → `7CDFA1B2C3D4`; anything else throws. */
export function normaliseMac(input: string): string {
    const text = String(input).trim();
    if (!MAC_FORMS.some((form) => form.test(text))) {
        throw new Error(`"${input}" is not a MAC address: expected 12 hex digits, optionally separated like 7C:DF:A1:B2:C3:D4 or 7C-DF-A1-B2-C3-D4`);
    }
    return text.replace(/[^0-9A-Fa-f]/g, '').toUpperCase();
}

/**
 * fctry `mqtt_host` is used verbatim as the TLS host name (rainmaker.md §2, §14.2): a host name or
 * IP address, never `host:port` or a URL.
 */
export function assertMqttHost(host: string): string {
    const text = String(host).trim();
    if (isIP(text)) return text;
    if (text.includes('://')) throw new Error(`mqtt host "${host}" must be a bare host name, not a URL`);
    if (/:\d+$/.test(text)) throw new Error(`mqtt host "${host}" must not carry a port: the firmware's port (443 or 8883) is compiled in`);
    if (text.length === 0 || text.length > 253 || !/^[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$/.test(text)) {
        throw new Error(`mqtt host "${host}" is not a valid host name`);
    }
    return text;
}

// ---------------------------------------------------------------------------------------------
// claims.json

export const NODE_ID = /^[A-Za-z0-9_-]{1,63}$/;

function emptyIndex(): ClaimIndex {
    return {version: 1, claims: {}, approved: {}};
}

function validateIndex(value: unknown): ClaimIndex {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    const index = value as Partial<ClaimIndex>;
    if (index.version !== 1) throw new Error(`unsupported version ${String(index.version)}`);
    if (typeof index.claims !== 'object' || index.claims === null) throw new Error('claims missing');
    for (const [mac, record] of Object.entries(index.claims)) {
        // The id names a directory and MQTT topics: no separators, no wildcards, no "..".
        if (typeof record?.nodeId !== 'string' || !NODE_ID.test(record.nodeId)) throw new Error(`claim for ${mac} has no valid node id`);
    }
    return {version: 1, claims: {...index.claims}, approved: {...(index.approved ?? {})}};
}

export async function readClaimIndex(dataDir: string): Promise<ClaimIndex> {
    const file = claimsFile(dataDir);
    const result = await readJsonWithBackup(file, validateIndex);
    switch (result.status) {
        case 'missing':
            return emptyIndex();
        case 'ok':
            return result.value;
        case 'recovered':
            log.warn(`${result.error}; using the backup ${result.source}`);
            return result.value;
        case 'corrupt':
            // Refuse rather than start empty: an empty index would hand out ids as if nothing was claimed.
            throw new Error(`cannot read the claim index: ${result.error}`);
    }
}

/** Read-modify-write of claims.json, one at a time within this process. */
const indexQueues = new Map<string, Promise<unknown>>();

export async function updateClaimIndex<T>(dataDir: string, change: (index: ClaimIndex) => T): Promise<T> {
    const file = claimsFile(dataDir);
    const previous = indexQueues.get(file) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(async () => {
        await ensurePrivateDirectory(rainmakerDirectory(dataDir));
        const index = await readClaimIndex(dataDir);
        const result = change(index);
        await writeFileAtomic(file, `${JSON.stringify(index, null, 2)}\n`);
        return result;
    });
    indexQueues.set(file, next);
    try {
        return await next;
    } finally {
        if (indexQueues.get(file) === next) indexQueues.delete(file);
    }
}

/** Allows the self-claim service to issue a certificate to this MAC. Returns the normalised MAC. */
export async function approveSelfClaim(dataDir: string, mac: string): Promise<string> {
    const normalised = normaliseMac(mac);
    await updateClaimIndex(dataDir, (index) => {
        index.approved[normalised] ??= {approvedAt: new Date().toISOString()};
    });
    return normalised;
}

/** What an approval means for the node, as the CLI and the onboarding page say it. */
export function describeApproval(mac: string): string {
    return `MAC ${mac} may now claim itself; its node id will be ${mac}`;
}

export function makeClaimRecord(nodeId: string, method: ClaimMethod, mqttHost: string, certPem: string): ClaimRecord {
    const cert = new X509Certificate(certPem);
    return {nodeId, method, claimedAt: new Date().toISOString(), mqttHost, certSerial: cert.serialNumber, certFingerprint256: cert.fingerprint256};
}

// ---------------------------------------------------------------------------------------------
// Host claiming

/** The esp-idf `nvs_partition_gen.py` input; paths are absolute because the tool resolves them from its working directory. */
export function fctryCsv(dir: string): string {
    const file = (name: string): string => path.resolve(dir, name);
    return [
        'key,type,encoding,value',
        `${FCTRY_NAMESPACE},namespace,,`,
        `node_id,file,binary,${file(FCTRY_FILES.nodeId)}`,
        `mqtt_host,file,binary,${file(FCTRY_FILES.mqttHost)}`,
        `client_cert,file,binary,${file(FCTRY_FILES.cert)}`,
        `client_key,file,binary,${file(FCTRY_FILES.key)}`,
        `random,file,hex2bin,${file(FCTRY_FILES.random)}`,
        '',
    ].join('\n');
}

/** 64 random bytes as hex (the node derives its provisioning PoP and BLE name from it); kept across re-claims so the PoP does not change. */
async function randomInfo(dir: string): Promise<string> {
    const existing = (await readFileIfExists(path.join(dir, FCTRY_FILES.random)))?.trim();
    if (existing && /^[0-9a-f]{128}$/.test(existing)) return existing;
    return randomBytes(64).toString('hex');
}

/**
 * Claims the node with this MAC on the host: node id (its uppercase MAC, or the id recorded for
 * this MAC before), a new key and a certificate signed by `ca` with CN = node id, and the fctry
 * files plus `node_info.csv` in `<dataDir>/rainmaker/nodes/<node_id>/` (directory 0700, key and
 * random 0600). Claiming the same MAC again keeps the node id and re-issues key and certificate.
 */
export async function claimNode(dataDir: string, ca: CertificateAuthority, options: ClaimOptions): Promise<ClaimedNode> {
    const mac = normaliseMac(options.mac);
    const mqttHost = assertMqttHost(options.mqttHost);
    const known = (await readClaimIndex(dataDir)).claims[mac];
    const nodeId = known?.nodeId ?? mac;
    const issued = await issueNodeCertificate(ca, nodeId, options.keyType ?? 'ec');
    const dir = nodeDirectory(dataDir, nodeId);
    await ensurePrivateDirectory(dir);
    const random = await randomInfo(dir);
    // The key first: a certificate without its key is useless, a key without its certificate is merely unused.
    await replaceFile(path.join(dir, FCTRY_FILES.key), issued.keyPem, 0o600);
    await replaceFile(path.join(dir, FCTRY_FILES.random), random, 0o600);
    await replaceFile(path.join(dir, FCTRY_FILES.cert), issued.certPem, 0o644);
    await replaceFile(path.join(dir, FCTRY_FILES.nodeId), nodeId, 0o644);
    await replaceFile(path.join(dir, FCTRY_FILES.mqttHost), mqttHost, 0o644);
    await replaceFile(path.join(dir, FCTRY_FILES.ca), ca.certPem, 0o644);
    await replaceFile(path.join(dir, FCTRY_FILES.csv), fctryCsv(dir), 0o644);
    await updateClaimIndex(dataDir, (index) => {
        index.claims[mac] = makeClaimRecord(nodeId, 'host', mqttHost, issued.certPem);
    });
    log.info(`${known ? 're-claimed' : 'claimed'} node ${nodeId} (MAC ${mac}) for ${mqttHost}; files in ${dir}`);
    return {nodeId, mac, certPem: issued.certPem, keyPem: issued.keyPem, caPem: ca.certPem, mqttHost, dir};
}
