import {z} from 'zod';

import {floodGuardSettingsSchema, ipv4, port} from '../../config/schema.js';
import {cloudKeyProblem} from './codec.js';

/** A miIO device the bridge may talk to: its did and the 16-character cloud key from device.conf. */
export const miioDeviceSchema = z.strictObject({
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
    /**
     * Vacuum room names by segment id (`{"16": "Kitchen"}`): the robot knows only ids, its app kept
     * the names in the cloud. Rooms not named here are "Room <id>" until renamed in the web UI.
     */
    rooms: z.record(z.string().regex(/^\d{1,4}$/, 'a segment id such as "16"'), z.string().trim().min(1).max(64)).optional(),
    /** Only needed until the device has told its model in `_otc.info`, e.g. `roborock.vacuum.s5`. */
    model: z.string().regex(/^[a-z0-9]+\.[a-z0-9_]+\.[a-z0-9_]+$/, 'a miIO model such as roborock.vacuum.s5').optional(),
});

/** The `miio` settings section. */
export const miioSettingsSchema = z
    .strictObject({
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
        devices: z.array(miioDeviceSchema).max(10_000).default([]),
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
        maps: z
            .strictObject({
                /** Roborock live maps: answer the robots' upload-URL requests, render what they upload. */
                enabled: z.boolean().default(true),
                host: z.string().default('0.0.0.0'),
                /** The plain HTTP port robots upload their maps to (Valetudo uses 8079; 8054 sits next to the cloud's 8053). */
                port: port.default(8054),
                /** Larger uploads are refused (a map is a few hundred KiB; Valetudo caps at 4 MiB). */
                maxUploadBytes: z.number().int().min(65_536).max(16 * 1024 * 1024).default(4 * 1024 * 1024),
                /** A new picture at most this often per robot; uploads in between wait, the newest wins. */
                renderIntervalSeconds: z.number().int().min(1).max(300).default(5),
                /** While a robot cleans (or has sent no map yet) it is asked for a fresh map this often. */
                freshMapIntervalSeconds: z.number().int().min(2).max(600).default(10),
            })
            .prefault({}),
        /**
         * A device with a cloud key silent this long (it sends a keepalive about every 15 s) is asked
         * whether it is still there; no answer within `requestTimeoutMs` shows it offline, so a device
         * that leaves is offline within 20 s while one lost keepalive costs one question, not a flap.
         */
        probeAfterSeconds: z.number().int().min(1).max(3600).default(16),
        /** A device silent for longer than this is offline, asked or not (devices without a key cannot be asked). */
        offlineAfterSeconds: z.number().int().min(1).max(3600).default(60),
        /** How often to ask each connected device for its status (pushes are applied as they arrive too). */
        pollIntervalSeconds: z.number().int().min(5).max(3600).default(30),
        /** Vacuum consumables change slowly: polled this often. */
        consumablePollMinutes: z.number().int().min(1).max(1440).default(10),
        /** How long to wait for the device's answer to one of our requests. */
        requestTimeoutMs: z.number().int().min(200).max(60_000).default(2000),
        /** Datagrams larger than this are dropped before any decoding. */
        maxDatagramBytes: z.number().int().min(256).max(65_507).default(16_384),
        /**
         * Hello (time request) answers per second, all addresses together; floods beyond are dropped.
         * 10,000 devices starting at once (a power cut) are all answered within 10 s.
         */
        helloRatePerSecond: z.number().int().min(1).max(100_000).default(1000),
        /** Per-device packet budget (counted once a packet's checksum proves the did); a device that keeps exceeding it is ignored for a while. */
        flood: floodGuardSettingsSchema,
        /** Answer to the device's `_sync.getctrycode`. */
        countryCode: z.string().regex(/^[A-Z]{2}$/).default('DE'),
    })
    .prefault({});

export type MiioSettings = z.infer<typeof miioSettingsSchema>;
export type MiioDeviceSetting = z.infer<typeof miioDeviceSchema>;
