/**
 * The node-facing broker: mutual TLS, certificate identity and the per-node ACL. Every refusal
 * must leave one log line and leave another node, connected at the same time, working.
 */
import {execFileSync} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

import mqtt, {type IClientOptions, type MqttClient} from 'mqtt';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {type NodeCredentials, type RainmakerNodes, startRainmakerNodes} from '../../src/simulate/rainmaker.js';
import {waitFor} from '../support/net.js';
import {type Harness, MQTT_HOST, startHarness} from './harness.js';

let harness: Harness;
let alice: NodeCredentials;
let bob: NodeCredentials;
let witness: RainmakerNodes;
const clients: MqttClient[] = [];

/**
 * Connects as a node would, without the simulator's boot sequence. Rejects on a refused CONNACK,
 * a TLS alert, or a connection closed before CONNACK (a TLS 1.3 server refuses a client
 * certificate only after the client has finished its side of the handshake).
 */
function connectRaw(credentials: Partial<NodeCredentials>, clientId: string, extra: IClientOptions = {}): Promise<MqttClient> {
    const client = mqtt.connect({
        protocol: 'mqtts',
        host: '127.0.0.1',
        port: harness.ports.mqtt!,
        servername: MQTT_HOST,
        clientId,
        protocolVersion: 4,
        reconnectPeriod: 0,
        connectTimeout: 5000,
        ca: harness.ca.certPem,
        ...(credentials.certPem ? {cert: credentials.certPem, key: credentials.keyPem} : {}),
        ...extra,
    });
    clients.push(client);
    return new Promise((resolve, reject) => {
        client.once('connect', () => resolve(client));
        client.once('error', (error) => reject(error));
        client.once('close', () => reject(new Error('connection closed before CONNACK')));
    });
}

/** The witness node must still get commands through and echo them. */
async function witnessStillWorks(): Promise<void> {
    const node = witness.nodes[0]!;
    const before = node.received.length;
    const desired = !(node.params.Switch!.Power as boolean);
    await harness.router.route(`rainmaker-${node.nodeId.toLowerCase()}`, 'switch', {kind: 'switch', on: desired});
    await waitFor(() => node.received.length > before, 5000, 'the witness node to receive its command');
    await waitFor(() => harness.registry.get(`rainmaker-${node.nodeId.toLowerCase()}`)?.state.switch === desired, 5000, 'the witness echo');
}

beforeAll(async () => {
    harness = await startHarness();
    alice = await harness.claim('7CDFA1000001');
    bob = await harness.claim('7CDFA1000002');
    const witnessCredentials = await harness.claim('7CDFA1000003');
    witness = await startRainmakerNodes({
        type: 'switch',
        count: 1,
        host: '127.0.0.1',
        port: harness.ports.mqtt!,
        servername: MQTT_HOST,
        credentials: [witnessCredentials],
        otaFetchDelayMs: null,
        reconnect: false,
    });
    await waitFor(() => harness.registry.get(`rainmaker-${witnessCredentials.nodeId.toLowerCase()}`)?.state.switch !== undefined, 5000, 'the witness node');
});

afterAll(async () => {
    await Promise.all(clients.map((client) => client.endAsync(true)));
    await witness?.stop();
    await harness?.stop();
});

