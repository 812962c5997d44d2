import {z} from 'zod';

import {LOG_LEVELS} from '../core/logger.js';

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
    /** A plug silent for longer than this is offline (it sends a heartbeat about every 30 s). */
    offlineAfterSeconds: z.number().int().min(5).max(3600).default(90),
    /** A connection that has not sent one complete frame in this time is closed. */
    frameTimeoutSeconds: z.number().int().min(1).max(600).default(15),
    /** Also publish the topics of kroseneg/icomen-mqtt-bridge (`icomen/cmnd/<mac>/POWER`, …). */
    compatTopics: z.boolean().default(false),
    compatBaseTopic: z.string().regex(/^[A-Za-z0-9_-]+$/).default('icomen'),
    maxConnections: z.number().int().min(1).max(100_000).default(1024),
});

const miioSchema = z.strictObject({
    enabled: z.boolean().default(true),
    host: z.string().default('0.0.0.0'),
    port: port.default(8053),
});

const rainmakerSchema = z.strictObject({
    enabled: z.boolean().default(true),
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
