import {X509Certificate, createPrivateKey} from 'node:crypto';
import {promises as fs} from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest';

import {setLogSink} from '../../src/util/logger.js';
import {
    FCTRY_FILES,
    approveSelfClaim,
    assertMqttHost,
    claimNode,
    claimsFile,
    normaliseMac,
    readClaimIndex,
} from '../../src/families/rainmaker/claim.js';
import {type CertificateAuthority, loadOrCreateCa} from '../../src/edge/tls/ca.js';
import {opensslVerify} from '../edge/tls/openssl.js';

// Quiet: these tests assert on results, not on log lines.
beforeAll(() => setLogSink(() => undefined));
afterAll(() => setLogSink(null));

let caDir: string;
let ca: CertificateAuthority;
let dataDir: string;

beforeAll(async () => {
    caDir = await fs.mkdtemp(path.join(os.tmpdir(), 'fogbridge-claim-ca-'));
    ca = await loadOrCreateCa(caDir);
    return async () => fs.rm(caDir, {recursive: true, force: true});
});

beforeEach(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'fogbridge-claim-'));
});

afterEach(async () => {
    await fs.rm(dataDir, {recursive: true, force: true});
});

const mode = async (file: string): Promise<number> => (await fs.stat(file)).mode & 0o777;

describe('normaliseMac', () => {
    it.each([
        ['7CDFA1B2C3D4', '7CDFA1B2C3D4'],
        ['7c:df:a1:b2:c3:d4', '7CDFA1B2C3D4'],
        ['7C-DF-A1-B2-C3-D4', '7CDFA1B2C3D4'],
        ['7cdf.a1b2.c3d4', '7CDFA1B2C3D4'],
        [' 7cdfa1b2c3d4 ', '7CDFA1B2C3D4'],
    ])('%s → %s', (input, expected) => {
        expect(normaliseMac(input)).toBe(expected);
    });

    it.each(['7CDFA1B2C3', '7CDFA1B2C3D4E5', '7C:DF-A1:B2:C3:D4', 'GGDFA1B2C3D4', '7C:DF:A1:B2:C3:D', ''])('refuses %j with a clear message', (input) => {
        expect(() => normaliseMac(input)).toThrow(/is not a MAC address: expected 12 hex digits/);
    });
});

describe('assertMqttHost', () => {
    it('accepts host names and IPs, refuses ports and URLs', () => {
        expect(assertMqttHost('rm.example.net')).toBe('rm.example.net');
        expect(assertMqttHost('192.168.1.10')).toBe('192.168.1.10');
        expect(assertMqttHost('fe80::1')).toBe('fe80::1');
        expect(() => assertMqttHost('rm.example.net:8883')).toThrow(/must not carry a port/);
        expect(() => assertMqttHost('mqtts://rm.example.net')).toThrow(/not a URL/);
        expect(() => assertMqttHost('bad host')).toThrow(/not a valid host name/);
    });
});

