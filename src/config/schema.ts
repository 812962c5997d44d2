import {z} from 'zod';

import {LOG_LEVELS} from '../util/logger.js';
import {LANGUAGES} from '../util/translations.js';

/**
 * The settings schema: defaults, types and limits for every key. The core's sections live here; each
 * family brings its own section, and `assembleSettingsSchema` puts them together. The settings
 * file, the `FOGBRIDGE_…` environment, CLI flags and the add-on options are all checked against the
 * result, and unknown keys are errors so that a typo cannot silently fall back to a default.
 */

/** Building blocks the families' sections share. */
export const port = z.number().int().min(1).max(65535);
export const nullablePort = port.nullable();
export const ipv4 = z.union([z.ipv4(), z.literal('0.0.0.0')]);
export const hostName = z
    .string()
    .regex(/^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/, 'a bare host name (no scheme, no port)');

const haMqttSchema = z.strictObject({
    /** `mqtt://host:1883` or `mqtts://…`; null serves the Home Assistant side from an embedded broker. */
    url: z.string().regex(/^(mqtts?|wss?):\/\/./, 'an mqtt://, mqtts://, ws:// or wss:// URL').nullable().default(null),
    username: z.string().optional(),
    password: z.string().optional(),
    clientId: z.string().min(1).max(128).default('fogbridge'),
    /** Paths to PEM files for a TLS broker. */
    ca: z.string().optional(),
    cert: z.string().optional(),
    key: z.string().optional(),
    rejectUnauthorized: z.boolean().default(true),
    keepaliveSeconds: z.number().int().min(5).max(3600).default(60),
});

const haSchema = z.strictObject({
    mqtt: haMqttSchema.prefault({}),
    /** Where the embedded broker listens when `ha.mqtt.url` is null. */
    embeddedBroker: z
        .strictObject({
            host: z.string().default('127.0.0.1'),
            port: port.default(1883),
        })
        .prefault({}),
    baseTopic: z.string().regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/, 'a topic without wildcards').default('fogbridge'),
    discoveryPrefix: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and -').default('homeassistant'),
    birthTopic: z.string().min(1).default('homeassistant/status'),
    /** After Home Assistant's birth message, re-publish after a random delay in this range (ms). */
    birthDelayMinMs: z.number().int().min(0).max(60_000).default(1000),
    birthDelayMaxMs: z.number().int().min(0).max(120_000).default(5000),
    /** Messages per second a replay may send of discovery and pictures (HA asks for gentle bursts). */
    replayRatePerSecond: z.number().int().min(10).max(100_000).default(200),
    /**
     * Messages per second a replay may send of availability and states, alongside the discovery:
     * what HA shows is current again within seconds of a broker restart (10,000 plugs: 20,000 messages).
     */
    stateReplayRatePerSecond: z.number().int().min(10).max(100_000).default(20_000),
    /** Device→HA queue: the latest message per topic is kept, up to this many topics (10,000 devices need 30,000). */
    queueCapacity: z.number().int().min(100).max(1_000_000).default(50_000),
    /** Per-device budget of state messages, refilled per second, before the device is throttled. */
    deviceRatePerSecond: z.number().min(1).max(10_000).default(20),
    deviceBurst: z.number().int().min(1).max(100_000).default(100),
});

/**
 * Device-side flood control (`edge/flood-guard.ts`): a family's section carries one for its own
 * listener (`<family>.flood`), `edge.flood` is the device MQTT broker's, per client.
 */
export const floodGuardSettingsSchema = z
    .strictObject({
        /** Sustained packets per second per device; real devices send well under 1. */
        packetsPerSecond: z.number().min(1).max(1_000_000).default(100),
        burst: z.number().int().min(1).max(1_000_000).default(200),
        /** Drops within one flood after which the device is cut off. */
        cutOffAfterDrops: z.number().int().min(1).max(10_000_000).default(500),
        backoffSeconds: z.number().min(0.1).max(3600).default(60),
    })
    .prefault({});

export type FloodGuardSettings = z.infer<typeof floodGuardSettingsSchema>;

