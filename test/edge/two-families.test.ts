/**
 * Two families' clients on the one device broker at once, each under its own policy: RainMaker
 * nodes with their certificates, and a second family whose clients log in with a username and
 * password. Neither reaches the other's topics, in either direction, even where a policy is
 * permissive: messages never cross families.
 */
import mqtt, {type IClientOptions, type MqttClient} from 'mqtt';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {issueClientCertificate} from '../../src/edge/tls/issue.js';
import {ALLOWED, type BrokerPolicy, type DeviceClient, type FamilyBroker, refused} from '../../src/edge/index.js';
import type {NodeCredentials} from '../../src/simulate/rainmaker.js';
import {waitFor} from '../support/net.js';
import {type Harness, MQTT_HOST, startHarness} from '../rainmaker/harness.js';

/** The second family: `acme-<name>` clients, password `acme-pass`, topics under `acme/<name>/`; `acme-sniffer…` may subscribe to anything. */
const acmePolicy: BrokerPolicy = {
    claims: (client) => client.certificate === null && client.id.startsWith('acme-'),
    authenticate: (_client, password) => (password?.toString() === 'acme-pass' ? ALLOWED : refused('wrong password')),
    authorizePublish: (client, topic) => (topic.startsWith(`acme/${client.id}/`) ? ALLOWED : refused(`publish to "${topic}" refused`)),
    authorizeSubscribe: (client, topic) => client.id.startsWith('acme-sniffer') || topic.startsWith(`acme/${client.id}/`),
};

let harness: Harness;
let node: NodeCredentials;
let acme: FamilyBroker;
const acmePublishes: {client: string; topic: string; payload: string}[] = [];
const acmeConnects: string[] = [];
const acmeSubscribes: string[] = [];
const clients: MqttClient[] = [];

async function connect(options: IClientOptions): Promise<MqttClient> {
    const client = await mqtt.connectAsync({protocol: 'mqtts', host: '127.0.0.1', port: harness.ports.mqtt!, ca: harness.ca.certPem, reconnectPeriod: 0, ...options});
    clients.push(client);
    return client;
}

function connectNode(): Promise<MqttClient> {
    return connect({servername: MQTT_HOST, clientId: node.nodeId, cert: node.certPem, key: node.keyPem});
}

function connectAcme(clientId: string): Promise<MqttClient> {
    return connect({clientId, username: 'acme', password: 'acme-pass'});
}

function closed(client: MqttClient): Promise<void> {
    return new Promise((resolve) => client.once('close', () => resolve()));
}

/** mqtt.js turns a 0x80 in the SUBACK into an error carrying the SUBACK. */
async function granted(client: MqttClient, topic: string): Promise<number[] | undefined> {
    return client.subscribeAsync(topic, {qos: 1}).then(
        (grants) => grants.map((grant) => grant.qos),
        (error: {packet?: {granted?: number[]}}) => error.packet?.granted,
    );
}

beforeAll(async () => {
    harness = await startHarness();
    node = await harness.claim('7CDFA1000101');
    acme = harness.edge.forFamily('acme').registerBrokerPolicy(acmePolicy);
    acme.onConnect((client: DeviceClient) => acmeConnects.push(client.id));
    acme.onPublish((client, topic, payload) => acmePublishes.push({client: client.id, topic, payload: payload.toString()}));
    acme.onSubscribe((client, topics) => acmeSubscribes.push(`${client.id} ${topics.join(',')}`));
});

afterAll(async () => {
    await Promise.all(clients.map((client) => client.endAsync(true)));
    await harness?.stop();
});

