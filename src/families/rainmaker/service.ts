/**
 * The RainMaker "cloud": a mutual-TLS aedes broker on 8883 and on the shared 443 port (ALPN
 * `x-amzn-mqtt-ca`), the per-node ACL, the adapter and the OTA download server.
 */

import path from 'node:path';
import type tls from 'node:tls';

import type {Aedes, Client} from 'aedes';

import {createBroker} from '../../edge/broker/broker.js';
import {attachMqttConnection} from '../../edge/broker/listener.js';
import {type TlsRoute, TlsPortDispatcher} from '../../edge/tls-port/dispatcher.js';
import {type BoundServer, type TlsMaterial, listenMqttMutualTls} from '../../edge/broker/tls-listener.js';
import {createLogger} from '../../util/logger.js';
import {loadOrCreateCa} from '../../edge/tls/ca.js';
import {loadOrIssueServerCertificate} from '../../edge/tls/issue.js';
import type {FamilyContext, FamilyService} from '../family.js';
import {RainmakerAdapter} from './adapter.js';
import {type ClaimServer, startClaimServer} from './claim-server.js';
import {rainmakerHooks} from './auth.js';
import {FirmwareCatalog, OtaFileServer} from './ota.js';
import type {RainmakerSettings} from './settings.js';

const log = createLogger('rainmaker');

/** The ALPN protocol stock firmware sends on 443 (AWS IoT's "MQTT with a custom authoriser"). */
export const RAINMAKER_ALPN = 'x-amzn-mqtt-ca';
const FIRMWARE_RESCAN_MS = 60_000;

export interface RainmakerPorts {
    mqtt: number | null;
    alpn: number | null;
    ota: number | null;
    claim: number | null;
}

export function firmwareDirectory(settings: RainmakerSettings, dataDir: string): string {
    return settings.firmwareDir ?? path.join(dataDir, 'rainmaker', 'firmware');
}

export function serverNames(settings: RainmakerSettings): {hosts: string[]; ips: string[]} {
    const hosts = [settings.mqttHost, ...settings.serverCertHosts.filter((host) => host !== settings.mqttHost)];
    return {hosts, ips: settings.serverCertIps};
}

export class RainmakerService implements FamilyService {
    readonly ports: RainmakerPorts = {mqtt: null, alpn: null, ota: null, claim: null};
    private broker: Aedes | null = null;
    private adapter: RainmakerAdapter | null = null;
    private mqttListener: BoundServer<tls.Server> | null = null;
    private dispatcher: TlsPortDispatcher | null = null;
    private files: OtaFileServer | null = null;
    private claimServer: ClaimServer | null = null;
    private rescanTimer: NodeJS.Timeout | null = null;
    private commandsRegistered = false;
    /** The live session per node id: a takeover replaces it before the old one's disconnect event. */
    private readonly sessions = new Map<string, Client>();

    constructor(private readonly context: FamilyContext<RainmakerSettings>) {}

    async start(): Promise<void> {
        try {
            await this.startParts();
        } catch (error) {
            // The bridge does not stop a service whose start failed: release what did start (ports, timers).
            await this.stop();
            throw error;
        }
    }

