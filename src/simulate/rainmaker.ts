/**
 * Simulated ESP RainMaker nodes for tests, demos and benchmarks. Each behaves as the protocol note
 * describes default firmware (rainmaker.md §2, §9): mqtt.js over mutual TLS with the client
 * certificate the bridge issued, client id = node id, keepalive 120, clean session, QoS 1,
 * publishes on `$aws/rules/<rule>/node/<id>/…`; on its first connect it sends the command-response
 * poll, its config, the user mapping, `params/local/init` and then `otafetch`. It obeys
 * `params/remote` (exact JSON types only, as the firmware's typed getters do) and echoes what
 * changed on `params/local`; an OTA job is downloaded over HTTPS and verified before the node
 * "reboots" into the new version and reports success.
 */

import {createHash} from 'node:crypto';
import https from 'node:https';
import {isIP} from 'node:net';
import tls from 'node:tls';

import mqtt, {type MqttClient} from 'mqtt';

import {createLogger, type Logger} from '../util/logger.js';
import {hasDeclaredType, type ParamsDocument, type RmNodeConfig, type RmParam} from '../families/rainmaker/node-config.js';

export type SimulatedNodeType = 'lightbulb' | 'switch' | 'fan' | 'temperature';

export interface NodeCredentials {
    nodeId: string;
    certPem: string;
    keyPem: string;
    caPem: string;
}

export interface RainmakerNodesOptions {
    type: SimulatedNodeType;
    count: number;
    host: string;
    port: number;
    /** Offer ALPN `x-amzn-mqtt-ca`, as stock firmware does on port 443. */
    alpn?: boolean;
    /** Host name checked against the server certificate when `host` is an address. */
    servername?: string;
    /** The CA the server certificate chains to, when credentials carry none of their own. */
    ca?: string;
    /** One set per node, or a function that claims a node by its MAC. */
    credentials?: NodeCredentials[];
    claim?: (mac: string) => Promise<NodeCredentials>;
    /** First MAC; the others count up from it. */
    macBase?: string;
    fwVersion?: string;
    /** Published on `user/mapping` after the config (rainmaker.md §7). */
    mapping?: {userId: string; secretKey: string};
    /** Ask for an OTA job this long after start (the firmware waits 5 s); null: never. */
    otaFetchDelayMs?: number | null;
    /** Reconnect when the link drops (the firmware does); tests that expect refusals turn it off. */
    reconnect?: boolean;
    logger?: Logger;
}

export interface OtaProgress {
    jobId: string;
    status: 'in-progress' | 'success' | 'failed' | 'rejected';
    info: string;
}

interface OtaJobMessage {
    ota_job_id: string;
    url: string;
    file_md5?: string;
    fw_version?: string;
    file_size?: number;
}

const PROJECT: Record<SimulatedNodeType, string> = {lightbulb: 'led_light', switch: 'switch', fan: 'fan', temperature: 'temperature_sensor'};

function param(name: string, type: string, dataType: RmParam['data_type'], extra: Partial<RmParam> = {}): RmParam {
    return {name, type, data_type: dataType, properties: ['read', 'write'], ...extra};
}

