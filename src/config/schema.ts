import {z} from 'zod';

import {LOG_LEVELS} from '../util/logger.js';
import {cloudKeyProblem} from '../families/miio/codec.js';

/**
 * The one settings schema: defaults, types and limits for every key. The settings file, the
 * `FOGBRIDGE_…` environment, CLI flags and the add-on options are all checked against it, and
 * unknown keys are errors so that a typo cannot silently fall back to a default.
 */

const port = z.number().int().min(1).max(65535);
const ipv4 = z.union([z.ipv4(), z.literal('0.0.0.0')]);

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
    /** Messages per second the publisher may send when it replays everything (HA asks for gentle bursts). */
    replayRatePerSecond: z.number().int().min(10).max(100_000).default(200),
    /** Device→HA queue: the latest message per topic is kept, up to this many topics. */
    queueCapacity: z.number().int().min(100).max(1_000_000).default(10_000),
    /** Per-device budget of state messages, refilled per second, before the device is throttled. */
    deviceRatePerSecond: z.number().min(1).max(10_000).default(20),
    deviceBurst: z.number().int().min(1).max(100_000).default(100),
});

const icomenSchema = z.strictObject({
    enabled: z.boolean().default(true),
    host: z.string().default('0.0.0.0'),
    balancerPort: port.default(7531),
    sessionPort: port.default(7533),
    /** IPv4 address sent to plugs in the 0x41 answer; null: the local address the plug connected to. */
    advertiseAddress: ipv4.nullable().default(null),
    /**
     * A plug silent for longer than this is offline and its connection is closed (it sends a
     * heartbeat about every 30 s, and reconnects by itself). Fractions allowed for tests.
     */
    offlineAfterSeconds: z.number().min(1).max(3600).default(90),
    /**
     * A connection must complete its first frame, and each later frame once it has begun, within
     * this time; a plug trickling bytes is closed rather than held open.
     */
    frameTimeoutSeconds: z.number().min(0.5).max(600).default(15),
    /** Also publish the topics of kroseneg/icomen-mqtt-bridge (`icomen/cmnd/<mac>/POWER`, …). */
    compatTopics: z.boolean().default(false),
    compatBaseTopic: z.string().regex(/^[A-Za-z0-9_-]+$/).default('icomen'),
    maxConnections: z.number().int().min(1).max(100_000).default(1024),
    /** Plugs the registry may hold: the protocol has no login, so anyone on the LAN could invent MACs. */
    maxPlugs: z.number().int().min(1).max(10_000).default(64),
});

/** A miIO device the bridge may talk to: its did and the 16-character cloud key from device.conf. */
const miioDeviceSchema = z.strictObject({
    /** The device id (`did=` in device.conf), decimal; a number or a string of digits. */
    did: z
        .union([z.number(), z.string().regex(/^\d+$/, 'decimal digits')])
        .transform(Number)
        .pipe(z.number().int().min(1, 'a did is at least 1').max(0xfffffffe, 'a did fits in 32 bits and is not 0xFFFFFFFF')),
    /** The cloud key (`key=` in device.conf): 16 ASCII characters. A 32-hex local token is refused. */
    key: z.string().superRefine((value, context) => {
        const problem = cloudKeyProblem(value);
        if (problem) context.addIssue({code: 'custom', message: problem});
    }),
    name: z.string().min(1).max(64).optional(),
    /** Only needed until the device has told its model in `_otc.info`, e.g. `roborock.vacuum.s5`. */
    model: z.string().regex(/^[a-z0-9]+\.[a-z0-9_]+\.[a-z0-9_]+$/, 'a miIO model such as roborock.vacuum.s5').optional(),
});

const miioSchema = z.strictObject({
    enabled: z.boolean().default(true),
    /** UDP address of the cloud link (`ot.io.mi.com` redirected here). */
    host: z.string().default('0.0.0.0'),
    port: port.default(8053),
    /**
     * The address sent to devices in `_otc.info` and `/gslb`. null: the local address that routes to
     * the device (the one it already reaches us on). Set it when devices reach us through DNAT
     * (e.g. 203.0.113.1) and must keep using that address.
     */
    advertiseAddress: ipv4.nullable().default(null),
    devices: z.array(miioDeviceSchema).max(1000).default([]),
    gslb: z
        .strictObject({
            /** Answer the HTTP-DNS `GET /gslb?dm=ot.io.mi.com` newer `miio_client`s send before connecting. */
            enabled: z.boolean().default(true),
            host: z.string().default('0.0.0.0'),
            /** Devices ask on port 80 (the HTTP-DNS IPs 110.43.0.83/85 must be NATed to us). */
            port: port.default(80),
            /** Used when binding `port` is refused (not root, no CAP_NET_BIND_SERVICE): then NAT 80 to this port. */
            fallbackPort: port.default(8080),
            /** Hosts listed in the answer; empty: `advertiseAddress`, else the address the request came in on. */
            hosts: z.array(z.ipv4()).max(16).default([]),
        })
        .prefault({}),
    /** A device silent for longer than this is offline (it sends a keepalive about every 15 s). */
    offlineAfterSeconds: z.number().int().min(1).max(3600).default(60),
    /** How often to ask each connected device for its status (pushes are applied as they arrive too). */
    pollIntervalSeconds: z.number().int().min(5).max(3600).default(30),
    /** Vacuum consumables change slowly: polled this often. */
    consumablePollMinutes: z.number().int().min(1).max(1440).default(10),
    /** How long to wait for the device's answer to one of our requests. */
    requestTimeoutMs: z.number().int().min(200).max(60_000).default(2000),
    /** Datagrams larger than this are dropped before any decoding. */
    maxDatagramBytes: z.number().int().min(256).max(65_507).default(16_384),
    /** Hello (time request) answers per second, all addresses together; floods beyond are dropped. */
    helloRatePerSecond: z.number().int().min(1).max(100_000).default(50),
    /** Answer to the device's `_sync.getctrycode`. */
    countryCode: z.string().regex(/^[A-Z]{2}$/).default('DE'),
});