    private async startParts(): Promise<void> {
        const {settings: config, dataDir, registry, router} = this.context;
        const ca = await loadOrCreateCa(dataDir);
        const server = await loadOrIssueServerCertificate(dataDir, ca, serverNames(config));
        const material: TlsMaterial = {ca: ca.certPem, cert: server.certPem + ca.certPem, key: server.keyPem};

        const broker = await createBroker({
            id: 'rainmaker',
            keepaliveLimit: config.keepaliveLimitSeconds,
            hooks: rainmakerHooks({
                log: log.child('acl'),
                onRefusal: (nodeId, reason) => {
                    const id = RainmakerAdapter.deviceId(nodeId);
                    if (registry.has(id)) registry.countBadPacket(id, reason);
                },
            }),
        });
        this.broker = broker;

        this.files = new OtaFileServer({host: config.host, port: config.otaPort, cert: material.cert, key: material.key, publicHost: config.mqttHost, log: log.child('ota')});
        this.ports.ota = await this.files.start();

        const adapter = new RainmakerAdapter({
            registry,
            link: {
                send: (nodeId, topic, payload) => this.send(nodeId, topic, payload),
                isConnected: (nodeId) => this.sessions.has(nodeId),
            },
            firmware: new FirmwareCatalog(firmwareDirectory(config, dataDir), log.child('ota')),
            files: this.files,
            model: {fanForwardDirection: config.fanForwardDirection, temperatureUnit: config.temperatureUnit},
            log: log.child('adapter'),
        });
        this.adapter = adapter;
        await adapter.refreshFirmware();
        adapter.restore();

        broker.on('clientReady', (client) => {
            this.sessions.set(client.id, client);
            log.info(`node ${client.id} connected`);
            adapter.onNodeConnected(client.id);
        });
        broker.on('clientDisconnect', (client) => {
            if (this.sessions.get(client.id) !== client) return;
            this.sessions.delete(client.id);
            log.info(`node ${client.id} disconnected`);
            adapter.onNodeDisconnected(client.id);
        });
        broker.on('publish', (packet, client) => {
            if (!client) return;
            const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
            adapter.handleMessage(client.id, packet.topic, payload);
        });

        if (!this.commandsRegistered) {
            router.register('rainmaker', (routed) => this.adapter!.handleCommand(routed));
            this.commandsRegistered = true;
        }

        const limits = {maxPacketBytes: config.maxPacketBytes};
        if (config.mqttPort !== null) {
            this.mqttListener = await listenMqttMutualTls(broker, {
                host: config.host,
                port: config.mqttPort,
                fallbackPort: config.mqttFallbackPort,
                tls: material,
                limits,
                maxConnections: config.maxConnections,
                log,
                label: 'rainmaker',
            });
            this.ports.mqtt = this.mqttListener.port;
        }
        if (config.alpnPort !== null) {
            this.dispatcher = new TlsPortDispatcher({
                host: config.host,
                port: config.alpnPort,
                fallbackPort: config.alpnFallbackPort,
                tls: material,
                maxConnections: config.maxConnections,
                log,
                label: 'tls-443',
            });
            this.dispatcher.addRoute(this.tlsRoute());
            this.ports.alpn = await this.dispatcher.listen();
        }

        if (config.claimPort !== null) {
            this.claimServer = await startClaimServer({
                dataDir,
                ca,
                host: config.host,
                port: config.claimPort,
                tls: {cert: material.cert, key: material.key},
                mqttHost: config.mqttHost,
                acceptAnyMac: config.claimAcceptAnyMac,
                basePath: config.claimBasePath,
            });
            this.ports.claim = this.claimServer.port;
        }

        this.rescanTimer = setInterval(() => {
            adapter.refreshFirmware().catch((error: Error) => log.warn(`cannot read the firmware directory: ${error.message}`));
        }, FIRMWARE_RESCAN_MS);
        this.rescanTimer.unref();
    }

    /**
     * The RainMaker MQTT route for a shared 443 dispatcher: ALPN `x-amzn-mqtt-ca`, and a verified
     * client certificate (the dispatcher does not require one at the TLS level).
     */
    tlsRoute(): TlsRoute {
        return {
            name: 'rainmaker-mqtt',
            alpn: [RAINMAKER_ALPN],
            accept: (socket: tls.TLSSocket) => {
                if (!socket.authorized) {
                    log.limited('warn', `443:unauth:${socket.remoteAddress ?? ''}`, `443: RainMaker MQTT from ${socket.remoteAddress ?? '?'} refused: ${String(socket.authorizationError ?? 'no client certificate')}`);
                    socket.destroy();
                    return;
                }
                if (!this.broker) {
                    socket.destroy();
                    return;
                }
                attachMqttConnection(this.broker, socket, {limits: {maxPacketBytes: this.context.settings.maxPacketBytes}, log, label: 'rainmaker:443'});
            },
        };
    }

    /** Re-reads the firmware directory now (it is also rescanned every minute). */
    async refreshFirmware(): Promise<void> {
        await this.adapter?.refreshFirmware();
    }

    /** QoS 1, not retained: nodes use clean sessions and must never replay an old command. */
    private send(nodeId: string, topic: string, payload: string): Promise<void> {
        const broker = this.broker;
        if (!broker || !this.sessions.has(nodeId)) return Promise.reject(new Error(`node ${nodeId} is not connected`));
        return new Promise((resolve, reject) => {
            broker.publish({cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: false, dup: false}, (error) => (error ? reject(error) : resolve()));
        });
    }

    async stop(): Promise<void> {
        this.adapter?.flush();
        if (this.rescanTimer) clearInterval(this.rescanTimer);
        this.rescanTimer = null;
        await this.dispatcher?.close();
        this.dispatcher = null;
        await this.mqttListener?.close();
        this.mqttListener = null;
        await this.files?.stop();
        this.files = null;
        await this.claimServer?.close();
        this.claimServer = null;
        const broker = this.broker;
        this.broker = null;
        if (broker) await new Promise<void>((resolve) => broker.close(() => resolve()));
        this.sessions.clear();
    }
}