/** The config the SDK's example of each type reports (rainmaker.md §4.1), plus the System service. */
export function exampleConfig(type: SimulatedNodeType, nodeId: string, fwVersion: string): RmNodeConfig {
    const devices: RmNodeConfig['devices'] = [];
    switch (type) {
        case 'lightbulb':
            devices.push({
                name: 'Light',
                type: 'esp.device.lightbulb',
                primary: 'Power',
                params: [
                    param('Name', 'esp.param.name', 'string'),
                    param('Power', 'esp.param.power', 'bool', {ui_type: 'esp.ui.toggle'}),
                    param('Brightness', 'esp.param.brightness', 'int', {bounds: {min: 0, max: 100, step: 1}, ui_type: 'esp.ui.slider'}),
                    param('Hue', 'esp.param.hue', 'int', {bounds: {min: 0, max: 360, step: 1}, ui_type: 'esp.ui.hue-slider'}),
                    param('Saturation', 'esp.param.saturation', 'int', {bounds: {min: 0, max: 100, step: 1}, ui_type: 'esp.ui.slider'}),
                ],
            });
            break;
        case 'switch':
            devices.push({
                name: 'Switch',
                type: 'esp.device.switch',
                primary: 'Power',
                params: [param('Name', 'esp.param.name', 'string'), param('Power', 'esp.param.power', 'bool', {ui_type: 'esp.ui.toggle'})],
            });
            break;
        case 'fan':
            devices.push({
                name: 'Fan',
                type: 'esp.device.fan',
                primary: 'Power',
                params: [
                    param('Name', 'esp.param.name', 'string'),
                    param('Power', 'esp.param.power', 'bool', {ui_type: 'esp.ui.toggle'}),
                    param('Speed', 'esp.param.speed', 'int', {bounds: {min: 0, max: 5, step: 1}, ui_type: 'esp.ui.slider'}),
                    param('Direction', 'esp.param.direction', 'int', {bounds: {min: 0, max: 1, step: 1}, ui_type: 'esp.ui.dropdown'}),
                ],
            });
            break;
        case 'temperature':
            devices.push({
                name: 'Temperature Sensor',
                type: 'esp.device.temperature-sensor',
                primary: 'Temperature',
                params: [
                    param('Name', 'esp.param.name', 'string'),
                    {name: 'Temperature', type: 'esp.param.temperature', data_type: 'float', properties: ['read', 'time_series'], ui_type: 'esp.ui.text'},
                ],
            });
            break;
    }
    return {
        node_id: nodeId,
        config_version: '2020-03-20',
        info: {name: 'ESP RainMaker Device', fw_version: fwVersion, type: devices[0]!.name, model: PROJECT[type], project_name: PROJECT[type], platform: 'esp32c3'},
        attributes: [{name: 'cmd-resp', value: '1'}],
        devices,
        services: [
            {
                name: 'System',
                type: 'esp.service.system',
                params: [
                    param('Reboot', 'esp.param.reboot', 'bool'),
                    param('Factory-Reset', 'esp.param.factory-reset', 'bool'),
                    param('Wi-Fi-Reset', 'esp.param.wifi-reset', 'bool'),
                ],
            },
        ],
    };
}

function initialParams(type: SimulatedNodeType): ParamsDocument {
    const system = {System: {Reboot: false, 'Factory-Reset': false, 'Wi-Fi-Reset': false}};
    switch (type) {
        case 'lightbulb':
            return {Light: {Name: 'Light', Power: true, Brightness: 25, Hue: 180, Saturation: 100}, ...system};
        case 'switch':
            return {Switch: {Name: 'Switch', Power: false}, ...system};
        case 'fan':
            return {Fan: {Name: 'Fan', Power: false, Speed: 3, Direction: 0}, ...system};
        case 'temperature':
            return {'Temperature Sensor': {Name: 'Temperature Sensor', Temperature: 21.5}, ...system};
    }
}

/** The node's command-response poll on every connect: empty request id, status 0, command 0. */
const CMD_RESP_POLL = Buffer.from('010003010005020000', 'hex');

export class SimulatedRainmakerNode {
    readonly params: ParamsDocument;
    /** Every message the node received, in order. */
    readonly received: {topic: string; payload: string}[] = [];
    readonly otaReports: OtaProgress[] = [];
    fwVersion: string;
    private client: MqttClient | null = null;
    private booted = false;
    private otaTimer: NodeJS.Timeout | null = null;
    /** The firmware runs one OTA at a time and ignores offers meanwhile. */
    private otaRunning: string | null = null;
    private readonly log: Logger;

    constructor(
        readonly type: SimulatedNodeType,
        readonly credentials: NodeCredentials,
        private readonly options: RainmakerNodesOptions,
    ) {
        this.params = initialParams(type);
        this.fwVersion = options.fwVersion ?? '1.0';
        this.log = (options.logger ?? createLogger('simulate:rainmaker')).child(credentials.nodeId);
    }

