/**
 * The RainMaker "cloud" on the device edge: the family's broker policy (per-node ACL), its route
 * on the shared TLS port (ALPN `x-amzn-mqtt-ca`), its names in the server certificate, the adapter,
 * and its own HTTPS listeners (OTA downloads, self-claim) with the edge's certificate.
 */

import path from 'node:path';
import type tls from 'node:tls';

import {type FamilyBroker, type TlsRoute, clientCertificateRefusal} from '../../edge/index.js';
import {createLogger} from '../../util/logger.js';
import type {FamilyContext, FamilyService} from '../family.js';
import {RainmakerAdapter} from './adapter.js';
import {rainmakerPolicy} from './auth.js';
import {type ClaimServer, startClaimServer} from './claim-server.js';
import {FirmwareCatalog, OtaFileServer} from './ota.js';
import type {RainmakerSettings} from './settings.js';

const log = createLogger('rainmaker');

/** The ALPN protocol stock firmware sends on 443 (AWS IoT's "MQTT with a custom authoriser"). */
export const RAINMAKER_ALPN = 'x-amzn-mqtt-ca';
/** The route's name, and the listener its nodes' connections are attributed to. */
const MQTT_ROUTE = 'rainmaker-mqtt';
const FIRMWARE_RESCAN_MS = 60_000;

export interface RainmakerPorts {
    ota: number | null;
    claim: number | null;
}

export function firmwareDirectory(settings: RainmakerSettings, dataDir: string): string {
    return settings.firmwareDir ?? path.join(dataDir, 'rainmaker', 'firmware');
}

export class RainmakerService implements FamilyService {
    readonly ports: RainmakerPorts = {ota: null, claim: null};
    private adapter: RainmakerAdapter | null = null;
    private files: OtaFileServer | null = null;
    private claimServer: ClaimServer | null = null;
    private rescanTimer: NodeJS.Timeout | null = null;
    private commandsRegistered = false;

    constructor(private readonly context: FamilyContext<RainmakerSettings>) {
        // Nodes check the broker's name against `mqtt_host` (rainmaker.md §5.1).
        context.edge.addServerNames({hosts: [context.settings.mqttHost]});
    }

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
        const {settings: config, dataDir, registry, router, edge} = this.context;
        const {ca, tls: material} = edge.certificates();

        this.files = new OtaFileServer({host: config.host, port: config.otaPort, cert: material.cert, key: material.key, publicHost: config.mqttHost, log: log.child('ota')});
        this.ports.ota = await this.files.start();

        const broker = edge.registerBrokerPolicy(
            rainmakerPolicy({
                log: log.child('acl'),
                route: MQTT_ROUTE,
                maxPacketBytes: config.maxPacketBytes,
                keepaliveLimitSeconds: config.keepaliveLimitSeconds,
                onRefusal: (nodeId, reason) => {
                    const id = RainmakerAdapter.deviceId(nodeId);
                    if (registry.has(id)) registry.countBadPacket(id, reason);
                },
                onTlsRefusal: (client, reason, detail) => edge.reportTlsRefusal(client.address, client.listener, reason, detail),
            }),
        );

        const adapter = new RainmakerAdapter({
            registry,
            link: {
                // QoS 1, not retained: nodes use clean sessions and must never replay an old command.
                send: (nodeId, topic, payload) => broker.publish(nodeId, topic, payload, {qos: 1}),
                isConnected: (nodeId) => broker.isConnected(nodeId),
            },
            firmware: new FirmwareCatalog(firmwareDirectory(config, dataDir), log.child('ota')),
            files: this.files,
            model: {fanForwardDirection: config.fanForwardDirection, temperatureUnit: config.temperatureUnit},
            log: log.child('adapter'),
        });
        this.adapter = adapter;
        await adapter.refreshFirmware();
        adapter.restore();

        broker.onConnect((client) => {
            log.info(`node ${client.id} connected`);
            adapter.onNodeConnected(client.id);
        });
        broker.onDisconnect((client) => {
            log.info(`node ${client.id} disconnected`);
            adapter.onNodeDisconnected(client.id);
        });
        broker.onPublish((client, topic, payload) => adapter.handleMessage(client.id, topic, payload));
        edge.addTlsRoute(this.tlsRoute(broker));

        if (!this.commandsRegistered) {
            router.register('rainmaker', (routed) => this.adapter!.handleCommand(routed));
            this.commandsRegistered = true;
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
                onTlsRefusal: (peer, reason, detail) => edge.reportTlsRefusal(peer, 'rainmaker-claim', reason, detail),
            });
            this.ports.claim = this.claimServer.port;
        }

        this.rescanTimer = setInterval(() => {
            adapter.refreshFirmware().catch((error: Error) => log.warn(`cannot read the firmware directory: ${error.message}`));
        }, FIRMWARE_RESCAN_MS);
        this.rescanTimer.unref();
    }

    /**
     * The RainMaker MQTT route on the shared TLS port: ALPN `x-amzn-mqtt-ca`, and a verified
     * client certificate (the port does not require one at the TLS level: HTTPS clients have none).
     */
    private tlsRoute(broker: FamilyBroker): TlsRoute {
        return {
            name: MQTT_ROUTE,
            alpn: [RAINMAKER_ALPN],
            accept: (socket: tls.TLSSocket) => {
                if (!socket.authorized) {
                    const {reason, detail} = clientCertificateRefusal(socket);
                    log.limited('warn', `443:unauth:${socket.remoteAddress ?? ''}`, `443: RainMaker MQTT from ${socket.remoteAddress ?? '?'} refused: ${detail}`);
                    this.context.edge.reportTlsRefusal(socket.remoteAddress ?? 'a peer', MQTT_ROUTE, reason, detail);
                    socket.destroy();
                    return;
                }
                broker.attach(socket, MQTT_ROUTE);
            },
        };
    }

    /** Re-reads the firmware directory now (it is also rescanned every minute). */
    async refreshFirmware(): Promise<void> {
        await this.adapter?.refreshFirmware();
    }

    async stop(): Promise<void> {
        this.adapter?.flush();
        if (this.rescanTimer) clearInterval(this.rescanTimer);
        this.rescanTimer = null;
        await this.context.edge.release();
        await this.files?.stop();
        this.files = null;
        await this.claimServer?.close();
        this.claimServer = null;
    }
}
