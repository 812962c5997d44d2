/**
 * The miIO cloud conversation (protocol note miio.md §3.2, §3.3): which device request gets which
 * answer. `_otc.info` learns where the cloud is, the `_sync.*` questions get the answers devices
 * settle for, and every other request is acknowledged with its own id, then handed to the adapter.
 *
 * The packets, sessions and our own requests are the socket's (socket.ts): this is Valetudo's
 * Dummycloud to its MiioSocket.
 */
import dgram from 'node:dgram';

import {createLogger, type Logger} from '../../util/logger.js';
import {isPlainObject} from '../../util/plain-object.js';
import type {MapUploads} from './map/map-uploads.js';
import {type MiioDeviceRequest, type MiioSession, MiioSocket, type MiioSocketHooks, type MiioSocketOptions} from './socket.js';

export interface MiioCloudOptions extends MiioSocketOptions {
    /** Sent in `_otc.info`; null: the local address that routes to the device. */
    advertiseAddress: string | null;
    countryCode: string;
    /** Where robots upload maps; null: maps are off and the upload-URL requests are refused. */
    mapUploads: MapUploadDesk | null;
}

/** Hands out map-upload URLs (`MapUploads`) on the HTTP port robots reach. */
export interface MapUploadDesk {
    answer: MapUploads['answer'];
    /** The bound upload port; null while it is not listening (then the robot is refused). */
    port(): number | null;
}

/** The socket's hooks, plus what the device asked of the cloud; guarded like them. */
export interface MiioCloudHooks extends MiioSocketHooks {
    onOtcInfo(session: MiioSession, params: Record<string, unknown>): void;
    /** A device request other than `_otc.info`, after it was acknowledged. */
    onDeviceRequest(session: MiioSession, method: string, params: unknown): void;
}

export type MiioAnswer = {result: unknown} | {error: {code: number; message: string}};

/** Methods the device sends that want no answer (miio.md §3.3: answering `dev_auth` leads to timeouts). */
const NO_REPLY_METHODS = new Set(['ali_lic', 'vendor_lic', 'lwt', '_sync.update_vacuum_mapinfo', 'dev_auth']);
const PRESIGNED_URL_METHODS = new Set(['_sync.gen_presigned_url', '_sync.gen_tmp_presigned_url', '_sync.batch_gen_room_up_url']);

/** The answer to a device request other than `_otc.info`; null when the device wants none. */
export function answerFor(method: string, countryCode: string): MiioAnswer | null {
    if (method === '_sync.getctrycode') return {result: {ctry_code: countryCode}};
    if (method === '_sync.getAppData') return {error: {code: -6, message: 'not set app data'}};
    // Maps are off (or their port is not listening): the robot gets the same refusal dummycloud sends.
    if (PRESIGNED_URL_METHODS.has(method)) return {error: {code: -7, message: 'unknow device'}};
    if (NO_REPLY_METHODS.has(method)) return null;
    return {result: 'ok'};
}

/** The `_otc.info` result: this cloud as the only server to use and to probe, with Valetudo's timing. */
export function otcInfoAnswer(server: {ip: string; port: number}): MiioAnswer {
    return {result: {otc_list: [server], otc_test: {list: [server], interval: 1800, firsttest: 1193}}};
}

export class MiioCloud {
    private readonly socket: MiioSocket;
    private readonly routeCache = new Map<string, string>();

    constructor(
        private readonly options: MiioCloudOptions,
        private readonly hooks: MiioCloudHooks,
        // One logger for socket and conversation, under the namespace their lines have always carried.
        private readonly log: Logger = createLogger('miio:server'),
    ) {
        this.socket = new MiioSocket(options, hooks, (session, request) => this.answer(session, request), log);
    }

    start(): Promise<void> {
        return this.socket.start();
    }

    stop(): Promise<void> {
        return this.socket.stop();
    }

    get port(): number {
        return this.socket.port;
    }

    /** Counts of what could not be tied to a device (hellos, garbage, floods). */
    get stats(): MiioSocket['stats'] {
        return this.socket.stats;
    }

    session(did: number): MiioSession | undefined {
        return this.socket.session(did);
    }

    /** Sends `{id, method, params}` to the device and resolves with its `result`. */
    request(did: number, method: string, params: unknown, timeoutMs?: number): Promise<unknown> {
        return this.socket.request(did, method, params, timeoutMs);
    }

    private answer(session: MiioSession, {id, method, params}: MiioDeviceRequest): void {
        if (method === '_otc.info') {
            this.answerOtcInfo(session, id);
            this.hooks.onOtcInfo(session, isPlainObject(params) ? params : {});
            return;
        }
        if (PRESIGNED_URL_METHODS.has(method) && this.options.mapUploads?.port()) {
            this.answerUploadUrls(session, id, method, params, this.options.mapUploads);
            this.hooks.onDeviceRequest(session, method, params);
            return;
        }
        const answer = answerFor(method, this.options.countryCode);
        if (answer) this.socket.sendMessage(session, {id, ...answer});
        this.hooks.onDeviceRequest(session, method, params);
    }

    private answerOtcInfo(session: MiioSession, id: number): void {
        this.advertisedAddress(session.address)
            .then((ip) => this.socket.sendMessage(session, {id, ...otcInfoAnswer({ip, port: this.port})}))
            // Detached from the datagram handler's try/catch: an unhandled rejection would end the process.
            .catch((error: unknown) => this.log.limited('error', 'otc', `device ${session.did}: answering _otc.info failed: ${(error as Error).message}`));
    }

    /** Upload URLs on our map port, at the address the robot reaches us on (miio.md §3.3). */
    private answerUploadUrls(session: MiioSession, id: number, method: string, params: unknown, desk: MapUploadDesk): void {
        this.advertisedAddress(session.address)
            .then((ip) => this.socket.sendMessage(session, {id, result: desk.answer(session.did, session.address, `http://${ip}:${desk.port()}`, method, params)}))
            .catch((error: unknown) => this.log.limited('error', 'map-url', `device ${session.did}: answering ${method} failed: ${(error as Error).message}`));
    }

    /** The address devices are told to use: configured, the bound one, or the local end of the route to the device. */
    advertisedAddress(deviceAddress: string): Promise<string> {
        if (this.options.advertiseAddress) return Promise.resolve(this.options.advertiseAddress);
        if (this.options.host !== '0.0.0.0') return Promise.resolve(this.options.host);
        const cached = this.routeCache.get(deviceAddress);
        if (cached) return Promise.resolve(cached);
        return localAddressTowards(deviceAddress).then((address) => {
            if (this.routeCache.size > 1024) this.routeCache.clear();
            this.routeCache.set(deviceAddress, address);
            return address;
        });
    }
}

/** The local address the kernel would send from to reach `remote` (a connected UDP socket sends nothing). */
function localAddressTowards(remote: string): Promise<string> {
    return new Promise((resolve) => {
        const probe = dgram.createSocket('udp4');
        probe.once('error', () => {
            probe.close();
            resolve('127.0.0.1');
        });
        probe.connect(8053, remote, () => {
            const address = probe.address().address;
            probe.close();
            resolve(address);
        });
    });
}