describe('two families on one device broker', () => {
    it('serves a RainMaker node and a password client at once, each under its own policy', async () => {
        const rainmakerNode = await connectNode();
        const acmeClient = await connectAcme('acme-one');
        await waitFor(() => harness.logsWith(`node ${node.nodeId} connected`).length > 0, 5000, 'the node connected');
        await waitFor(() => acmeConnects.includes('acme-one'), 5000, 'the acme client connected');
        // RainMaker never heard of the acme client, and acme never of the node.
        expect(harness.logsWith('acme-one')).toEqual([]);
        expect(acmeConnects).not.toContain(node.nodeId);

        await acmeClient.publishAsync('acme/acme-one/state', 'hello', {qos: 1});
        await waitFor(() => acmePublishes.find((message) => message.topic === 'acme/acme-one/state'), 5000, 'the acme publish');

        await acmeClient.subscribeAsync('acme/acme-one/cmd', {qos: 1});
        const command = new Promise<string>((resolve) => acmeClient.once('message', (_topic, payload) => resolve(payload.toString())));
        await acme.publish('acme-one', 'acme/acme-one/cmd', 'do it');
        expect(await command).toBe('do it');

        // A family publishes only for its own clients.
        await expect(acme.publish(node.nodeId, `node/${node.nodeId}/params/remote`, '{}')).rejects.toThrow(/not connected/);
        await rainmakerNode.publishAsync(`node/${node.nodeId}/params/local`, '{"Switch":{"Power":true}}', {qos: 1});
        expect(acmePublishes.map((message) => message.topic)).not.toContain(`node/${node.nodeId}/params/local`);
        await acmeClient.endAsync();
        await rainmakerNode.endAsync();
    });

    it('refuses a RainMaker node on the other family\'s topics', async () => {
        const rainmakerNode = await connectNode();
        expect(await granted(rainmakerNode, 'acme/acme-one/cmd')).toEqual([128]);
        const gone = closed(rainmakerNode);
        rainmakerNode.publish('acme/acme-one/state', 'intruder', {qos: 1});
        await gone;
        expect(harness.logsWith(`node ${node.nodeId}`, 'acme/acme-one/state', 'refused')).toHaveLength(1);
        expect(acmePublishes.map((message) => message.payload)).not.toContain('intruder');
    });

    it('refuses an acme client on RainMaker\'s topics', async () => {
        const acmeClient = await connectAcme('acme-two');
        expect(await granted(acmeClient, `node/${node.nodeId}/params/remote`)).toEqual([128]);
        const gone = closed(acmeClient);
        acmeClient.publish(`node/${node.nodeId}/params/local`, '{"Switch":{"Power":false}}', {qos: 1});
        await gone;
        expect(harness.registry.get(`rainmaker-${node.nodeId.toLowerCase()}`)).toBeUndefined();
    });

    it('never forwards one family\'s messages to another family\'s client, even one allowed "#"', async () => {
        const sniffer = await connectAcme('acme-sniffer');
        expect(await granted(sniffer, '#')).toEqual([1]);
        const seen: string[] = [];
        sniffer.on('message', (topic) => seen.push(topic));
        const rainmakerNode = await connectNode();
        await rainmakerNode.publishAsync(`node/${node.nodeId}/params/local`, '{"Switch":{"Power":true}}', {qos: 1});
        // A message of the sniffer's own family does arrive: the one after the node's would have too.
        const own = await connectAcme('acme-three');
        await own.publishAsync('acme/acme-three/state', 'marker', {qos: 1});
        await waitFor(() => seen.includes('acme/acme-three/state'), 5000, 'the acme marker at the sniffer');
        expect(seen).toEqual(['acme/acme-three/state']);
    });

    it('publishes as the family itself to its own subscribers only, and reports granted subscriptions', async () => {
        const sniffer = await connectAcme('acme-sniffer-2');
        expect(await granted(sniffer, '#')).toEqual([1]);
        await waitFor(() => acmeSubscribes.includes('acme-sniffer-2 #'), 5000, 'the subscription reported');
        const rainmakerNode = await connectNode();
        const nodeSeen: string[] = [];
        rainmakerNode.on('message', (topic) => nodeSeen.push(topic));
        await rainmakerNode.subscribeAsync(`node/${node.nodeId}/params/remote`, {qos: 1});

        const heard = new Promise<string>((resolve) => sniffer.once('message', (topic, payload) => resolve(`${topic} ${payload.toString()}`)));
        await acme.publishAsFamily('acme/broadcast', 'from the family', {qos: 0});
        expect(await heard).toBe('acme/broadcast from the family');
        // Not a client's publish: the family's own handler does not hear itself.
        expect(acmePublishes.map((message) => message.topic)).not.toContain('acme/broadcast');
        // RainMaker's node never gets it, even on a topic it subscribed to.
        await acme.publishAsFamily(`node/${node.nodeId}/params/remote`, '{}', {qos: 1});
        await rainmakerNode.publishAsync(`node/${node.nodeId}/params/local`, '{}', {qos: 1});
        expect(nodeSeen).toEqual([]);
        // A refused subscription is not reported.
        expect(await granted(rainmakerNode, 'acme/broadcast')).toEqual([128]);
        await rainmakerNode.endAsync();
        await sniffer.endAsync();
    });

    it('refuses a client no family claims, and a client id another family holds', async () => {
        const unclaimed = await connect({clientId: 'stranger@nowhere/1', username: 'x', password: 'y'}).then(
            () => null,
            (error: Error & {code?: number}) => error,
        );
        expect(unclaimed?.code).toBe(5);
        await waitFor(() => harness.logsWith('client "stranger@nowhere/1"', 'refused: no family takes it').length > 0, 5000, 'the unclaimed log line');

        const holder = await connectAcme('acme-held');
        await waitFor(() => acmeConnects.includes('acme-held'), 5000, 'the acme holder connected');
        // A certificate from our CA makes it RainMaker's: it must not take over another family's session.
        const {certPem, keyPem} = issueClientCertificate(harness.ca, 'acme-held');
        // Refusals are rate-limited per listener and address: this one gets an address of its own.
        const takeover = await connect({clientId: 'acme-held', cert: certPem, key: keyPem, localAddress: '127.0.0.5'} as IClientOptions).then(
            () => null,
            (error: Error & {code?: number}) => error,
        );
        expect(takeover?.code).toBe(5);
        expect(harness.logsWith('client "acme-held"', "refused: client id in use by another family's client")).toHaveLength(1);
        expect(holder.connected).toBe(true);
    });
});