    get nodeId(): string {
        return this.credentials.nodeId;
    }

    get connected(): boolean {
        return this.client?.connected ?? false;
    }

    get config(): RmNodeConfig {
        return exampleConfig(this.type, this.nodeId, this.fwVersion);
    }

    /** Connects and runs the first-boot sequence. Rejects when the broker refuses the node. */
    async start(): Promise<void> {
        const {host, port} = this.options;
        const client = await mqtt.connectAsync({
            protocol: 'mqtts',
            host,
            port,
            clientId: this.nodeId,
            protocolVersion: 4,
            clean: true,
            keepalive: 120,
            reconnectPeriod: this.options.reconnect === false ? 0 : 2000,
            connectTimeout: 10_000,
            ca: this.credentials.caPem || this.options.ca,
            cert: this.credentials.certPem,
            key: this.credentials.keyPem,
            rejectUnauthorized: true,
            ...(this.options.servername ? {servername: this.options.servername} : isIP(host) ? {} : {servername: host}),
            ...(this.options.alpn ? {ALPNProtocols: ['x-amzn-mqtt-ca']} : {}),
        });
        this.client = client;
        client.on('connect', () => {
            (client.stream as {setNoDelay?: (on: boolean) => void}).setNoDelay?.(true);
            // Later connects: subscriptions restored, the poll sent, but no config or state (§9).
            this.onConnect(false).catch((error: Error) => this.log.debug(`reconnect sequence failed: ${error.message}`));
        });
        client.on('error', (error) => this.log.debug(`mqtt: ${error.message}`));
        client.on('message', (topic, payload) => this.onMessage(topic, payload));
        (client.stream as {setNoDelay?: (on: boolean) => void}).setNoDelay?.(true);
        await this.onConnect(true);
    }

    private topic(rule: string, suffix: string): string {
        return `$aws/rules/${rule}/node/${this.nodeId}/${suffix}`;
    }

    private async onConnect(firstBoot: boolean): Promise<void> {
        const client = this.client!;
        const own = `node/${this.nodeId}`;
        await client.subscribeAsync(`${own}/to-node`, {qos: 1});
        await client.publishAsync(this.topic('esp_cmd_resp', 'from-node'), CMD_RESP_POLL, {qos: 1});
        if (firstBoot || !this.booted) {
            await this.boot();
            return;
        }
        await client.subscribeAsync([`${own}/params/remote`, `${own}/otaurl`], {qos: 1});
    }

    /** What the firmware does once per boot: config, mapping, state, then the OTA fetch. */
    private async boot(): Promise<void> {
        const client = this.client!;
        const own = `node/${this.nodeId}`;
        await client.publishAsync(this.topic('esp_node_config', 'config'), JSON.stringify(this.config), {qos: 1});
        if (this.options.mapping) {
            const mapping = {node_id: this.nodeId, user_id: this.options.mapping.userId, secret_key: this.options.mapping.secretKey, reset: true};
            await client.publishAsync(this.topic('esp_user_node_mapping', 'user/mapping'), JSON.stringify(mapping), {qos: 1});
        }
        await client.subscribeAsync(`${own}/params/remote`, {qos: 1});
        await client.publishAsync(this.topic('esp_init_params', 'params/local/init'), JSON.stringify(this.params), {qos: 1});
        await client.subscribeAsync(`${own}/otaurl`, {qos: 1});
        this.booted = true;
        const delay = this.options.otaFetchDelayMs === undefined ? 5000 : this.options.otaFetchDelayMs;
        if (delay !== null) {
            this.otaTimer = setTimeout(() => {
                this.otaTimer = null;
                this.otaFetch().catch((error: Error) => this.log.debug(`otafetch failed: ${error.message}`));
            }, delay);
            this.otaTimer.unref();
        }
    }

    async otaFetch(): Promise<void> {
        await this.publish(this.topic('esp_node_otafetch', 'otafetch'), JSON.stringify({node_id: this.nodeId, fw_version: this.fwVersion}));
    }

