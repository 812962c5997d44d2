import {z} from 'zod';

import {floodGuardSettingsSchema, ipv4, port} from '../../config/schema.js';

/** The `icomen` settings section. */
export const icomenSettingsSchema = z
    .strictObject({
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
        /**
         * Connections per listener. 10,000 plugs hold 10,000 session connections; the balancer's are
         * brief. Each one is a file descriptor: `ulimit -n` must allow both listeners' worth.
         */
        maxConnections: z.number().int().min(1).max(200_000).default(12_000),
        /**
         * Plugs the registry may hold: the protocol has no login, so anyone on the LAN could invent
         * MACs; beyond this, new plugs are refused with a log line.
         */
        maxPlugs: z.number().int().min(1).max(100_000).default(10_000),
        /** Per-plug packet budget; a plug that keeps exceeding it is disconnected for a while. */
        flood: floodGuardSettingsSchema,
    })
    .prefault({});

export type IcomenSettings = z.infer<typeof icomenSettingsSchema>;
