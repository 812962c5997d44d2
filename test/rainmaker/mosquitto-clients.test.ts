/**
 * rainmaker.md §11 with the real Debian mosquitto clients: a claimed certificate, client id = the
 * node id, both topic forms, 8883 and 443 with ALPN, and the refusals a foreign client sees.
 */
import {type ChildProcess, execFile, spawn} from 'node:child_process';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {promisify} from 'node:util';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import type {LightState} from '../../src/core/device.js';
import {exampleConfig} from '../../src/simulate/rainmaker.js';
import {waitFor} from '../support/net.js';
import {type Harness, startHarness} from './harness.js';

const run = promisify(execFile);

let harness: Harness;
let dir: string;
let nodeId: string;
let deviceId: string;
const children: ChildProcess[] = [];

function tlsArgs(port = harness.ports.mqtt!): string[] {
    // The server certificate names 127.0.0.1, so the clients' hostname check passes without --insecure.
    return ['-h', '127.0.0.1', '-p', String(port), '--cafile', path.join(dir, 'ca.pem'), '--cert', path.join(dir, 'node.crt'), '--key', path.join(dir, 'node.key'), '-V', 'mqttv311', '-q', '1'];
}

async function pub(topic: string, message: string, extra: string[] = []): Promise<void> {
    await run('mosquitto_pub', [...tlsArgs(), '-i', nodeId, '-t', topic, '-m', message, ...extra], {timeout: 10_000});
}

beforeAll(async () => {
    harness = await startHarness();
    dir = mkdtempSync(path.join(tmpdir(), 'fogbridge-mosquitto-clients-'));
    const claimed = await harness.claim('7C:DF:A1:B2:C3:D4');
    nodeId = claimed.nodeId;
    deviceId = `rainmaker-${nodeId.toLowerCase()}`;
    writeFileSync(path.join(dir, 'ca.pem'), claimed.caPem);
    writeFileSync(path.join(dir, 'node.crt'), claimed.certPem);
    writeFileSync(path.join(dir, 'node.key'), claimed.keyPem, {mode: 0o600});
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(exampleConfig('lightbulb', nodeId, '1.0')));
});

afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    await harness?.stop();
    if (dir) rmSync(dir, {recursive: true, force: true});
});

describe('RainMaker broker with mosquitto_pub / mosquitto_sub', () => {
    it('takes config, init params and mapping from mosquitto_pub with a claimed certificate', async () => {
        expect(nodeId).toBe('7CDFA1B2C3D4');
        // The command-response poll every node sends on connect (rainmaker.md §11 step 1).
        writeFileSync(path.join(dir, 'poll.bin'), Buffer.from('010003010005020000', 'hex'));
        await run('mosquitto_pub', [...tlsArgs(), '-i', nodeId, '-t', `$aws/rules/esp_cmd_resp/node/${nodeId}/from-node`, '-f', path.join(dir, 'poll.bin')], {timeout: 10_000});
        await run('mosquitto_pub', [...tlsArgs(), '-i', nodeId, '-t', `$aws/rules/esp_node_config/node/${nodeId}/config`, '-f', path.join(dir, 'config.json')], {timeout: 10_000});
        await pub(`$aws/rules/esp_init_params/node/${nodeId}/params/local/init`, JSON.stringify({Light: {Name: 'Light', Power: true, Brightness: 25, Hue: 180, Saturation: 100}, System: {Reboot: false, 'Factory-Reset': false, 'Wi-Fi-Reset': false}}));
        await pub(`$aws/rules/esp_user_node_mapping/node/${nodeId}/user/mapping`, JSON.stringify({node_id: nodeId, user_id: 'local-admin', secret_key: 's3cret', reset: true}));
        await waitFor(() => harness.registry.get(deviceId)?.extra.mapping, 5000, 'the mapping');
        expect(harness.registry.get(deviceId)!.state.light).toEqual({on: true, brightness: 64, hs: {h: 180, s: 100}, colorMode: 'hs'});
        await pub(`node/${nodeId}/params/local`, JSON.stringify({Light: {Power: false}}));
        await waitFor(() => (harness.registry.get(deviceId)!.state.light as LightState).on === false, 5000, 'the plain-topic report');
        expect((harness.registry.get(deviceId)!.state.light as LightState).brightness).toBe(64);
    });

    it('delivers a command to mosquitto_sub on node/<id>/params/remote over 443 with ALPN', async () => {
        const connectsBefore = harness.logsWith(`node ${nodeId} connected`).length;
        const sub = spawn('mosquitto_sub', [...tlsArgs(harness.ports.alpn!), '--tls-alpn', 'x-amzn-mqtt-ca', '-i', nodeId, '-k', '120', '-C', '1', '-t', `node/${nodeId}/params/remote`]);
        children.push(sub);
        let output = '';
        sub.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
        const exited = new Promise<number | null>((resolve) => sub.once('exit', (code) => resolve(code)));
        await waitFor(() => harness.logsWith(`node ${nodeId} connected`).length > connectsBefore, 5000, 'mosquitto_sub connected');
        // Its SUBSCRIBE follows CONNACK: retry until the command reaches it.
        await waitFor(
            async () => {
                await harness.router.route(deviceId, 'light', {kind: 'light', change: {on: true, brightness: 255}}).catch(() => undefined);
                return output.length > 0;
            },
            5000,
            'the command at mosquitto_sub',
        );
        expect(await exited).toBe(0);
        expect(JSON.parse(output)).toEqual({Light: {Power: true, Brightness: 100}});
    });

    it('refuses a foreign publish, a wildcard subscription and a wrong client id', async () => {
        // mosquitto_pub does not wait for a PUBACK that never comes: the broker closes the connection.
        await pub('node/OTHERNODE/params/local', '{}').catch(() => undefined);
        await waitFor(() => harness.logsWith(`node ${nodeId}: publish to "node/OTHERNODE/params/local" refused`).length === 1, 5000, 'the ACL refusal');
        expect(harness.registry.get('rainmaker-othernode')).toBeUndefined();

        const denied = await run('mosquitto_sub', [...tlsArgs(), '-i', nodeId, '-W', '3', '-t', 'node/+/params/remote'], {timeout: 10_000}).then(
            (result) => result.stderr + result.stdout,
            (error: {stderr?: string; stdout?: string}) => `${error.stderr ?? ''}${error.stdout ?? ''}`,
        );
        expect(denied).toMatch(/denied/i);

        const wrongId = await run('mosquitto_pub', [...tlsArgs(), '-i', 'WRONGID', '-t', `node/${nodeId}/params/local`, '-m', '{}'], {timeout: 10_000}).then(
            () => 'accepted',
            (error: {stderr?: string}) => error.stderr ?? 'refused',
        );
        expect(wrongId).toMatch(/not authori[sz]ed/i);
    });
});
