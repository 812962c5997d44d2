/**
 * Memory per connected RainMaker node (performance.md §3.2, S4; goal ≤ 85 KB per node).
 *
 * The server runs in a child process with `--expose-gc`: the RainMaker service (mutual-TLS
 * listener, aedes with the node ACL, adapter and registry). A second child opens the node
 * connections with raw TLS sockets and mqtt-packet, so client memory stays out of the figure:
 * each node does what a booting node does (CONNECT with its own certificate, SUBSCRIBE its three
 * topics, PUBLISH config and params/local/init), so the registry holds every node as well.
 * Baseline in the same run: a bare `tls.createServer` with the same mutual-TLS settings keeping
 * the sockets and a small state object. The figure is the slope between the two node counts,
 * after `gc(); gc()`, because V8 grows in steps.
 *
 *   npm run bench -- rainmaker-memory [low=200] [high=800]
 */

import {type ChildProcess, fork} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import {fileURLToPath} from 'node:url';

import mqttPacket from 'mqtt-packet';

import {printResult} from './stats.js';

const THIS_FILE = fileURLToPath(import.meta.url);
const TARGET_KB_PER_NODE = 85;

type Mode = 'rainmaker' | 'raw-tls';

interface Memory {
    rssKb: number;
    heapKb: number;
}

interface Credentials {
    nodeId: string;
    certPem: string;
    keyPem: string;
}

interface Material {
    caPem: string;
    serverCert: string;
    serverKey: string;
    nodes: Credentials[];
}

function memoryNow(): Memory {
    const gc = (globalThis as {gc?: () => void}).gc;
    gc?.();
    gc?.();
    const status = readFileSync('/proc/self/status', 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Math.round(process.memoryUsage().rss / 1024));
    return {rssKb, heapKb: Math.round(process.memoryUsage().heapUsed / 1024)};
}

async function freePort(): Promise<number> {
    return new Promise((resolve) => {
        const server = net.createServer();
        server.listen(0, '127.0.0.1', () => {
            const {port} = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
        });
    });
}

// ---------------------------------------------------------------------------------------------
// Server child