const hostName = z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/, 'a bare host name (no scheme, no port)');
const nullablePort = port.nullable();

const rainmakerSchema = z.strictObject({
    enabled: z.boolean().default(true),
    /** Address the node-facing listeners (MQTT 8883, the shared 443, OTA downloads) bind to. */
    host: z.string().default('0.0.0.0'),
    /**
     * The bare host name nodes dial (written into their fctry `mqtt_host` when claimed, used in OTA
     * URLs). Never `host:port`: the firmware uses it verbatim as a host name (rainmaker.md §14.2).
     */
    mqttHost: hostName.default('fogbridge.local'),
    /** More DNS names and IP addresses for the server certificate, besides `mqttHost`. */
    serverCertHosts: z.array(hostName).default(['localhost']),
    serverCertIps: z.array(z.union([z.ipv4(), z.ipv6()])).default(['127.0.0.1']),
    /** Mutual-TLS MQTT for firmware built with CONFIG_ESP_RMAKER_MQTT_PORT_8883; null disables it. */
    mqttPort: nullablePort.default(8883),
    /** Used instead of `mqttPort` when binding it is refused (EACCES: a privileged port without root). */
    mqttFallbackPort: nullablePort.default(18883),
    /**
     * The shared TLS port stock firmware dials with ALPN `x-amzn-mqtt-ca`; routed by SNI/ALPN so
     * other families can serve HTTPS there too. null disables it.
     */
    alpnPort: nullablePort.default(443),
    /** Used instead of `alpnPort` when binding it is refused (not root, no CAP_NET_BIND_SERVICE). */
    alpnFallbackPort: nullablePort.default(8443),
    /** The self-claim HTTPS API (claim-server.ts) for firmware built with a claim URL pointing here; null disables it. */
    claimPort: nullablePort.default(8444),
    /** Path prefix of the firmware's CONFIG_ESP_RMAKER_CLAIM_SERVICE_BASE_URL, e.g. `/rainmaker`. */
    claimBasePath: z.string().regex(/^(\/[A-Za-z0-9._-]+)*$/, 'empty or /a/path').default(''),
    /** Self-claim any MAC, not only approved or host-claimed ones: for an isolated, trusted LAN only. */
    claimAcceptAnyMac: z.boolean().default(false),
    /** HTTPS downloads of OTA images offered to nodes (`https://<mqttHost>:<otaPort>/ota/…`). */
    otaPort: port.default(8445),
    /** Firmware images `<project_name>-<version>.bin`; null: `<dataDir>/rainmaker/firmware`. */
    firmwareDir: z.string().min(1).nullable().default(null),
    /** The node keeps alive every 120 s (rainmaker.md §2); the broker refuses longer intervals. */
    keepaliveLimitSeconds: z.number().int().min(10).max(3600).default(120),
    /** Largest MQTT packet after CONNACK: node configs run to several kB, params grow with the app. */
    maxPacketBytes: z.number().int().min(16 * 1024).max(4 * 1024 * 1024).default(256 * 1024),
    /** Per listener; about twice the nodes you expect. */
    maxConnections: z.number().int().min(1).max(100_000).default(2048),
    /** RainMaker does not define which Direction value is forward (rainmaker.md §10.1). */
    fanForwardDirection: z.union([z.literal(0), z.literal(1)]).default(0),
    /** RainMaker temperatures carry no unit; the SDK examples report °C. */
    temperatureUnit: z.enum(['°C', '°F']).default('°C'),
});

export const settingsSchema = z.strictObject({
    /** Registry, CA, keys and firmware files live here. */
    dataDir: z.string().min(1).default('./data'),
    logLevel: z.enum(LOG_LEVELS).default('info'),
    /** Start simulated devices too, so a newcomer sees something at once. */
    demo: z.boolean().default(false),
    ha: haSchema.prefault({}),
    icomen: icomenSchema.prefault({}),
    miio: miioSchema.prefault({}),
    rainmaker: rainmakerSchema.prefault({}),
});

export type Settings = z.infer<typeof settingsSchema>;
export type SettingsInput = z.input<typeof settingsSchema>;