    /** A QoS 1 publish that resolves on the PUBACK, as the firmware's state machines wait for it. */
    async publish(topic: string, payload: string | Buffer): Promise<void> {
        if (!this.client) throw new Error(`node ${this.nodeId} is not started`);
        await this.client.publishAsync(topic, payload, {qos: 1});
    }

    /** A local change (a button on the device): the new value goes out on `params/local`. */
    async setLocal(device: string, name: string, value: unknown): Promise<void> {
        (this.params[device] ??= {})[name] = value;
        await this.publish(this.topic('esp_set_params', 'params/local'), JSON.stringify({[device]: {[name]: value}}));
    }

    /** A new temperature reading: params/local, then its time series record (rainmaker.md §4.5). */
    async reportTemperature(celsius: number): Promise<void> {
        await this.setLocal('Temperature Sensor', 'Temperature', celsius);
        const record = {name: 'Temperature Sensor.Temperature', type: 'esp.param.temperature', dt: 'float', t: Math.floor(Date.now() / 1000), v: celsius};
        await this.publish(this.topic('esp_simple_ts_ingest', 'simple_tsdata'), JSON.stringify(record));
    }

    async raiseAlert(text: string): Promise<void> {
        await this.publish(this.topic('esp_node_alert', 'alert'), JSON.stringify({'esp.alert.str': text.slice(0, 100)}));
    }

    private onMessage(topic: string, payload: Buffer): void {
        this.received.push({topic, payload: payload.toString('utf8')});
        const own = `node/${this.nodeId}/`;
        if (topic === `${own}params/remote`) this.onParamsRemote(payload);
        else if (topic === `${own}otaurl`) {
            this.onOtaUrl(payload).catch((error: Error) => this.log.warn(`OTA failed: ${error.message}`));
        }
    }

    /** Typed getters: a value of the wrong JSON type or an unknown name is silently ignored (§4.3). */
    private onParamsRemote(payload: Buffer): void {
        let document: unknown;
        try {
            document = JSON.parse(payload.toString('utf8'));
        } catch {
            return;
        }
        if (typeof document !== 'object' || document === null) return;
        const config = this.config;
        const changed: ParamsDocument = {};
        for (const [entryName, values] of Object.entries(document as Record<string, unknown>)) {
            const entry = [...config.devices, ...config.services].find((candidate) => candidate.name === entryName);
            if (!entry || typeof values !== 'object' || values === null) continue;
            for (const [name, value] of Object.entries(values as Record<string, unknown>)) {
                const declared = entry.params.find((candidate) => candidate.name === name);
                if (!declared || !hasDeclaredType(declared, value)) continue;
                (this.params[entryName] ??= {})[name] = value;
                (changed[entryName] ??= {})[name] = value;
            }
        }
        if (Object.keys(changed).length === 0) return;
        this.publish(this.topic('esp_set_params', 'params/local'), JSON.stringify(changed)).catch((error: Error) => this.log.debug(`echo failed: ${error.message}`));
    }

    private async report(jobId: string, status: OtaProgress['status'], info: string): Promise<void> {
        this.otaReports.push({jobId, status, info});
        await this.publish(this.topic('esp_node_otastatus', 'otastatus'), JSON.stringify({ota_job_id: jobId, status, additional_info: info, ts: Math.floor(Date.now() / 1000)}));
    }

    private async onOtaUrl(payload: Buffer): Promise<void> {
        const job = JSON.parse(payload.toString('utf8')) as OtaJobMessage;
        if (typeof job.ota_job_id !== 'string' || typeof job.url !== 'string' || this.otaRunning) return;
        this.otaRunning = job.ota_job_id;
        try {
            await this.runOta(job);
        } finally {
            this.otaRunning = null;
        }
    }

