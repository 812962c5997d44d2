import {z} from 'zod';

import {hostName, nullablePort, port} from '../../config/schema.js';

/** The `rainmaker` settings section. */
export const rainmakerSettingsSchema = z
    .strictObject({
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
    })
    .prefault({});

export type RainmakerSettings = z.infer<typeof rainmakerSettingsSchema>;