async function runServer(mode: Mode, dataDir: string, materialFile: string): Promise<void> {
    const port = await freePort();
    if (mode === 'raw-tls') {
        const material = JSON.parse(readFileSync(materialFile, 'utf8')) as Material;
        const sockets = new Map<tls.TLSSocket, {bytes: number}>();
        const server = tls.createServer({ca: material.caPem, cert: material.serverCert, key: material.serverKey, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2'});
        server.on('secureConnection', (socket) => {
            socket.setNoDelay(true);
            const state = {bytes: 0};
            sockets.set(socket, state);
            // One small answer, as a CONNACK would be: the TLS write side gets used like ours.
            socket.on('data', (chunk: Buffer) => {
                if (state.bytes === 0) socket.write(Buffer.from([0x20, 0x02, 0x00, 0x00]));
                state.bytes += chunk.length;
            });
            socket.on('error', () => {});
            socket.on('close', () => sockets.delete(socket));
        });
        server.on('tlsClientError', () => {});
        await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    } else {
        const {loadSettings} = await import('../src/settings.js');
        const {EventBus} = await import('../src/core/bus.js');
        const {setLogLevel} = await import('../src/util/logger.js');
        const {DeviceRegistry} = await import('../src/core/registry.js');
        const {CommandRouter} = await import('../src/core/router.js');
        const {RainmakerService} = await import('../src/families/rainmaker/service.js');
        setLogLevel('error');
        const settings = loadSettings({
            flags: {dataDir, edge: {host: '127.0.0.1', mqttTlsPort: port, tlsPort: null, maxConnections: 10_000}, rainmaker: {host: '127.0.0.1', mqttHost: 'localhost', otaPort: await freePort(), claimPort: null}},
        });
        const registry = new DeviceRegistry({file: path.join(dataDir, 'registry.json'), bus: new EventBus()});
        await registry.load();
        const {DeviceEdge} = await import('../src/edge/index.js');
        const edge = new DeviceEdge(settings.edge, dataDir);
        const service = new RainmakerService({settings: settings.rainmaker, dataDir, registry, images: {publish: () => {}}, router: new CommandRouter(registry), topics: {publish: () => {}, subscribe: () => () => {}}, edge: edge.forFamily('rainmaker')});
        await edge.prepare();
        await service.start();
        await edge.listen();
    }
    process.on('message', (message: {type: string}) => {
        if (message.type === 'measure') process.send!({type: 'memory', memory: memoryNow()});
    });
    process.send!({type: 'ready', port, memory: memoryNow()});
}

// ---------------------------------------------------------------------------------------------
// Client child: raw TLS sockets speaking just enough MQTT through mqtt-packet.

function connectPacket(node: Credentials): Buffer {
    return mqttPacket.generate({cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: node.nodeId, keepalive: 120});
}

/** SUBSCRIBE to its three topics, then config and params/local/init, as a node sends after CONNACK. */
function bootPackets(node: Credentials): Buffer[] {
    const own = `node/${node.nodeId}`;
    return [
        mqttPacket.generate({cmd: 'subscribe', messageId: 1, subscriptions: [`${own}/to-node`, `${own}/params/remote`, `${own}/otaurl`].map((topic) => ({topic, qos: 1 as const}))}),
        mqttPacket.generate({cmd: 'publish', messageId: 2, qos: 1, dup: false, retain: false, topic: `$aws/rules/esp_node_config/node/${node.nodeId}/config`, payload: configFor(node.nodeId)}),
        mqttPacket.generate({cmd: 'publish', messageId: 3, qos: 1, dup: false, retain: false, topic: `$aws/rules/esp_init_params/node/${node.nodeId}/params/local/init`, payload: paramsPayload}),
    ];
}

function connectNode(port: number, caPem: string, node: Credentials, mode: Mode): Promise<tls.TLSSocket> {
    return new Promise((resolve, reject) => {
        const socket = tls.connect({host: '127.0.0.1', port, servername: 'localhost', ca: caPem, cert: node.certPem, key: node.keyPem});
        socket.setNoDelay(true);
        socket.once('error', reject);
        socket.once('secureConnect', () => {
            if (mode === 'raw-tls') {
                // The same bytes a booting node sends, unparsed by the server.
                socket.once('data', () => resolve(socket));
                socket.write(Buffer.concat([connectPacket(node), ...bootPackets(node)]));
                return;
            }
            const parser = mqttPacket.parser({protocolVersion: 4});
            // CONNACK, SUBACK and the two PUBACKs of a booting node.
            let awaited = 4;
            parser.on('packet', (packet) => {
                if (packet.cmd === 'connack') {
                    if (packet.returnCode !== 0) reject(new Error(`CONNACK ${packet.returnCode}`));
                    // Like esp-mqtt, nothing before CONNACK.
                    else for (const bytes of bootPackets(node)) socket.write(bytes);
                }
                if (['connack', 'suback', 'puback'].includes(packet.cmd) && --awaited === 0) resolve(socket);
            });
            socket.on('data', (chunk: Buffer) => parser.parse(chunk));
            socket.write(connectPacket(node));
        });
    });
}

const paramsPayload = JSON.stringify({Light: {Name: 'Light', Power: true, Brightness: 25, Hue: 180, Saturation: 100}, System: {Reboot: false, 'Factory-Reset': false, 'Wi-Fi-Reset': false}});

function configFor(nodeId: string): string {
    const rw = ['read', 'write'];
    return JSON.stringify({
        node_id: nodeId,
        config_version: '2020-03-20',
        info: {name: 'ESP RainMaker Device', fw_version: '1.0', type: 'Lightbulb', model: 'led_light', project_name: 'led_light', platform: 'esp32c3'},
        attributes: [{name: 'cmd-resp', value: '1'}],
        devices: [
            {
                name: 'Light',
                type: 'esp.device.lightbulb',
                primary: 'Power',
                params: [
                    {name: 'Name', type: 'esp.param.name', data_type: 'string', properties: rw},
                    {name: 'Power', type: 'esp.param.power', data_type: 'bool', properties: rw, ui_type: 'esp.ui.toggle'},
                    {name: 'Brightness', type: 'esp.param.brightness', data_type: 'int', properties: rw, bounds: {min: 0, max: 100, step: 1}, ui_type: 'esp.ui.slider'},
                    {name: 'Hue', type: 'esp.param.hue', data_type: 'int', properties: rw, bounds: {min: 0, max: 360, step: 1}, ui_type: 'esp.ui.hue-slider'},
                    {name: 'Saturation', type: 'esp.param.saturation', data_type: 'int', properties: rw, bounds: {min: 0, max: 100, step: 1}, ui_type: 'esp.ui.slider'},
                ],
            },
        ],
        services: [
            {
                name: 'System',
                type: 'esp.service.system',
                params: ['Reboot', 'Factory-Reset', 'Wi-Fi-Reset'].map((name) => ({name, type: `esp.param.${name.toLowerCase()}`, data_type: 'bool', properties: rw})),
            },
        ],
    });
}

async function runClient(mode: Mode, port: number, materialFile: string): Promise<void> {
    const material = JSON.parse(readFileSync(materialFile, 'utf8')) as Material;
    const open: tls.TLSSocket[] = [];
    process.on('message', async (message: {type: string; upTo: number}) => {
        if (message.type !== 'connect') return;
        const started = Date.now();
        const batch = 25;
        while (open.length < message.upTo) {
            const next = material.nodes.slice(open.length, Math.min(message.upTo, open.length + batch));
            open.push(...(await Promise.all(next.map((node) => connectNode(port, material.caPem, node, mode)))));
        }
        process.send!({type: 'connected', count: open.length, ms: Date.now() - started});
    });
    process.send!({type: 'ready'});
}

// ---------------------------------------------------------------------------------------------
// Orchestration

function child(args: string[]): ChildProcess {
    return fork(THIS_FILE, args, {execArgv: ['--expose-gc', '--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc']});
}

function next<T>(process: ChildProcess, type: string): Promise<T> {
    return new Promise((resolve, reject) => {
        const onMessage = (message: {type: string}): void => {
            if (message.type !== type) return;
            process.off('message', onMessage);
            resolve(message as T);
        };
        process.on('message', onMessage);
        process.once('exit', (code) => reject(new Error(`child exited (${code}) before "${type}"`)));
    });
}

interface ModeResult {
    rssKbPerNode: number;
    heapKbPerNode: number;
    idleRssMb: number;
    connectMsHigh: number;
}

async function measure(mode: Mode, low: number, high: number, dataDir: string, materialFile: string): Promise<ModeResult> {
    const server = child(['--role', 'server', '--mode', mode, '--data', dataDir, '--material', materialFile]);
    try {
        const ready = await next<{port: number; memory: Memory}>(server, 'ready');
        const client = child(['--role', 'client', '--mode', mode, '--port', String(ready.port), '--material', materialFile]);
        try {
            await next(client, 'ready');
            const points: Memory[] = [];
            let connectMsHigh = 0;
            for (const count of [low, high]) {
                client.send({type: 'connect', upTo: count});
                const connected = await next<{ms: number}>(client, 'connected');
                connectMsHigh = connected.ms;
                // Let the registry write and the sockets settle before measuring.
                await new Promise((resolve) => setTimeout(resolve, 1500));
                server.send({type: 'measure'});
                points.push((await next<{memory: Memory}>(server, 'memory')).memory);
            }
            const nodes = high - low;
            return {
                rssKbPerNode: Number(((points[1]!.rssKb - points[0]!.rssKb) / nodes).toFixed(1)),
                heapKbPerNode: Number(((points[1]!.heapKb - points[0]!.heapKb) / nodes).toFixed(1)),
                idleRssMb: Number((ready.memory.rssKb / 1024).toFixed(1)),
                connectMsHigh,
            };
        } finally {
            client.kill('SIGKILL');
        }
    } finally {
        server.kill('SIGKILL');
    }
}

async function main(): Promise<void> {
    const low = Number(process.argv[2] ?? 200);
    const high = Number(process.argv[3] ?? 800);
    const {loadOrCreateCa} = await import('../src/edge/tls/ca.js');
    const {issueNodeCertificate, issueServerCertificate} = await import('../src/edge/tls/issue.js');
    const {setLogLevel} = await import('../src/util/logger.js');
    setLogLevel('error');
    const work = mkdtempSync(path.join(tmpdir(), 'fogbridge-bench-rainmaker-'));
    try {
        const ca = await loadOrCreateCa(work);
        const server = issueServerCertificate(ca, {hosts: ['localhost'], ips: ['127.0.0.1']});
        const nodes: Credentials[] = [];
        for (let index = 0; index < high; index++) {
            const nodeId = (0x7cdfa1000000 + index).toString(16).toUpperCase();
            const issued = await issueNodeCertificate(ca, nodeId, 'ec');
            nodes.push({nodeId, certPem: issued.certPem, keyPem: issued.keyPem});
        }
        const materialFile = path.join(work, 'material.json');
        writeFileSync(materialFile, JSON.stringify({caPem: ca.certPem, serverCert: server.certPem + ca.certPem, serverKey: server.keyPem, nodes} satisfies Material));
        const baseline = await measure('raw-tls', low, high, path.join(work, 'raw'), materialFile);
        // The service finds the CA and server certificate in its data directory, as in production.
        const ours = await measure('rainmaker', low, high, work, materialFile);
        printResult({
            bench: 'rainmaker-memory',
            nodes: {low, high},
            kbPerNode: ours.rssKbPerNode,
            heapKbPerNode: ours.heapKbPerNode,
            nodesPerGiB: ours.rssKbPerNode > 0 ? Math.round((1024 * 1024) / ours.rssKbPerNode) : null,
            targetKbPerNode: TARGET_KB_PER_NODE,
            withinTarget: ours.rssKbPerNode <= TARGET_KB_PER_NODE,
            baselineRawTlsKbPerNode: baseline.rssKbPerNode,
            overheadOverRawTls: baseline.rssKbPerNode > 0 ? Number((ours.rssKbPerNode / baseline.rssKbPerNode).toFixed(2)) : null,
            idleRssMb: ours.idleRssMb,
            connectMs: {ours: ours.connectMsHigh, baseline: baseline.connectMsHigh, nodes: high - low},
        });
    } finally {
        rmSync(work, {recursive: true, force: true});
    }
}

const role = process.argv.indexOf('--role') >= 0 ? process.argv[process.argv.indexOf('--role') + 1] : 'main';
const argument = (name: string): string => process.argv[process.argv.indexOf(name) + 1]!;
if (role === 'server') await runServer(argument('--mode') as Mode, argument('--data'), argument('--material'));
else if (role === 'client') await runClient(argument('--mode') as Mode, Number(argument('--port')), argument('--material'));
else await main();