describe('RainMaker broker', () => {
    it('accepts a node with the certificate it was claimed with', async () => {
        const client = await connectRaw(alice, alice.nodeId);
        expect(client.connected).toBe(true);
        await waitFor(() => harness.logsWith(`node ${alice.nodeId} connected`).length > 0, 5000, 'the connect log line');
        await client.endAsync();
    });

    it('accepts the same node on the 443 route with ALPN x-amzn-mqtt-ca', async () => {
        const client = await connectRaw(alice, alice.nodeId, {port: harness.ports.alpn!, ALPNProtocols: ['x-amzn-mqtt-ca']});
        expect(client.connected).toBe(true);
        expect((client.stream as tls.TLSSocket).alpnProtocol).toBe('x-amzn-mqtt-ca');
        await client.endAsync();
    });

    it('refuses a 443 MQTT connection without a client certificate at the route', async () => {
        await expect(connectRaw({}, alice.nodeId, {port: harness.ports.alpn!, ALPNProtocols: ['x-amzn-mqtt-ca']})).rejects.toThrow();
        await waitFor(() => harness.logsWith('443: RainMaker MQTT', 'refused').length > 0, 5000, 'the 443 refusal log line');
        expect(harness.edge.tlsRefusals.list()).toContainEqual(expect.objectContaining({listener: 'rainmaker-mqtt', reason: 'no-client-certificate'}));
        await witnessStillWorks();
    });

    it('refuses a TLS handshake without a client certificate', async () => {
        // Handshake failures are rate-limited per peer address: each refusal test has its own.
        await expect(connectRaw({}, alice.nodeId, {localAddress: '127.0.0.3'} as IClientOptions)).rejects.toThrow();
        await waitFor(() => harness.logsWith('TLS handshake from 127.0.0.3 refused').length > 0, 5000, 'the handshake log line');
        expect(harness.edge.tlsRefusals.list()).toContainEqual(expect.objectContaining({peer: '127.0.0.3', listener: 'mqtt-tls', reason: 'no-client-certificate'}));
        await witnessStillWorks();
    });

    it('refuses a certificate from another CA', async () => {
        const dir = mkdtempSync(path.join(tmpdir(), 'fogbridge-foreign-ca-'));
        try {
            const openssl = (...args: string[]): void => {
                execFileSync('openssl', args, {cwd: dir, stdio: 'ignore'});
            };
            openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=Foreign CA');
            openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'node.key', '-out', 'node.csr', '-subj', `/CN=${alice.nodeId}`);
            openssl('x509', '-req', '-in', 'node.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'node.crt', '-days', '1');
            const connectedBefore = harness.logsWith(`node ${alice.nodeId} connected`).length;
            const foreign = {certPem: readFileSync(path.join(dir, 'node.crt'), 'utf8'), keyPem: readFileSync(path.join(dir, 'node.key'), 'utf8')};
            await expect(connectRaw(foreign, alice.nodeId, {localAddress: '127.0.0.4'} as IClientOptions)).rejects.toThrow();
            await waitFor(() => harness.logsWith('TLS handshake from 127.0.0.4 refused', 'not issued by our CA').length > 0, 5000, 'the foreign-CA log line');
            expect(harness.edge.tlsRefusals.list()).toContainEqual(expect.objectContaining({peer: '127.0.0.4', reason: 'unknown-ca'}));
            expect(harness.logsWith(`node ${alice.nodeId} connected`)).toHaveLength(connectedBefore);
        } finally {
            rmSync(dir, {recursive: true, force: true});
        }
        await witnessStillWorks();
    });

    it('refuses a client id that is not the certificate CN with CONNACK "not authorized"', async () => {
        const error = await connectRaw(alice, 'WRONGID').then(
            () => null,
            (failure: Error & {code?: number}) => failure,
        );
        expect(error?.code).toBe(5);
        expect(harness.logsWith('client id "WRONGID" does not match its certificate CN', alice.nodeId)).toHaveLength(1);
        await witnessStillWorks();
    });

    it('disconnects a node publishing into another node\'s namespace, and stores nothing', async () => {
        const client = await connectRaw(alice, alice.nodeId);
        const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
        client.publish(`node/${bob.nodeId}/params/local`, '{"Switch":{"Power":true}}', {qos: 1});
        client.publish(`$aws/rules/esp_node_config/node/${bob.nodeId}/config`, '{}', {qos: 1});
        await closed;
        expect(harness.logsWith(`node ${alice.nodeId}`, `node/${bob.nodeId}/params/local`, 'refused')).toHaveLength(1);
        expect(harness.registry.get(`rainmaker-${bob.nodeId.toLowerCase()}`)).toBeUndefined();
        await witnessStillWorks();
    });

    it('answers SUBACK 0x80 to "#" and to other nodes\' topics, keeping the node connected', async () => {
        const client = await connectRaw(alice, alice.nodeId);
        const topics = ['#', `node/${bob.nodeId}/params/remote`, 'node/+/otaurl', `node/${alice.nodeId}/params/remote`];
        // mqtt.js turns any 0x80 into an error that carries the SUBACK.
        const suback = await client.subscribeAsync(topics, {qos: 1}).then(
            () => null,
            (error: {packet?: {granted?: number[]}}) => error.packet,
        );
        expect(suback?.granted).toEqual([128, 128, 128, 1]);
        expect(client.connected).toBe(true);
        expect(harness.logsWith(`node ${alice.nodeId}`, 'subscription to "#" refused')).toHaveLength(1);
        await client.endAsync();
        await witnessStillWorks();
    });

    it('closes a node that sends a packet above 256 KiB, and only that node', async () => {
        // Close reasons are rate-limited per peer address: this peer gets an address of its own.
        const client = await connectRaw(alice, alice.nodeId, {localAddress: '127.0.0.7'} as IClientOptions);
        const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
        client.publish(`node/${alice.nodeId}/params/local`, Buffer.alloc(300 * 1024, 0x20), {qos: 1});
        await closed;
        await waitFor(() => harness.logs.some((line) => line.message.includes('exceeds the 262144-byte cap')), 5000, 'the framing log line');
        await witnessStillWorks();
    });
});
