import {z} from 'zod';

import {hostName, nullablePort, port} from '../../config/schema.js';

/** The `rainmaker` settings section. */
export const rainmakerSettingsSchema = z
    .strictObject({
        enabled: z.boolean().default(true),
        /** Address the family's own HTTPS listeners (OTA downloads, self-claim) bind to; MQTT is the edge's (`edge.host`). */
        host: z.string().default('0.0.0.0'),
        /**
         * The bare host name nodes dial (written into their fctry `mqtt_host` when claimed, used in OTA
         * URLs). Never `host:port`: the firmware uses it verbatim as a host name (rainmaker.md §14.2).
         */
        mqttHost: hostName.default('fogbridge.local'),
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
        /** RainMaker does not define which Direction value is forward (rainmaker.md §10.1). */
        fanForwardDirection: z.union([z.literal(0), z.literal(1)]).default(0),
        /** RainMaker temperatures carry no unit; the SDK examples report °C. */
        temperatureUnit: z.enum(['°C', '°F']).default('°C'),
    })
    .prefault({});

export type RainmakerSettings = z.infer<typeof rainmakerSettingsSchema>;
