/**
 * Simulated miIO devices that talk to a cloud (the bridge) exactly as a real `miio_client` does
 * (protocol note miio.md §3.1): hello, `_otc.info`, keepalives every 15 s, pushes on change, and
 * answers to the cloud's requests. A Roborock S5-like vacuum drains its battery while cleaning,
 * cleans single rooms of its small flat and docks when sent home; a chuangmi plug switches.
 */
import {createHash, randomBytes} from 'node:crypto';
import dgram from 'node:dgram';
import http from 'node:http';
import {gzipSync} from 'node:zlib';

import {createLogger} from '../util/logger.js';
import {isPlainObject} from '../util/plain-object.js';
import {
    decodePacket,
    encodeMessage,
    encodePacket,
    cloudHello,
    HEADER_LENGTH,
    keysFromCloudKey,
    type MiioKeys,
    type MiioMessage,
    readHeader,
} from '../families/miio/codec.js';
import {encodeRawRoborockMap, type RoborockFloorPlan} from '../families/miio/map/roborock-map-codec.js';

const log = createLogger('simulate:miio');

export const SIMULATED_MODELS = ['roborock.vacuum.s5', 'chuangmi.plug.m1', 'chuangmi.plug.v1', 'chuangmi.plug.v3'] as const;

export interface MiioSimulatorOptions {
    model: string;
    count?: number;
    /** The cloud (bridge) to talk to. */
    host: string;
    port: number;
    /** dids are didBase, didBase + 1, … */
    didBase?: number;
    /** Cloud keys per device; default: `simulatedCloudKey(did)`. */
    keys?: string[];
    keepaliveIntervalMs?: number;
    /** One simulated second of cleaning/charging per tick. */
    tickMs?: number;
    /** Address to bind the devices' sockets to. */
    bindAddress?: string;
}

/**
 * A stable cloud key for a simulated did, so that `fogbridge simulate miio` and a bridge configured
 * for it agree without copying keys around. Only for simulated devices.
 */