    private async runOta(job: OtaJobMessage): Promise<void> {
        if (job.fw_version === this.fwVersion) {
            await this.report(job.ota_job_id, 'rejected', 'Same version received');
            return;
        }
        await this.report(job.ota_job_id, 'in-progress', 'Starting OTA Upgrade (HTTPS attempt 1/3)');
        await this.report(job.ota_job_id, 'in-progress', 'Downloading Firmware Image');
        let image: Buffer;
        try {
            image = await this.download(job.url);
        } catch (error) {
            await this.report(job.ota_job_id, 'failed', `OTA Attempt 3/3 failed: ${(error as Error).message}`);
            return;
        }
        if ((job.file_size !== undefined && image.length !== job.file_size) || (job.file_md5 && createHash('md5').update(image).digest('hex') !== job.file_md5)) {
            await this.report(job.ota_job_id, 'failed', 'OTA Attempt 3/3 failed: image size or MD5 mismatch');
            return;
        }
        await this.report(job.ota_job_id, 'in-progress', 'Downloaded 100% Firmware Image');
        await this.report(job.ota_job_id, 'in-progress', 'Firmware Image download complete');
        await this.report(job.ota_job_id, 'in-progress', `Rebooting into new firmware (${job.fw_version ?? '?'})`);
        // The "reboot": the new firmware sends its config and state again, then confirms the job.
        if (job.fw_version) this.fwVersion = job.fw_version;
        this.booted = false;
        await this.boot();
        await this.report(job.ota_job_id, 'success', 'OTA Upgrade finished and verified successfully');
    }

    private download(url: string): Promise<Buffer> {
        const ca = this.credentials.caPem || this.options.ca;
        return new Promise((resolve, reject) => {
            const target = new URL(url);
            // The image URL names the bridge's host name; a test may reach it by address.
            const request = https.get(
                {
                    host: this.options.host,
                    port: target.port,
                    path: target.pathname,
                    ca,
                    servername: this.options.servername ?? (isIP(target.hostname) ? undefined : target.hostname),
                    checkServerIdentity: (_host, cert) => tls.checkServerIdentity(this.options.servername ?? target.hostname, cert),
                    timeout: 15_000,
                },
                (response) => {
                    if (response.statusCode !== 200) {
                        response.resume();
                        reject(new Error(`HTTP ${response.statusCode}`));
                        return;
                    }
                    const chunks: Buffer[] = [];
                    response.on('data', (chunk: Buffer) => chunks.push(chunk));
                    response.on('end', () => resolve(Buffer.concat(chunks)));
                    response.on('error', reject);
                },
            );
            request.on('timeout', () => request.destroy(new Error('download timed out')));
            request.on('error', reject);
        });
    }

    /** Ends the connection as a power cut would: no DISCONNECT, the broker notices the socket close. */
    async stop(): Promise<void> {
        if (this.otaTimer) clearTimeout(this.otaTimer);
        this.otaTimer = null;
        const client = this.client;
        this.client = null;
        if (client) await client.endAsync(true);
    }
}

/** Adds `count` to a 12-hex MAC. */
export function macAt(base: string, offset: number): string {
    return (Number.parseInt(base, 16) + offset).toString(16).toUpperCase().padStart(12, '0');
}

export interface RainmakerNodes {
    nodes: SimulatedRainmakerNode[];
    stop(): Promise<void>;
}

/** Starts `count` nodes of one type, claiming each through `claim` unless credentials are given. */
export async function startRainmakerNodes(options: RainmakerNodesOptions): Promise<RainmakerNodes> {
    const nodes: SimulatedRainmakerNode[] = [];
    const stop = async (): Promise<void> => {
        await Promise.all(nodes.map((node) => node.stop()));
    };
    try {
        for (let index = 0; index < options.count; index++) {
            const credentials = options.credentials?.[index] ?? (await options.claim?.(macAt(options.macBase ?? '7CDFA1000000', index)));
            if (!credentials) throw new Error('startRainmakerNodes needs credentials or a claim function for every node');
            const node = new SimulatedRainmakerNode(options.type, credentials, options);
            nodes.push(node);
            await node.start();
        }
    } catch (error) {
        await stop();
        throw error;
    }
    return {nodes, stop};
}