const edgeSchema = z.strictObject({
    /** Address the device-facing listeners (MQTT over TLS, the shared TLS port) bind to. */
    host: z.string().default('0.0.0.0'),
    /** Device MQTT over TLS (RainMaker nodes built for 8883, Ecovacs bots); null turns it off. */
    mqttTlsPort: nullablePort.default(8883),
    /** Used instead of `mqttTlsPort` when binding it is refused (EACCES: a privileged port without root). */
    mqttTlsFallbackPort: nullablePort.default(18883),
    /**
     * Plain, unencrypted device MQTT: off unless set (e.g. 1884 — 1883 is usually Home Assistant's
     * broker). For Ecovacs bots and tools that speak plain MQTT only; anyone on the network can
     * connect, and a family whose policy requires a client certificate (RainMaker) refuses them.
     */
    mqttPlainPort: nullablePort.default(null),
    /**
     * The shared TLS port, split by ALPN, SNI and first byte between the families' routes (RainMaker
     * MQTT with ALPN `x-amzn-mqtt-ca`, HTTPS). null turns it off.
     */
    tlsPort: nullablePort.default(443),
    /** Used instead of `tlsPort` when binding it is refused (not root, no CAP_NET_BIND_SERVICE). */
    tlsFallbackPort: nullablePort.default(8443),
    /** Open connections per listener; about twice the devices you expect. */
    maxConnections: z.number().int().min(1).max(100_000).default(2048),
    /** DNS names and IP addresses for the server certificate, besides the names the families add. */
    serverCertHosts: z.array(hostName).default(['localhost']),
    serverCertIps: z.array(z.union([z.ipv4(), z.ipv6()])).default(['127.0.0.1']),
    /** Largest MQTT packet after CONNACK for a family that sets no cap of its own. */
    maxPacketBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(64 * 1024),
    /** Longest keepalive a device may ask for; longer requests are shortened to this. */
    keepaliveLimitSeconds: z.number().int().min(10).max(3600).default(300),
    /** Publishes per second per device MQTT client; beyond it they are dropped before aedes parses them. */
    flood: floodGuardSettingsSchema,
});

/** The web UI: Home Assistant's ingress port in the add-on, http://127.0.0.1:8099 in a plain install. */
const webSchema = z.strictObject({
    enabled: z.boolean().default(true),
    /** 0.0.0.0 in the add-on, where the ingress proxy connects over the Supervisor's network. */
    host: z.string().default('127.0.0.1'),
    port: port.default(8099),
    /** Only Home Assistant's ingress proxy (and loopback) may connect: the add-on's setting, where HA signs users in. */
    ingressOnly: z.boolean().default(false),
    /**
     * Where Home Assistant users open this UI: each device's page there is its HA device page's
     * "Visit" link. `http(s)://…` in a plain install, `homeassistant://hassio/ingress/<slug>` in the
     * add-on; null: no link.
     */
    externalUrl: z
        .string()
        .regex(/^(https?|homeassistant):\/\/[^\s#]+$/, 'an http://, https:// or homeassistant:// URL without a #fragment')
        .nullable()
        .default(null),
});

const coreSections = {
    /** Registry, CA, keys and firmware files live here. */
    dataDir: z.string().min(1).default('./data'),
    logLevel: z.enum(LOG_LEVELS).default('info'),
    /** Of the web UI and of the entity names published to Home Assistant. */
    language: z.enum(LANGUAGES).default('en'),
    /** Start simulated devices too, so a newcomer sees something at once. */
    demo: z.boolean().default(false),
    ha: haSchema.prefault({}),
    edge: edgeSchema.prefault({}),
    web: webSchema.prefault({}),
};

export const coreSettingsSchema = z.strictObject(coreSections);
export type CoreSettings = z.infer<typeof coreSettingsSchema>;
export type HaSettings = CoreSettings['ha'];
export type EdgeSettings = CoreSettings['edge'];
export type WebSettings = CoreSettings['web'];

/** A family's section of assembled settings; they must have been assembled with that family. */
export function settingsSection(settings: CoreSettings & Record<string, unknown>, id: string): unknown {
    if (!(id in settings)) throw new Error(`the settings have no "${id}" section: assemble them with every family the bridge runs`);
    return settings[id];
}

/** What a family contributes to the settings: its section, keyed by its id. */
export interface SettingsSection<Id extends string = string, Schema extends z.ZodType = z.ZodType> {
    readonly id: Id;
    readonly settings: Schema;
    /**
     * Keys of the section that moved elsewhere, and the dotted path they moved to (e.g.
     * `mqttPort` → `edge.mqttTlsPort`): still read, with a deprecation warning.
     */
    readonly renamedKeys?: Readonly<Record<string, string>>;
}

/** A setting that moved: where it was and where it is now, each as a path of keys. */
export interface RenamedKey {
    from: string[];
    to: string[];
}

/** Core settings that moved. */
const CORE_RENAMED_KEYS: readonly RenamedKey[] = [{from: ['web', 'language'], to: ['language']}];

/** The renamed keys of an assembled schema, for the loader. */
export const renamedKeysOfSchema = z.registry<{renamedKeys: RenamedKey[]}>();

type SectionShape<Sections extends readonly SettingsSection[]> = {[S in Sections[number] as S['id']]: S['settings']};

/** The full schema: the core's sections and one section per family, each defaulted when absent. */
export function assembleSettingsSchema<const Sections extends readonly SettingsSection[]>(sections: Sections) {
    const shape: Record<string, z.ZodType> = {...coreSections};
    const renamedKeys: RenamedKey[] = [...CORE_RENAMED_KEYS];
    for (const section of sections) {
        if (section.id in shape) throw new Error(`settings section "${section.id}" is defined twice`);
        shape[section.id] = section.settings;
        for (const [key, to] of Object.entries(section.renamedKeys ?? {})) renamedKeys.push({from: [section.id, key], to: to.split('.')});
    }
    const schema = z.strictObject(shape as typeof coreSections & SectionShape<Sections>);
    renamedKeysOfSchema.add(schema, {renamedKeys});
    return schema;
}