describe('claimNode', () => {
    it('writes the fctry files, the NVS CSV and the claim index, with private files 0600', async () => {
        const node = await claimNode(dataDir, ca, {mac: '7c:df:a1:b2:c3:d4', mqttHost: 'rm.example.net'});
        expect(node.nodeId).toBe('7CDFA1B2C3D4');
        expect(node.mac).toBe('7CDFA1B2C3D4');
        expect(node.mqttHost).toBe('rm.example.net');
        expect(node.caPem).toBe(ca.certPem);
        expect(node.dir).toBe(path.join(dataDir, 'rainmaker', 'nodes', '7CDFA1B2C3D4'));
        expect(await mode(node.dir)).toBe(0o700);

        const read = (name: string): Promise<string> => fs.readFile(path.join(node.dir, name), 'utf8');
        expect(await read(FCTRY_FILES.nodeId)).toBe('7CDFA1B2C3D4');
        expect(await read(FCTRY_FILES.mqttHost)).toBe('rm.example.net');
        expect(await read(FCTRY_FILES.cert)).toBe(node.certPem);
        expect(await read(FCTRY_FILES.key)).toBe(node.keyPem);
        expect(await read(FCTRY_FILES.ca)).toBe(ca.certPem);
        expect(await read(FCTRY_FILES.random)).toMatch(/^[0-9a-f]{128}$/);
        expect(await mode(path.join(node.dir, FCTRY_FILES.key))).toBe(0o600);
        expect(await mode(path.join(node.dir, FCTRY_FILES.random))).toBe(0o600);

        const csv = (await read(FCTRY_FILES.csv)).trim().split('\n');
        const file = (name: string): string => path.join(node.dir, name);
        expect(csv).toEqual([
            'key,type,encoding,value',
            'rmaker_creds,namespace,,',
            `node_id,file,binary,${file('node.info')}`,
            `mqtt_host,file,binary,${file('endpoint.info')}`,
            `client_cert,file,binary,${file('node.crt')}`,
            `client_key,file,binary,${file('node.key')}`,
            `random,file,hex2bin,${file('random.info')}`,
        ]);

        const cert = new X509Certificate(node.certPem);
        expect(cert.subject).toBe('CN=7CDFA1B2C3D4');
        expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
        expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
        expect(cert.checkPrivateKey(createPrivateKey(node.keyPem))).toBe(true);
        expect(await opensslVerify(ca.certPem, node.certPem, 'sslclient')).toMatch(/: OK$/);

        const index = await readClaimIndex(dataDir);
        expect(index.claims['7CDFA1B2C3D4']).toMatchObject({nodeId: '7CDFA1B2C3D4', method: 'host', mqttHost: 'rm.example.net', certSerial: cert.serialNumber});
        expect(await mode(claimsFile(dataDir))).toBe(0o600);
        expect(JSON.stringify(index)).not.toContain('PRIVATE KEY');
    });

    it('claiming the same MAC again keeps the node id and the random (PoP), and re-issues key and certificate', async () => {
        const first = await claimNode(dataDir, ca, {mac: '7CDFA1B2C3D4', mqttHost: 'rm.example.net'});
        const random = await fs.readFile(path.join(first.dir, FCTRY_FILES.random), 'utf8');
        const second = await claimNode(dataDir, ca, {mac: '7C-DF-A1-B2-C3-D4', mqttHost: 'rm2.example.net', keyType: 'rsa'});
        expect(second.nodeId).toBe(first.nodeId);
        expect(second.dir).toBe(first.dir);
        expect(second.certPem).not.toBe(first.certPem);
        expect(second.keyPem).toContain('BEGIN RSA PRIVATE KEY');
        expect(await fs.readFile(path.join(second.dir, FCTRY_FILES.random), 'utf8')).toBe(random);
        expect(await fs.readFile(path.join(second.dir, FCTRY_FILES.mqttHost), 'utf8')).toBe('rm2.example.net');
        const index = await readClaimIndex(dataDir);
        expect(Object.keys(index.claims)).toEqual(['7CDFA1B2C3D4']);
        expect(index.claims['7CDFA1B2C3D4']!.certSerial).toBe(new X509Certificate(second.certPem).serialNumber);
    });

    it('keeps the node id recorded in the index for a MAC', async () => {
        await fs.mkdir(path.join(dataDir, 'rainmaker'), {recursive: true});
        await fs.writeFile(
            claimsFile(dataDir),
            JSON.stringify({version: 1, approved: {}, claims: {'112233445566': {nodeId: 'Socfz6jwKPv8wDw4AakTts', method: 'host', claimedAt: '', mqttHost: 'x', certSerial: '', certFingerprint256: ''}}}),
        );
        const node = await claimNode(dataDir, ca, {mac: '11:22:33:44:55:66', mqttHost: 'rm.local'});
        expect(node.nodeId).toBe('Socfz6jwKPv8wDw4AakTts');
        expect(new X509Certificate(node.certPem).subject).toBe('CN=Socfz6jwKPv8wDw4AakTts');
    });

    it('claims several MACs at once without losing index entries', async () => {
        const macs = ['AA0000000001', 'AA0000000002', 'AA0000000003'];
        await Promise.all([...macs.map((mac) => claimNode(dataDir, ca, {mac, mqttHost: 'rm.local'})), approveSelfClaim(dataDir, 'bb:00:00:00:00:01')]);
        const index = await readClaimIndex(dataDir);
        expect(Object.keys(index.claims).sort()).toEqual(macs);
        expect(Object.keys(index.approved)).toEqual(['BB0000000001']);
    });

    it('refuses a bad MAC or an mqtt host with a port before writing anything', async () => {
        await expect(claimNode(dataDir, ca, {mac: 'nope', mqttHost: 'rm.local'})).rejects.toThrow(/not a MAC address/);
        await expect(claimNode(dataDir, ca, {mac: '7CDFA1B2C3D4', mqttHost: 'rm.local:443'})).rejects.toThrow(/port/);
        expect(await fs.readdir(dataDir)).toEqual([]);
    });

    it('refuses to work on a corrupt claim index or one with a node id that could escape its directory', async () => {
        await fs.mkdir(path.join(dataDir, 'rainmaker'), {recursive: true});
        await fs.writeFile(claimsFile(dataDir), '{"version":1,"claims":');
        await expect(claimNode(dataDir, ca, {mac: '7CDFA1B2C3D4', mqttHost: 'rm.local'})).rejects.toThrow(/cannot read the claim index/);
        await fs.writeFile(claimsFile(dataDir), JSON.stringify({version: 1, approved: {}, claims: {'7CDFA1B2C3D4': {nodeId: '../../etc'}}}));
        await expect(claimNode(dataDir, ca, {mac: '7CDFA1B2C3D4', mqttHost: 'rm.local'})).rejects.toThrow(/no valid node id/);
    });
});
