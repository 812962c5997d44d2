import {once} from 'node:events';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

import type {Aedes, Client} from 'aedes';
import mqtt from 'mqtt';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {createBroker} from '../../../src/edge/broker/broker.js';
import {socketOf} from '../../../src/edge/broker/framing-guard.js';
import {attachMqttConnection} from '../../../src/edge/broker/listener.js';
import {createLogger, setLogSink} from '../../../src/util/logger.js';
import {loadOrCreateCa} from '../../../src/edge/tls/ca.js';
import {issueServerCertificate} from '../../../src/edge/tls/issue.js';
import {freePort, waitFor} from '../../support/net.js';

describe('the guard over TLS', () => {
    let broker: Aedes;
    let server: tls.Server;
    let port: number;
    let caPem: string;
    const dataDir = mkdtempSync(path.join(tmpdir(), 'fogbridge-broker-tls-'));
    const logLines: string[] = [];
    const peerSockets: unknown[] = [];

    beforeAll(async () => {
        setLogSink((_level, _namespace, message) => logLines.push(message));
        broker = await createBroker({
            hooks: {
                // What the RainMaker listener needs from a hook: the TLS socket under aedes' connection.
                authenticate: (client: Client, _username, _password, callback) => {
                    peerSockets.push(socketOf(client.conn));
                    callback(null, true);
                },
            },
        });
        const ca = await loadOrCreateCa(dataDir);
        caPem = ca.certPem;
        const {certPem, keyPem} = issueServerCertificate(ca, {hosts: ['localhost'], ips: ['127.0.0.1']});
        server = tls.createServer({cert: certPem, key: keyPem}, (socket) => attachMqttConnection(broker, socket, {log: createLogger('test:tls'), label: 'tls'}));
        port = await freePort();
        server.listen(port, '127.0.0.1');
        await once(server, 'listening');
    });

    afterAll(async () => {
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        await new Promise<void>((resolve) => server.close(() => resolve()));
        setLogSink(null);
        rmSync(dataDir, {recursive: true, force: true});
    });

    it('serves MQTT and hands hooks the TLS socket', async () => {
        const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, {clientId: 'tls-node', ca: caPem, reconnectPeriod: 0});
        await client.subscribeAsync('node/tls-node/params/remote');
        const received = new Promise<string>((resolve) => client.once('message', (_topic, payload) => resolve(payload.toString())));
        await client.publishAsync('node/tls-node/params/remote', '{"Light":{"Power":true}}', {qos: 1});
        expect(await received).toBe('{"Light":{"Power":true}}');
        expect(peerSockets).toHaveLength(1);
        expect(peerSockets[0]).toBeInstanceOf(tls.TLSSocket);
        await client.endAsync();
    });

    it('closes an oversized pre-CONNACK packet inside TLS', async () => {
        const socket = tls.connect({port, host: '127.0.0.1', ca: caPem});
        socket.on('error', () => {});
        await once(socket, 'secureConnect');
        socket.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]));
        socket.write(Buffer.alloc(64 * 1024));
        await new Promise<void>((resolve) => socket.once('close', () => resolve()));
        await waitFor(() => logLines.find((line) => line.startsWith('tls closed') && line.includes('before CONNACK')));
    });
});
