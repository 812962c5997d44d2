import {z} from 'zod';

import {ipv4, nullablePort, port} from '../../config/schema.js';

/** The `ecovacs` settings section. */
export const ecovacsSettingsSchema = z
    .strictObject({
        enabled: z.boolean().default(true),
        /** Address the plain REST port binds to (the shared TLS port is the edge's: `edge.host`). */
        host: z.string().default('0.0.0.0'),
        /** Plain-HTTP REST (the same route table as HTTPS on the shared TLS port): `lookup.do` for XMPP bots, HA's self-hosted mode. null disables it. */
        restPort: nullablePort.default(8007),
        /**
         * The address `lookup.do` sends XMPP bots to. null: the local address the request came in
         * on (the one the bot already reaches us at).
         */
        advertiseAddress: ipv4.nullable().default(null),
        /** The XMPP server's port (older bots and app-side XMPP clients), which `lookup.do` names. */
        xmppPort: port.default(5223),
        xmppHost: z.string().default('0.0.0.0'),
        xmppMaxConnections: z.number().int().min(1).max(100_000).default(1024),
        /** The server pings every connection this often (Bumper: 30 s); one silent for three times as long is closed. */
        xmppPingSeconds: z.number().int().min(5).max(3600).default(30),
        /**
         * How long a relayed command waits for the bot before the client gets errno 500. Clients give
         * up after 60 s (deebot-client), so this must end well before.
         */
        relayTimeoutMs: z.number().int().min(1000).max(50_000).default(10_000),
        /** Relayed commands waiting for bots at once; more are answered errno 500 at once. */
        maxPendingRelays: z.number().int().min(1).max(100_000).default(1000),
        /**
         * Commands for a did no bot ever registered with: 4200 ("endpoint offline", clients mark the
         * bot unavailable) or 500 (Bumper's "requested bot is not supported").
         */
        unknownBotErrno: z.union([z.literal(4200), z.literal(500)]).default(4200),
        /**
         * How long a login lasts. deebot-client logs in again at 99 % of it (the `last` field), so a
         * short one reconnects its MQTT session as often.
         */
        sessionLifetimeDays: z.number().int().min(1).max(365).default(30),
        /** REST request bodies larger than this are refused unread. */
        maxBodyBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(256 * 1024),
        /** JSON nested deeper than this is refused before parsing. */
        maxJsonDepth: z.number().int().min(4).max(512).default(32),
        /** How often connected bots are asked for their battery (deebot-client's availability check). */
        pollIntervalSeconds: z.number().int().min(10).max(3600).default(60),
        /** MQTT bots' live maps: read through the helper bot, drawn, published as the vacuum's `map` image. */
        maps: z
            .strictObject({
                enabled: z.boolean().default(true),
                /** A new picture at most this often per bot. */
                renderIntervalSeconds: z.number().int().min(1).max(300).default(5),
                /** While a bot cleans its map is read again this often (only changed pieces are fetched). */
                refreshIntervalSeconds: z.number().int().min(2).max(600).default(10),
            })
            .prefault({}),
        /** Consumables change slowly: asked this often. */
        lifespanPollMinutes: z.number().int().min(1).max(1440).default(30),
    })
    .prefault({});

export type EcovacsSettings = z.infer<typeof ecovacsSettingsSchema>;
