/**
 * Flood control on the device MQTT broker: a client publishing far over its budget has the excess
 * dropped before aedes parses it, is named once in the log, is disconnected and refused while its
 * back-off lasts, and another family's client keeps being served meanwhile.
 */
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';

import mqtt, {type MqttClient} from 'mqtt';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {ALLOWED, type BrokerPolicy, DeviceEdge} from '../../src/edge/index.js';
import {loadOrCreateCa} from '../../src/edge/tls/ca.js';
import {loadSettings} from '../../src/settings.js';
import {setLogSink} from '../../src/util/logger.js';
import {freePort, waitFor} from '../support/net.js';

const BURST = 20;

/** Clients named `<prefix>-…` belong to the family; anything under `<prefix>/` is theirs to publish. */
function prefixPolicy(prefix: string): BrokerPolicy {
    return {
        claims: (client) => client.id.startsWith(`${prefix}-`),
        authenticate: () => ALLOWED,
        authorizePublish: () => ALLOWED,
        authorizeSubscribe: () => true,
    };
}

let edge: DeviceEdge;
let dataDir: string;
let ca: string;
const warnings: string[] = [];
const heard = {noisy: 0, calm: [] as string[]};
const clients: MqttClient[] = [];

function connect(clientId: string): Promise<MqttClient> {
    return mqtt.connectAsync({protocol: 'mqtts', host: '127.0.0.1', port: edge.ports.mqttTls!, ca, clientId, reconnectPeriod: 0}).then((client) => {
        clients.push(client);
        return client;
    });
}

beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'fogbridge-broker-flood-'));
    setLogSink((level, _namespace, message) => {
        if (level === 'warn') warnings.push(message);
    });
    const settings = loadSettings({
        flags: {
            dataDir,
            edge: {host: '127.0.0.1', mqttTlsPort: await freePort(), tlsPort: null, flood: {packetsPerSecond: 10, burst: BURST, cutOffAfterDrops: 100, backoffSeconds: 600}},
        },
    });
    edge = new DeviceEdge(settings.edge, dataDir);
    edge.forFamily('noisy').registerBrokerPolicy(prefixPolicy('noisy')).onPublish(() => heard.noisy++);
    edge.forFamily('calm').registerBrokerPolicy(prefixPolicy('calm')).onPublish((_client, topic) => heard.calm.push(topic));
    await edge.prepare();
    await edge.listen();
    ca = (await loadOrCreateCa(dataDir)).certPem;
});

afterAll(async () => {
    await Promise.all(clients.map((client) => client.endAsync(true)));
    await edge?.stop();
    setLogSink(null);
    rmSync(dataDir, {recursive: true, force: true});
});

describe('device broker flood control', () => {
    it('drops a flooding client’s excess, names it once, cuts it off and refuses it while another family’s client is served', async () => {
        const before = edge.counters().flood;
        const noisy = await connect('noisy-1');
        const calm = await connect('calm-1');
        const cutOff = new Promise<void>((resolve) => noisy.once('close', () => resolve()));
        // Written in one go: far more than the burst arrives before the budget refills.
        for (let index = 0; index < 2000 && noisy.connected; index++) noisy.publish('noisy/flood', String(index), {qos: 0});
        await cutOff;

        const after = edge.counters().flood;
        expect(after.dropped - before.dropped).toBeGreaterThanOrEqual(100);
        expect(after.cutOffs - before.cutOffs).toBe(1);
        // The family heard the burst's worth, not the flood.
        expect(heard.noisy).toBeLessThan(2000 - 100);
        expect(warnings.filter((line) => line.includes('noisy:noisy-1') && line.includes('sends more than'))).toHaveLength(1);
        expect(warnings.some((line) => line.includes('noisy:noisy-1') && line.includes('keeps flooding'))).toBe(true);

        await expect(connect('noisy-1')).rejects.toThrow(/not authorized/i);
        expect(warnings.some((line) => line.includes('"noisy-1"') && line.includes('cut off for flooding'))).toBe(true);

        calm.publish('calm/report', 'fine', {qos: 1});
        await waitFor(() => heard.calm.includes('calm/report'), 5000, 'the calm client’s publish reached its family');
    });
});
