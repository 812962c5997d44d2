import {mkdir} from 'node:fs/promises';
import type {Server} from 'node:net';
import path from 'node:path';

import type {Aedes} from 'aedes';

import {createBroker} from './edge/broker/broker.js';
import {listenMqtt} from './edge/broker/listener.js';
import {type CoreSettings, type WebSettings, settingsSection} from './config/schema.js';
import {createBackup} from './core/backup.js';
import {EventBus} from './core/bus.js';
import {DeviceImages, imagesDirectory} from './core/images.js';
import {createLogger, setLogLevel} from './util/logger.js';
import {DeviceRegistry, registryFile} from './core/registry.js';
import {CommandRouter} from './core/router.js';
import {startExtensions, stopExtensions} from './core/extension.js';
import {DeviceEdge} from './edge/index.js';
import {dnsOnboarding} from './dns.js';
import type {FamilyModule, FamilyService, TopicPort} from './families/family.js';
import {HaConnection, redactUrl} from './ha/connection.js';
import {createHaContext} from './ha/context.js';
import {createHaExtensions} from './ha/index.js';
import {OutboundQueue} from './ha/queue.js';
import {explainListenError} from './util/listen.js';
import {loadTranslations} from './util/translations.js';
import {VERSION} from './version.js';
import {WebUi} from './web/index.js';

const log = createLogger('bridge');

/** The core's settings and one section per family, keyed by family id. */
export type BridgeSettings = CoreSettings & Record<string, unknown>;

export interface RunningBridge<S extends BridgeSettings = BridgeSettings> {
    settings: S;
    registry: DeviceRegistry;
    router: CommandRouter;
    bus: EventBus;
    queue: OutboundQueue;
    /** The broker the Home Assistant side talks to (the embedded one when none is configured). */
    haUrl: string;
    stop(): Promise<void>;
}

/** A start-up failure the user can fix from the message alone. */
export class StartupError extends Error {}

/**
 * The composition root: registry, bus and router in the middle, the Home Assistant side on one
 * end, the family adapters on the other.
 */