export function simulatedCloudKey(did: number): string {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    const digest = createHash('sha256').update(`fogbridge-simulated-miio:${did}`).digest();
    return [...digest.subarray(0, 16)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

/** The devices `--demo` simulates; the bridge knows their keys when `demo` is on. */
export const DEMO_MIIO_DEVICES = [
    {did: 277_000_001, model: 'roborock.vacuum.s5', name: 'Demo vacuum'},
    {did: 277_000_501, model: 'chuangmi.plug.m1', name: 'Demo plug'},
] as const;

/** `--demo`: the demo devices, talking to this bridge's own UDP port. */
export async function startMiioDemo(settings: {host: string; port: number}): Promise<{stop(): Promise<void>}> {
    const host = settings.host === '0.0.0.0' ? '127.0.0.1' : settings.host;
    const simulators: MiioSimulator[] = [];
    for (const device of DEMO_MIIO_DEVICES) {
        simulators.push(await startMiioSimulator({model: device.model, host, port: settings.port, didBase: device.did}));
    }
    log.info(`started simulated miIO devices: ${DEMO_MIIO_DEVICES.map((device) => `${device.model} ${device.did}`).join(', ')}`);
    return {stop: async () => void (await Promise.all(simulators.map((simulator) => simulator.stop())))};
}

export interface MiioSimulator {
    devices: SimulatedMiioDevice[];
    stop(): Promise<void>;
}

export async function startMiioSimulator(options: MiioSimulatorOptions): Promise<MiioSimulator> {
    const count = options.count ?? 1;
    const didBase = options.didBase ?? 277_000_001;
    const devices: SimulatedMiioDevice[] = [];
    try {
        for (let index = 0; index < count; index++) {
            const did = didBase + index;
            const device = new SimulatedMiioDevice({...options, did, key: options.keys?.[index] ?? simulatedCloudKey(did)});
            devices.push(device);
            await device.start();
        }
    } catch (error) {
        await Promise.all(devices.map((device) => device.stop()));
        throw error;
    }
    return {devices, stop: async () => void (await Promise.all(devices.map((device) => device.stop())))};
}

type Status = Record<string, number>;

/**
 * The simulated vacuum's flat: segment id → the cloud room id `get_room_mapping` pairs it with
 * (a number the vendor app resolves to a name; the robot never knows the name).
 */
export const SIMULATED_ROOMS: readonly [segmentId: number, cloudRoomId: string][] = [
    [16, '1100001'],
    [17, '1100002'],
    [18, '1100003'],
    [19, '1100004'],
];
/** The flat's floor plan as drawn (x right, y down), 60 × 40 pixels of 5 cm: room 16 on the left, 17 top right, 18 bottom right. */
const PLAN = {width: 60, height: 40, top: 480, left: 480};

function plannedCell(x: number, y: number): number {
    if (x === 0 || y === 0 || x === PLAN.width - 1 || y === PLAN.height - 1 || x === 29 || (x > 29 && y === 19)) return 1;
    const room = x < 29 ? 16 : y < 19 ? 17 : 18;
    return (room << 3) | 0b111;
}

/** Millimetres of the centre of drawn pixel (x, y). */
export function simulatedMapPoint(x: number, y: number): {x: number; y: number} {
    return {x: (PLAN.left + x) * 50, y: (PLAN.top + PLAN.height - 1 - y) * 50};
}

/** Where the simulated robot and its charger are drawn. */
export const SIMULATED_ROBOT_PIXEL = {x: 45, y: 10};
export const SIMULATED_CHARGER_PIXEL = {x: 10, y: 30};

/** The simulated vacuum's map: the floor plan, its dock, the robot (drawn at `robot`) and its path from the dock. */
export function simulatedFloorPlan(robot: {x: number; y: number} = SIMULATED_ROBOT_PIXEL): RoborockFloorPlan {
    const pixels = new Uint8Array(PLAN.width * PLAN.height);
    // Stored bottom row first, as the robot stores it.
    for (let y = 0; y < PLAN.height; y++) for (let x = 0; x < PLAN.width; x++) pixels[(PLAN.height - 1 - y) * PLAN.width + x] = plannedCell(x, y);
    const path = [SIMULATED_CHARGER_PIXEL, {x: 10, y: 10}, {x: 28, y: 10}, robot].map(({x, y}) => simulatedMapPoint(x, y));
    return {
        ...PLAN,
        pixels,
        charger: simulatedMapPoint(SIMULATED_CHARGER_PIXEL.x, SIMULATED_CHARGER_PIXEL.y),
        robot: simulatedMapPoint(robot.x, robot.y),
        path,
        virtualWalls: [[simulatedMapPoint(40, 25), simulatedMapPoint(50, 25)]],
    };
}

/** The gzipped upload of the simulated map. */
export function simulatedMapUpload(robot: {x: number; y: number} = SIMULATED_ROBOT_PIXEL): Buffer {
    return gzipSync(encodeRawRoborockMap(simulatedFloorPlan(robot)));
}

/** What the simulator uploads when told to misbehave: not gzip, as an encrypted map of newer firmware. */
const GARBAGE_MAP = Buffer.from('an encrypted map, not gzip');

/** Simulated seconds spent in each room of a room job. */
const TICKS_PER_ROOM = 3;

export class SimulatedMiioDevice {
    readonly did: number;
    readonly key: string;
    readonly model: string;
    /** The local token it reports in `_otc.info` (what HA's local integration would need). */
    readonly localToken = randomBytes(16).toString('hex');
    private readonly keys: MiioKeys;
    private socket: dgram.Socket | null = null;
    private timers: NodeJS.Timeout[] = [];
    /** Device clock = cloud time from the hello answer + elapsed (0 until synced). */
    private clockBase = 0;
    private clockSetAt = 0;
    private nextId = Math.floor(Math.random() * 1_000_000) + 1;
    /** Vacuum status (get_status fields) or plug properties. */
    readonly status: Status;
    plugOn = false;
    usbOn = false;
    readonly consumables = {main_brush_work_time: 36_000, side_brush_work_time: 18_000, filter_work_time: 54_000, sensor_dirty_time: 9_000};
    /** What the cloud asked, in order: tests read it. */
    readonly received: string[] = [];
    helloAnswered = false;
    otcAnswered = false;
    private spotTicks = 0;
    private returnTicks = 0;
    private segmentTicks = 0;
    /** The rooms of the last `app_segment_clean`, in the order asked: tests read it. */
    lastSegmentClean: number[] = [];
    /** Where the robot is drawn on its map; it moves while cleaning. */
    robotPixel = {...SIMULATED_ROBOT_PIXEL};
    /** A test switch: upload bytes that are not a map, as newer firmware's encrypted maps look to us. */
    uploadGarbage = false;
    /** Answers from the bridge to our upload-URL requests, by request id. */
    private readonly urlRequests = new Set<number>();
    /** Map uploads the bridge accepted (HTTP 200): tests wait for them. */
    mapUploads = 0;

    constructor(private readonly options: MiioSimulatorOptions & {did: number; key: string}) {
        this.did = options.did;
        this.key = options.key;
        this.model = options.model;
        this.keys = keysFromCloudKey(options.key);
        this.status = this.isVacuum
            ? {msg_ver: 2, msg_seq: 0, state: 8, battery: 100, clean_time: 0, clean_area: 0, error_code: 0, map_present: 1, in_cleaning: 0, in_returning: 0, in_fresh_state: 1, lab_status: 1, water_box_status: 0, fan_power: 102, dnd_enabled: 0, map_status: 3, lock_status: 0}
            : {temperature: 31};
    }

    get isVacuum(): boolean {
        return this.model.includes('.vacuum.');
    }

    async start(): Promise<void> {
        const socket = dgram.createSocket('udp4');
        socket.on('message', (datagram) => {
            try {
                this.onDatagram(datagram);
            } catch (error) {
                log.limited('warn', `sim:${this.did}`, `simulated ${this.did}: ${(error as Error).message}`);
            }
        });
        socket.on('error', (error) => log.warn(`simulated ${this.did}: socket error ${error.message}`));
        await new Promise<void>((resolve) => socket.bind(0, this.options.bindAddress ?? '127.0.0.1', resolve));
        this.socket = socket;
        this.sendHello();
        // miio_client repeats its hello until the cloud answers.
        this.every(1000, () => {
            if (!this.helloAnswered) this.sendHello();
            else if (!this.otcAnswered) this.sendOtcInfo();
        });
        this.every(this.options.keepaliveIntervalMs ?? 15_000, () => this.sendKeepalive());
        if (this.isVacuum) this.every(this.options.tickMs ?? 1000, () => this.tick());
    }

    async stop(): Promise<void> {
        for (const timer of this.timers) clearInterval(timer);
        this.timers = [];
        const socket = this.socket;
        this.socket = null;
        if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
    }

    /** The socket's local port: tests use it to check where the cloud replies go. */
    get localPort(): number {
        return this.socket?.address().port ?? 0;
    }

    private every(intervalMs: number, action: () => void): void {
        const timer = setInterval(action, intervalMs);
        timer.unref();
        this.timers.push(timer);
    }

    private now(): number {
        if (this.clockBase === 0) return Math.floor(Date.now() / 1000);
        return this.clockBase + Math.floor((Date.now() - this.clockSetAt) / 1000);
    }

    private sendRaw(packet: Buffer): void {
        this.socket?.send(packet, this.options.port, this.options.host);
    }

    private sendHello(): void {
        this.sendRaw(cloudHello());
    }

    sendKeepalive(): void {
        if (!this.helloAnswered) return;
        this.sendRaw(encodePacket(this.keys, null, {did: this.did, stamp: this.now()}));
    }

    private send(message: object): void {
        this.sendRaw(encodeMessage(this.keys, message, {did: this.did, stamp: this.now(), nulTerminated: true}));
    }

    /** A device-originated request (push); the cloud acks it. */
    push(method: string, params: unknown): void {
        if (!this.helloAnswered) return;
        this.send({id: this.nextId++, method, params});
    }

    private sendOtcInfo(): void {
        this.send({
            id: this.nextId++,
            method: '_otc.info',
            params: {
                hw_ver: 'Linux',
                fw_ver: this.isVacuum ? '3.5.8_002034' : '1.2.4_51',
                model: this.model,
                token: this.localToken,
                life: 1000,
                mac: `34:CE:00:${[(this.did >> 16) & 0xff, (this.did >> 8) & 0xff, this.did & 0xff].map((byte) => byte.toString(16).padStart(2, '0').toUpperCase()).join(':')}`,
                ap: {ssid: 'simulated', bssid: 'F8:1A:67:00:00:01', rssi: -40},
                netif: {localIp: this.socket?.address().address ?? '127.0.0.1', mask: '255.255.255.0', gw: '127.0.0.1'},
            },
        });
    }

    private onDatagram(datagram: Buffer): void {
        const header = readHeader(datagram);
        if (header.length === HEADER_LENGTH && header.did === 0xffffffff) {
            // The time answer to our hello: adopt the clock, then open the session with _otc.info.
            this.clockBase = header.stamp;
            this.clockSetAt = Date.now();
            if (!this.helloAnswered) {
                this.helloAnswered = true;
                this.sendOtcInfo();
            }
            return;
        }
        const {message} = decodePacket(datagram, this.keys);
        if (!message) return; // the echo of our keepalive
        if (typeof message.method === 'string') return this.answer(message);
        if (typeof message.id === 'number' && this.urlRequests.delete(message.id)) return this.uploadMapTo(message.result);
        if ('result' in message && isPlainObject(message.result) && 'otc_list' in message.result) this.otcAnswered = true;
    }

    private answer(message: MiioMessage): void {
        const method = message.method as string;
        this.received.push(method);
        const params = Array.isArray(message.params) ? (message.params as unknown[]) : [];
        const result = this.isVacuum ? this.vacuumAnswer(method, params) : this.plugAnswer(method, params);
        if (result === undefined) this.send({id: message.id, result: 'unknown_method'});
        else this.send({id: message.id, result});
    }

    private vacuumAnswer(method: string, params: unknown[]): unknown {
        const ok = ['ok'];
        switch (method) {
            case 'get_status':
                return [{...this.status}];
            case 'get_fresh_map_v1':
                // As a Roborock: acknowledge, then ask the cloud where to upload and PUT the map there.
                this.requestMapUpload();
                return ok;
            case 'get_consumable':
                return [{...this.consumables}];
            case 'miIO.info':
                return {model: this.model, fw_ver: '3.5.8_002034', hw_ver: 'Linux'};
            case 'app_start':
            case 'resume_zoned_clean':
                this.setStatus({state: 5, in_cleaning: 1, in_returning: 0});
                return ok;
            case 'resume_segment_clean':
                if (this.segmentTicks <= 0) return undefined;
                this.setStatus({state: 18, in_cleaning: 3, in_returning: 0});
                return ok;
            case 'get_room_mapping':
                return SIMULATED_ROOMS.map(([segment, cloudRoom]) => [segment, cloudRoom]);
            case 'app_segment_clean': {
                const segments = segmentsOf(params);
                if (!segments) return undefined;
                this.lastSegmentClean = segments;
                this.segmentTicks = segments.length * TICKS_PER_ROOM;
                this.setStatus({state: 18, in_cleaning: 3, in_returning: 0});
                return ok;
            }
            case 'app_stop':
                this.setStatus({state: 3, in_cleaning: 0, in_returning: 0});
                return ok;
            case 'app_pause':
                if ([5, 6, 11, 18].includes(this.status.state ?? 0)) this.setStatus({state: 10});
                return ok;
            case 'app_charge':
                this.returnTicks = 5;
                this.setStatus({state: 6, in_returning: 1});
                return ok;
            case 'app_spot':
                this.spotTicks = 20;
                this.setStatus({state: 11, in_cleaning: 1});
                return ok;
            case 'find_me':
                return ok;
            case 'set_custom_mode': {
                const code = Number(params[0]);
                if (![101, 102, 103, 104, 105].includes(code)) return undefined;
                this.setStatus({fan_power: code});
                return ok;
            }
            case 'get_custom_mode':
                return [this.status.fan_power];
            default:
                return undefined;
        }
    }

    private plugAnswer(method: string, params: unknown[]): unknown {
        const v1 = this.model === 'chuangmi.plug.v1';
        switch (method) {
            case 'get_prop':
                return params.map((name) => {
                    if (name === 'power') return this.plugOn ? 'on' : 'off';
                    if (name === 'on') return this.plugOn;
                    if (name === 'usb_on') return this.usbOn;
                    if (name === 'temperature') return this.status.temperature;
                    if (name === 'wifi_led') return 'off';
                    return null;
                });
            case 'set_power':
                if (v1 || (params[0] !== 'on' && params[0] !== 'off')) return undefined;
                this.setPlug(params[0] === 'on');
                return ['ok'];
            case 'set_on':
            case 'set_off':
                if (!v1) return undefined;
                this.setPlug(method === 'set_on');
                return ['ok'];
            case 'set_usb_on':
            case 'set_usb_off':
                this.usbOn = method === 'set_usb_on';
                this.push('props', {usb_on: this.usbOn});
                return ['ok'];
            case 'get_power':
                return this.model === 'chuangmi.plug.v3' ? [this.plugOn ? 4250 : 0] : undefined;
            case 'miIO.info':
                return {model: this.model, fw_ver: '1.2.4_51', hw_ver: 'MW300'};
            default:
                return undefined;
        }
    }

    private setPlug(on: boolean): void {
        if (this.plugOn === on) return;
        this.plugOn = on;
        this.push('props', this.model === 'chuangmi.plug.m1' ? {power: on ? 'on' : 'off'} : {on});
    }

    /** Changes status fields and pushes the new status, as the robot does on every change. */
    private setStatus(patch: Status): void {
        let changed = false;
        for (const [key, value] of Object.entries(patch)) {
            if (this.status[key] !== value) {
                this.status[key] = value;
                changed = true;
            }
        }
        if (!changed) return;
        this.status.msg_seq = (this.status.msg_seq ?? 0) + 1;
        this.push('event.status', [{...this.status}]);
    }

    /** Asks the cloud for an upload URL (miio.md §3.3); the answer arrives in `onDatagram`. */
    requestMapUpload(): void {
        if (!this.helloAnswered) return;
        const id = this.nextId++;
        this.urlRequests.add(id);
        this.send({id, method: '_sync.gen_tmp_presigned_url', params: {indexes: [0]}});
    }

    /** `{"urls": [{"url": …}]}` or `{"urls": ["…"]}`: PUTs the map to the first URL. */
    private uploadMapTo(result: unknown): void {
        const listed = isPlainObject(result) && Array.isArray(result.urls) ? (result.urls[0] as unknown) : undefined;
        const url = typeof listed === 'string' ? listed : isPlainObject(listed) && typeof listed.url === 'string' ? listed.url : null;
        if (!url) return log.warn(`simulated ${this.did}: no upload URL in ${JSON.stringify(result).slice(0, 120)}`);
        const body = this.uploadGarbage ? GARBAGE_MAP : simulatedMapUpload(this.robotPixel);
        const request = http.request(url, {method: 'PUT', headers: {'content-length': body.length}}, (response) => {
            response.resume();
            if (response.statusCode === 200) this.mapUploads++;
            else log.warn(`simulated ${this.did}: map upload answered ${response.statusCode}`);
        });
        request.on('error', (error) => log.warn(`simulated ${this.did}: map upload failed: ${error.message}`));
        request.end(body);
    }

    /** One simulated second: cleaning drains the battery and adds area; docking charges. */
    tick(): void {
        const state = this.status.state;
        const battery = this.status.battery ?? 100;
        if (state === 5 || state === 11 || state === 18) {
            // Back and forth along the top of room 17, so that every fresh map shows it elsewhere.
            this.robotPixel = {x: this.robotPixel.x >= 56 ? 31 : this.robotPixel.x + 1, y: this.robotPixel.y};
            this.status.clean_time = (this.status.clean_time ?? 0) + 1;
            this.status.clean_area = (this.status.clean_area ?? 0) + 250_000;
            this.consumables.main_brush_work_time++;
            this.consumables.side_brush_work_time++;
            this.consumables.filter_work_time++;
            const drained = Math.max(0, battery - 1);
            if (drained <= 15) {
                this.returnTicks = 5;
                this.push('event.low_power_back', []);
                this.setStatus({battery: drained, state: 6, in_returning: 1});
                return;
            }
            if (state === 18 && --this.segmentTicks <= 0) {
                // The rooms are done: the robot heads home, as a real one does after a room job.
                this.push('event.segment_clean_succ', []);
                this.returnTicks = 5;
                this.setStatus({battery: drained, state: 6, in_returning: 1, in_cleaning: 0});
                return;
            }
            if (state === 11 && --this.spotTicks <= 0) {
                this.setStatus({battery: drained, state: 3, in_cleaning: 0});
                this.push('event.clean_complete', []);
                return;
            }
            this.setStatus({battery: drained});
        } else if (state === 6) {
            if (--this.returnTicks <= 0) {
                this.setStatus({state: 8, in_returning: 0, in_cleaning: 0});
                this.push('event.back_to_dock', []);
            }
        } else if (state === 8 && battery < 100) {
            this.setStatus({battery: Math.min(100, battery + 1)});
        }
    }
}

/** `[{"segments":[16,17],"repeat":1,…}]` (newer firmware) or `[16,17]` (older); null unless every id is a room of the flat. */
function segmentsOf(params: unknown[]): number[] | null {
    const first = params[0];
    const list = isPlainObject(first) ? first.segments : params;
    if (!Array.isArray(list) || list.length === 0) return null;
    const known = new Set(SIMULATED_ROOMS.map(([segment]) => segment));
    return list.every((id) => typeof id === 'number' && known.has(id)) ? (list as number[]) : null;
}
