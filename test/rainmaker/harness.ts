/**
 * A running RainMaker service on free ports with its own data directory, registry and router, and
 * the log lines it wrote, for the RainMaker integration tests.
 */
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';

import {loadSettings} from '../../src/settings.js';
import type {Settings} from '../../src/settings.js';
import {EventBus} from '../../src/core/bus.js';
import {type LogLevel, setLogSink} from '../../src/util/logger.js';
import {DeviceRegistry} from '../../src/core/registry.js';
import {CommandRouter} from '../../src/core/router.js';
import {claimNode} from '../../src/families/rainmaker/claim.js';
import {DeviceEdge} from '../../src/edge/index.js';
import {RainmakerService} from '../../src/families/rainmaker/service.js';
import type {NodeCredentials} from '../../src/simulate/rainmaker.js';
import {type CertificateAuthority, loadOrCreateCa} from '../../src/edge/tls/ca.js';
import {startOnEdge} from '../support/edge.js';
import {freePort} from '../support/net.js';

export interface LogLine {
    level: LogLevel;
    namespace: string;
    message: string;
}

export interface Harness {
    settings: Settings;
    dataDir: string;
    bus: EventBus;
    registry: DeviceRegistry;
    router: CommandRouter;
    service: RainmakerService;
    edge: DeviceEdge;
    /** The edge's device MQTT port and shared TLS port. */
    ports: {mqtt: number | null; alpn: number | null};
    ca: CertificateAuthority;
    logs: LogLine[];
    /** Log lines containing every one of `parts`. */
    logsWith(...parts: string[]): LogLine[];
    claim(mac: string): Promise<NodeCredentials>;
    stop(): Promise<void>;
}

export const MQTT_HOST = 'rm.fogbridge.test';

export async function startHarness(overrides: Record<string, unknown> = {}): Promise<Harness> {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'fogbridge-rainmaker-'));
    const logs: LogLine[] = [];
    setLogSink((level, namespace, message) => {
        logs.push({level, namespace, message});
    });
    const settings = loadSettings({
        flags: {
            dataDir,
            logLevel: 'debug',
            edge: {host: '127.0.0.1', mqttTlsPort: await freePort(), tlsPort: await freePort()},
            rainmaker: {
                host: '127.0.0.1',
                mqttHost: MQTT_HOST,
                otaPort: await freePort(),
                claimPort: await freePort(),
                ...overrides,
            },
        },
    });
    const bus = new EventBus();
    const registry = new DeviceRegistry({file: path.join(dataDir, 'registry.json'), bus, stateSaveDelayMs: 50});
    await registry.load();
    const router = new CommandRouter(registry);
    const edge = new DeviceEdge(settings.edge, dataDir);
    const running = await startOnEdge(edge, 'rainmaker', (familyEdge) => new RainmakerService({settings: settings.rainmaker, dataDir, registry, images: {publish: () => {}}, router, topics: {publish: () => {}, subscribe: () => () => {}}, edge: familyEdge}));
    const service = running.service;
    const ca = await loadOrCreateCa(dataDir);
    return {
        settings,
        dataDir,
        bus,
        registry,
        router,
        service,
        edge,
        ports: {mqtt: edge.ports.mqttTls, alpn: edge.ports.tls},
        ca,
        logs,
        logsWith: (...parts) => logs.filter((line) => parts.every((part) => line.message.includes(part))),
        claim: (mac) => claimNode(dataDir, ca, {mac, mqttHost: MQTT_HOST}),
        async stop() {
            await running.stop();
            await registry.close();
            setLogSink(null);
            rmSync(dataDir, {recursive: true, force: true});
        },
    };
}