export async function startBridge<S extends BridgeSettings>(settings: S, families: readonly FamilyModule[]): Promise<RunningBridge<S>> {
    const startedAt = Date.now();
    setLogLevel(settings.logLevel);
    log.info(`fogbridge ${VERSION} starting; data in ${path.resolve(settings.dataDir)}`);
    await mkdir(settings.dataDir, {recursive: true, mode: 0o700});

    const bus = new EventBus();
    const registry = new DeviceRegistry({file: registryFile(settings.dataDir), bus});
    await registry.load();
    const router = new CommandRouter(registry);
    const images = new DeviceImages(registry, bus, {directory: imagesDirectory(settings.dataDir)});
    await images.load();

    let embedded: {broker: Aedes; server: Server} | null = null;
    let haUrl = settings.ha.mqtt.url;
    if (!haUrl) {
        const {host, port} = settings.ha.embeddedBroker;
        const broker = await createBroker({id: 'fogbridge-ha'});
        const server = await listenMqtt(broker, {host, port, log: createLogger('broker:ha')}).catch(async (error: unknown) => {
            await new Promise<void>((resolve) => broker.close(() => resolve()));
            await registry.close();
            throw new StartupError(
                `the embedded MQTT broker could not listen: ${explainListenError(error)}. Point ha.mqtt.url at your broker (e.g. --mqtt-url mqtt://127.0.0.1:${port}) or choose another ha.embeddedBroker.port`,
            );
        });
        embedded = {broker, server};
        haUrl = `mqtt://${host.includes(':') ? `[${host}]` : host}:${port}`;
        log.info(`no Home Assistant broker configured: serving one at ${haUrl}`);
    }

    const closeEmbedded = async (): Promise<void> => {
        if (!embedded) return;
        const {broker, server} = embedded;
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        await new Promise<void>((resolve) => server.close(() => resolve()));
    };

    const connection = new HaConnection(haUrl, settings.ha, `${settings.ha.baseTopic}/bridge/state`);
    const queue = new OutboundQueue({
        capacity: settings.ha.queueCapacity,
        deviceRatePerSecond: settings.ha.deviceRatePerSecond,
        deviceBurst: settings.ha.deviceBurst,
        replayRatePerSecond: {fast: settings.ha.stateReplayRatePerSecond, paced: settings.ha.replayRatePerSecond},
        send: (message) => connection.publish(message),
    });
    // Families register on the edge while they are created and started; it listens once they all have.
    // Made before the web UI, which offers the edge's CA certificate once there is one.
    const edge = new DeviceEdge(settings.edge, settings.dataDir);
    const extensions = createHaExtensions(createHaContext({settings: settings.ha, translations: await loadTranslations(settings.language), registry, bus, images, router, connection, queue, edgeCounters: () => edge.counters(), deviceUiUrl: deviceUiUrlFor(settings.web)}));
    if (settings.web.enabled) {
        const health = () => ({version: VERSION, startedAt, homeAssistant: {connected: connection.connected, broker: redactUrl(haUrl)}, queue: queue.stats(), ...edge.counters()});
        extensions.push(new WebUi({settings: settings.web, language: settings.language, registry, bus, images, router, health, onboarding: dnsOnboarding(settings, families, edge.ports), tlsRefusals: edge.tlsRefusals, caCertificate: () => edge.caCertificatePem(), backup: async () => {
            await registry.flush();
            return createBackup(settings.dataDir);
        }}));
    }
    await startExtensions(extensions).catch(async (error: Error) => {
        queue.close();
        await registry.close();
        await closeEmbedded();
        throw new StartupError(error.message);
    });
    const topics: TopicPort = {
        publish: (topic, payload, options) => queue.enqueue({topic, payload, retain: options?.retain ?? false, qos: 1}),
        subscribe: (filter, handler) =>
            connection.subscribe(filter, (topic, payload, packet) => {
                if (!packet.retain) handler(topic, payload);
            }),
    };

    const services: {family: string; service: FamilyService}[] = [];
    const stopServices = async (): Promise<void> => {
        for (const {family, service} of services.splice(0).reverse()) {
            await service.stop().catch((error: Error) => log.error(`stopping ${family}: ${error.message}`));
        }
    };
    // The families' own extensions (icomen's legacy topics) use their family's adapter: they join the
    // list once the families are created and leave it before the families stop.
    const familyExtensionsFrom = extensions.length;
    const stopFamilyExtensions = (): Promise<void> => stopExtensions(extensions.splice(familyExtensionsFrom));
    try {
        const created: {family: string; service: FamilyService}[] = [];
        for (const family of families) {
            const section = settingsSection(settings, family.id);
            if (!family.enabled(section)) {
                log.info(`${family.id}: disabled in the settings`);
                continue;
            }
            for (const action of family.onboardingActions?.(section, {dataDir: settings.dataDir}) ?? []) router.registerOnboardingAction(family.id, action);
            for (const files of family.onboardingFiles?.(section, {dataDir: settings.dataDir}) ?? []) router.registerOnboardingFiles(family.id, files);
            created.push({family: family.id, service: family.create({settings: section, dataDir: settings.dataDir, registry, images, router, topics, edge: edge.forFamily(family.id)})});
        }
        const familyExtensions = created.flatMap(({service}) => service.extensions ?? []);
        await startExtensions(familyExtensions).catch((error: Error) => {
            throw new StartupError(error.message);
        });
        extensions.push(...familyExtensions);
        await edge.prepare();
        for (const {family, service} of created) {
            try {
                await service.start();
            } catch (error) {
                throw new StartupError(`${family} could not start: ${explainListenError(error)} (change its ports in the "${family}" settings, or set ${family}.enabled to false)`);
            }
            services.push({family, service});
        }
        await edge.listen().catch((error: unknown) => {
            throw new StartupError(`the device edge could not listen: ${explainListenError(error)} (change its ports in the "edge" settings, or set a port to null to turn that listener off)`);
        });
    } catch (error) {
        await edge.stopListening();
        await stopFamilyExtensions();
        await stopServices();
        await edge.stop();
        await stopExtensions(extensions);
        queue.close();
        await registry.close();
        await closeEmbedded();
        throw error;
    }

    if (!(await connection.start())) log.warn(`Home Assistant's broker at ${haUrl} is not reachable yet; devices keep working and will appear once it is`);

    let stopping: Promise<void> | null = null;
    return {
        settings,
        registry,
        router,
        bus,
        queue,
        haUrl,
        stop() {
            stopping ??= (async () => {
                log.info('stopping');
                await edge.stopListening();
                await stopFamilyExtensions();
                await stopServices();
                await edge.stop();
                queue.endReplays();
                await queue.idle(2000);
                await stopExtensions(extensions);
                await connection.stop();
                queue.close();
                await images.close();
                await registry.close();
                await closeEmbedded();
                log.info('stopped');
            })();
            return stopping;
        },
    };
}

/** `<web.externalUrl>#/device/<id>`: the UI's own route to a device page; null without the UI or its URL. */
function deviceUiUrlFor(web: WebSettings): (deviceId: string) => string | null {
    const base = web.enabled ? web.externalUrl : null;
    return (deviceId) => (base === null ? null : `${base}#/device/${encodeURIComponent(deviceId)}`);
}
