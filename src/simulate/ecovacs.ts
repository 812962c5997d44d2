/**
 * Simulated Ecovacs MQTT ("eco-ng") bots: mqtt.js clients with the real client id
 * `did@class/resource` and the serial as user name, subscribed as real bots are (ecovacs.md §2.5).
 * They answer the JSON commands of §5.2 on the reversed p2p topic, push `atr` events when something
 * changes, drain while cleaning and charge on the dock, and report lifespans and a small map (with
 * virtual walls and a no-mop zone) that grows a sofa the first time a bot cleans: its `onMajorMap`
 * push says which piece changed.
 */
import {createHash} from 'node:crypto';

import mqtt, {type MqttClient} from 'mqtt';

import {createLogger} from '../util/logger.js';
import {type RunningDevices, startAll} from './start-all.js';
import {isPlainObject} from '../util/plain-object.js';
import {buildBotMessage, FAN_SPEEDS, parseMessage} from '../families/ecovacs/codec.js';
import {encodeMapPiece, encodeMapTrace, encodeOutline, formatBoundary, PIECE_FLOOR, PIECE_WALL} from '../families/ecovacs/map/ecovacs-map-codec.js';
import {atrTopic, botSubscriptions, type Endpoint, formatClientId, parseP2pTopic, replyTopicFor} from '../families/ecovacs/topics.js';

const log = createLogger('simulate:ecovacs');

export interface EcovacsBotsOptions {
    /** An MQTT URL (`mqtt://…`, `mqtts://…`). */
    url: string;
    count?: number;
    /** The model class; `ls1ok3` is a DEEBOT 900. */
    cls?: string;
    /** TLS: accept the bridge's certificate whatever it is (older bots do not check, §4.1). */
    rejectUnauthorized?: boolean;
    /** The CA to check the bridge's certificate against, with `rejectUnauthorized` (newer bots, §4.1). */
    ca?: string;
    servername?: string;
    /** Numbers the bots from here (dids and serials), so that two groups of bots do not share ids. */
    firstIndex?: number;
    /** One simulated minute of cleaning per tick. */
    tickMs?: number;
}

type Phase = 'idle' | 'cleaning' | 'paused' | 'returning' | 'charging';

const LIFESPANS = [
    {type: 'brush', total: 18_000},
    {type: 'sideBrush', total: 9000},
    {type: 'heap', total: 7200},
];
const ROOMS = [
    {mssid: '0', subtype: '1', name: ''},
    {mssid: '1', subtype: '5', name: ''},
    {mssid: '2', subtype: '15', name: 'Workshop'},
];
const MAP_ID = '199390082';

/** The synthetic flat, in millimetres around the map's centre: each room a rectangle [x0, y0, x1, y1]. */
export const SIMULATED_ROOM_OUTLINES: Record<string, [number, number, number, number]> = {
    '0': [-3000, -2000, 0, 2000],
    '1': [0, -2000, 2000, 0],
    '2': [0, 0, 2000, 2000],
};
/** Virtual walls (`vw`: a line, and a rectangle the bot must not enter) and a no-mop zone (`mw`), by subset id. */
export const SIMULATED_BOUNDARIES: Record<'vw' | 'mw', Record<string, {x: number; y: number}[]>> = {
    vw: {
        '0': [{x: -2500, y: 1000}, {x: -500, y: 1000}],
        '1': [{x: 600, y: -1400}, {x: 1400, y: -1400}, {x: 1400, y: -600}, {x: 600, y: -600}],
    },
    mw: {
        '0': [{x: -2000, y: -1800}, {x: -1000, y: -1800}, {x: -1000, y: -800}, {x: -2000, y: -800}],
    },
};
/** A sofa in the living room [x0, y0, x1, y1], mapped (as walls) the first time a bot cleans. */
export const SIMULATED_SOFA: [number, number, number, number] = [-2800, 1300, -2200, 1800];
export const SIMULATED_MAP = {pieceSide: 100, piecesPerSide: 8, pixelMm: 50};
export const SIMULATED_CHARGER = {x: 1000, y: 1500};
/** Where the robot is while it cleans: in the living room. */
export const SIMULATED_CLEANING_POSITION = {x: -1500, y: 0};

/**
 * The flat's pieces (column by column, as bots send them) and their CRCs, computed when the first
 * bots start: compressing them takes seconds, which must not fall on every bridge start (the bridge
 * imports this module for `--demo`) nor on a bot's first map answer.
 */
let mapPieces: MapPiece[] | null = null;
function simulatedMapPieces(): MapPiece[] {
    mapPieces ??= pieceBytes([]).map(({crc, pixels}) => ({crc, value: encodeMapPiece(pixels)}));
    return mapPieces;
}

/** The pieces that differ once the sofa is mapped, by index: only those are compressed. */
let sofaPieces: Map<number, MapPiece> | null = null;
function simulatedSofaPieces(): Map<number, MapPiece> {
    sofaPieces ??= new Map(
        pieceBytes([SIMULATED_SOFA]).flatMap(({crc, pixels}, index) => (crc === simulatedMapPieces()[index]!.crc ? [] : [[index, {crc, value: encodeMapPiece(pixels)}] as const])),
    );
    return sofaPieces;
}

export class SimulatedEcovacsBot {
    readonly endpoint: Endpoint;
    readonly serial: string;
    phase: Phase = 'charging';
    battery = 80;
    speed = 0;
    water = 2;
    errorCode = 0;
    area = 0;
    seconds = 0;
    readonly used: Record<string, number> = {brush: 21, sideBrush: 300, heap: 100};
    /** Commands received, in order: for tests. */
    readonly received: string[] = [];
    /** The room ids of the last `spotArea` clean, in the order asked: tests read it. */
    cleanedRooms: string[] = [];
    /** Map pieces are answered with bytes that do not decompress: tests of bad input set it. */
    corruptMapPieces = false;
    /** The piece indexes of `getMinorMap` requests, in order: tests read which pieces were fetched again. */
    readonly minorMapRequests: number[] = [];
    /** Whether the bot has mapped the sofa (it does on its first minute of cleaning). */
    sofaMapped = false;
    /** `auto`, or `spotArea` while cleaning single rooms. */
    private jobType = 'auto';
    private client: MqttClient | null = null;
    private timer: NodeJS.Timeout | null = null;

    constructor(
        index: number,
        private readonly options: EcovacsBotsOptions,
    ) {
        this.serial = `E0000${String(1001 + index).padStart(15, '0')}`;
        this.endpoint = {id: `a1406f11-0000-4000-8000-${String(index + 1).padStart(12, '0')}`, cls: options.cls ?? 'ls1ok3', resource: 'MhP5'};
    }

    get clientId(): string {
        return formatClientId(this.endpoint);
    }

    async start(): Promise<void> {
        this.client = await mqtt.connectAsync(this.options.url, {
            clientId: this.clientId,
            username: this.serial,
            password: 'simulated',
            protocolVersion: 4,
            keepalive: 60,
            reconnectPeriod: 0,
            rejectUnauthorized: this.options.rejectUnauthorized ?? false,
            ...(this.options.servername && {servername: this.options.servername}),
            ...(this.options.ca && {ca: this.options.ca}),
        });
        this.client.on('message', (topic, payload) => this.onMessage(topic, payload));
        await this.client.subscribeAsync(botSubscriptions(this.endpoint));
        this.timer = setInterval(() => this.tick(), this.options.tickMs ?? 1000);
        this.timer.unref();
    }

    async stop(): Promise<void> {
        if (this.timer) clearInterval(this.timer);
        await this.client?.endAsync(true);
        this.client = null;
    }

    private onMessage(topic: string, payload: Buffer): void {
        const request = parseP2pTopic(topic);
        if (!request || request.direction !== 'q' || request.to.id !== this.endpoint.id) return;
        const parsed = request.format === 'j' ? parseMessage(payload) : null;
        if (!parsed?.ok) {
            log.warn(`${this.endpoint.id}: unreadable ${request.command} ignored`);
            return;
        }
        this.received.push(request.command);
        const [data, outcome] = this.answer(request.command, parsed.message.body.data);
        this.client?.publish(replyTopicFor(request), JSON.stringify(buildBotMessage(data, Date.now(), outcome)));
    }

    /** The reply's data and code to a command (§5.2). */
    private answer(command: string, data: unknown): [unknown, {code: number | string; msg: string}] {
        const ok = {code: 0, msg: 'ok'};
        const args = isPlainObject(data) ? data : {};
        switch (command) {
            case 'getBattery':
                return [this.batteryData(), ok];
            case 'getChargeState':
                return [{isCharging: this.phase === 'charging' ? 1 : 0, mode: 'slot'}, ok];
            case 'getCleanInfo':
                return [this.cleanInfoData('app'), ok];
            case 'getSpeed':
                return [{speed: this.speed}, ok];
            case 'getError':
                return [{code: [this.errorCode]}, ok];
            case 'getStats':
                return [{area: this.area, time: this.seconds, type: 'auto', cid: '111'}, ok];
            case 'getWaterInfo':
                return [{enable: 1, amount: this.water, type: 0, sweepType: 2}, ok];
            case 'getLifeSpan': {
                const types = Array.isArray(data) ? data : [];
                return [lifespanParts(this.used).filter((part) => types.includes(part.type)), ok];
            }
            case 'resetLifeSpan':
                if (typeof args.type === 'string' && args.type in this.used) this.used[args.type] = 0;
                return [undefined, ok];
            case 'getCachedMapInfo':
                return [{enable: 1, info: [{mid: MAP_ID, index: 0, status: 1, using: 1, built: 1, name: ''}]}, ok];
            case 'getMajorMap': {
                const {pieceSide, piecesPerSide, pixelMm} = SIMULATED_MAP;
                return [{mid: MAP_ID, pieceWidth: pieceSide, pieceHeight: pieceSide, cellWidth: piecesPerSide, cellHeight: piecesPerSide, pixel: pixelMm, value: this.pieceCrcs()}, ok];
            }
            case 'getMinorMap': {
                const piece = typeof args.pieceIndex === 'number' ? this.mapPiece(args.pieceIndex) : undefined;
                if (!piece) return [undefined, {code: 1, msg: 'bad piece index'}];
                this.minorMapRequests.push(args.pieceIndex as number);
                return [{mid: MAP_ID, type: 'ol', pieceIndex: args.pieceIndex, pieceValue: this.corruptMapPieces ? 'bm90IExaTUEgYXQgYWxs' : piece.value}, ok];
            }
            case 'getMapSubSet': {
                if (args.type === 'vw' || args.type === 'mw') {
                    const points = typeof args.mssid === 'string' ? SIMULATED_BOUNDARIES[args.type][args.mssid] : undefined;
                    if (!points) return [undefined, {code: 1, msg: 'no such subset'}];
                    return [{type: args.type, mid: MAP_ID, mssid: args.mssid, value: formatBoundary(points)}, ok];
                }
                const outline = typeof args.mssid === 'string' ? SIMULATED_ROOM_OUTLINES[args.mssid] : undefined;
                if (!outline) return [undefined, {code: 1, msg: 'no such subset'}];
                const [x0, y0, x1, y1] = outline;
                const room = ROOMS.find(({mssid}) => mssid === args.mssid)!;
                const corners = [{x: x0, y: y0}, {x: x1, y: y0}, {x: x1, y: y1}, {x: x0, y: y1}];
                return [{type: 'ar', mid: MAP_ID, mssid: room.mssid, subtype: room.subtype, name: room.name, compress: 1, value: encodeOutline(corners)}, ok];
            }
            case 'getMapTrace':
                return [this.traceData(), ok];
            case 'getPos':
                return [this.positionData(), ok];
            case 'getChargerPos':
                return [[{...SIMULATED_CHARGER, a: 0}], ok];
            case 'getMapSet':
                if (args.type === 'vw' || args.type === 'mw') return [{type: args.type, mid: MAP_ID, subsets: Object.keys(SIMULATED_BOUNDARIES[args.type]).map((mssid) => ({mssid}))}, ok];
                return [{type: 'ar', count: ROOMS.length, mid: MAP_ID, msid: '1', subsets: ROOMS}, ok];
            case 'setSpeed':
                if (typeof args.speed !== 'number' || !FAN_SPEEDS.some(([, level]) => level === args.speed)) return [undefined, {code: 1, msg: 'bad speed'}];
                this.speed = args.speed;
                this.push('onSpeed', {speed: this.speed});
                return [undefined, ok];
            case 'setWaterInfo':
                if (typeof args.amount === 'number') this.water = args.amount;
                this.push('onWaterInfo', {enable: 1, amount: this.water});
                return [undefined, ok];
            case 'playSound':
                return [undefined, ok];
            case 'clean':
            case 'clean_V2':
                return [undefined, this.clean(String(args.act), cleanTarget(command, args))];
            case 'charge':
                if (this.phase === 'charging') return [undefined, {code: '30007', msg: 'fail'}];
                this.setPhase('returning');
                return [undefined, ok];
            default:
                return [undefined, {code: 20003, msg: 'rcp not support'}];
        }
    }

    private clean(act: string, target: {type: string; rooms: string[]}): {code: number; msg: string} {
        switch (act) {
            case 'start':
                if (target.type === 'spotArea') {
                    if (target.rooms.length === 0 || target.rooms.some((room) => !ROOMS.some(({mssid}) => mssid === room))) return {code: 1, msg: 'unknown area'};
                    this.cleanedRooms = target.rooms;
                }
                this.jobType = target.type === 'spotArea' ? 'spotArea' : 'auto';
                this.area = 0;
                this.seconds = 0;
                this.setPhase('cleaning');
                break;
            case 'pause':
                if (this.phase === 'cleaning') this.setPhase('paused');
                break;
            case 'resume':
                if (this.phase === 'paused') this.setPhase('cleaning');
                break;
            case 'stop':
                this.setPhase('idle');
                break;
            default:
                return {code: 1, msg: 'unknown act'};
        }
        return {code: 0, msg: 'ok'};
    }

    private positionData(): Record<string, unknown> {
        const robot = this.phase === 'cleaning' || this.phase === 'paused' ? SIMULATED_CLEANING_POSITION : SIMULATED_CHARGER;
        return {deebotPos: {...robot, a: 0, invalid: 0}, chargePos: [{...SIMULATED_CHARGER, a: 0}]};
    }

    private traceData(): Record<string, unknown> {
        const trace = this.phase === 'cleaning' ? [SIMULATED_CHARGER, {x: 0, y: 1000}, SIMULATED_CLEANING_POSITION] : [];
        return {tid: '1', totalCount: trace.length, traceStart: 0, pointCount: trace.length, traceValue: encodeMapTrace(trace)};
    }

    private mapPiece(index: number): MapPiece | undefined {
        return (this.sofaMapped ? simulatedSofaPieces().get(index) : undefined) ?? simulatedMapPieces()[index];
    }

    private pieceCrcs(): string {
        return simulatedMapPieces().map((_, index) => this.mapPiece(index)!.crc).join(',');
    }

    private setPhase(phase: Phase): void {
        const wasCharging = this.phase === 'charging';
        const wasAway = this.phase === 'cleaning' || this.phase === 'paused';
        this.phase = phase;
        if (wasAway !== (phase === 'cleaning' || phase === 'paused')) this.push('onPos', this.positionData());
        if (phase === 'cleaning' && !wasAway) this.push('onMapTrace', this.traceData());
        if (wasCharging !== (phase === 'charging')) this.push('onChargeState', {isCharging: phase === 'charging' ? 1 : 0, mode: 'slot'});
        if (phase !== 'charging') this.push('onCleanInfo', this.cleanInfoData('app'));
    }

    /** One simulated minute. */
    private tick(): void {
        if (this.phase === 'cleaning' && !this.sofaMapped) {
            this.sofaMapped = true;
            // As deebot-client reads it: the map id and the pieces' CRCs.
            this.push('onMajorMap', {mid: MAP_ID, value: this.pieceCrcs()});
        }
        if (this.phase === 'cleaning') {
            this.seconds += 60;
            this.area += 1;
            for (const type of Object.keys(this.used)) this.used[type]! += 1;
            this.setBattery(this.battery - 1);
            this.push('onStats', {area: this.area, time: this.seconds, cid: '111', start: '0', type: this.jobType});
            if (this.battery <= 15 || this.area >= 30) {
                this.push('reportStats', {cid: '111', type: this.jobType, stop: 1, area: this.area, time: this.seconds, start: '0', stopReason: this.battery <= 15 ? 2 : 1});
                this.setPhase('returning');
            }
        } else if (this.phase === 'returning') {
            this.setPhase('charging');
        } else if (this.phase === 'charging' && this.battery < 100) {
            this.setBattery(this.battery + 2);
        }
    }

    private setBattery(value: number): void {
        this.battery = Math.max(0, Math.min(100, value));
        this.push('onBattery', this.batteryData());
    }

    private batteryData(): Record<string, number> {
        return {value: this.battery, isLow: this.battery < 20 ? 1 : 0};
    }

    private cleanInfoData(trigger: string): Record<string, unknown> {
        switch (this.phase) {
            case 'cleaning':
                return {trigger, state: 'clean', cleanState: {router: 'plan', type: this.jobType, motionState: 'working'}};
            case 'paused':
                return {trigger, state: 'clean', cleanState: {router: 'plan', type: this.jobType, motionState: 'pause'}};
            case 'returning':
                return {trigger, state: 'goCharging'};
            default:
                return {trigger: 'workComplete', state: 'idle'};
        }
    }

    private push(event: string, data: unknown): void {
        this.client?.publish(atrTopic({event, bot: this.endpoint, format: 'j'}), JSON.stringify(buildBotMessage(data, Date.now(), null)));
    }
}

/** The job a `clean` / `clean_V2` start asks for (§5.2): its type and, for `spotArea`, the room ids. */
function cleanTarget(command: string, args: Record<string, unknown>): {type: string; rooms: string[]} {
    const content = command === 'clean_V2' && isPlainObject(args.content) ? args.content : {type: args.type, value: args.content};
    const type = typeof content.type === 'string' ? content.type : 'auto';
    const rooms = typeof content.value === 'string' && content.value ? content.value.split(',') : [];
    return {type, rooms};
}

interface MapPiece {
    crc: string;
    value: string;
}

/** The flat's pieces uncompressed, with `obstacles` ([x0, y0, x1, y1] in millimetres) as walls. */
function pieceBytes(obstacles: readonly [number, number, number, number][]): {crc: string; pixels: Uint8Array}[] {
    const {pieceSide, piecesPerSide, pixelMm} = SIMULATED_MAP;
    const side = pieceSide * piecesPerSide;
    // In the bot's frame: row 0 is the southmost (ecovacs-map-codec's header).
    const toPixel = (mm: number): number => Math.floor(mm / pixelMm + side / 2);
    const full = new Uint8Array(side * side);
    for (const [x0, y0, x1, y1] of Object.values(SIMULATED_ROOM_OUTLINES)) {
        for (let y = toPixel(y0) - 1; y <= toPixel(y1); y++) {
            for (let x = toPixel(x0) - 1; x <= toPixel(x1); x++) {
                const edge = y === toPixel(y0) - 1 || y === toPixel(y1) || x === toPixel(x0) - 1 || x === toPixel(x1);
                // Rooms share their walls: a wall drawn by one room never covers another's floor.
                if (edge && full[y * side + x] !== PIECE_FLOOR) full[y * side + x] = PIECE_WALL;
                else if (!edge) full[y * side + x] = PIECE_FLOOR;
            }
        }
    }
    for (const [x0, y0, x1, y1] of obstacles) {
        for (let y = toPixel(y0); y < toPixel(y1); y++) full.fill(PIECE_WALL, y * side + toPixel(x0), y * side + toPixel(x1));
    }
    return Array.from({length: piecesPerSide * piecesPerSide}, (_, index) => {
        const left = Math.floor(index / piecesPerSide) * pieceSide;
        const bottom = (index % piecesPerSide) * pieceSide;
        const pixels = new Uint8Array(pieceSide * pieceSide);
        for (let offset = 0; offset < pixels.length; offset++) pixels[offset] = full[(bottom + (offset % pieceSide)) * side + left + Math.floor(offset / pieceSide)]!;
        return {crc: String(createHash('sha256').update(pixels).digest().readUInt32LE(0)), pixels};
    });
}

function lifespanParts(used: Record<string, number>): {type: string; left: number; total: number}[] {
    return LIFESPANS.map(({type, total}) => ({type, left: Math.max(0, total - (used[type] ?? 0)), total}));
}

export type EcovacsBots = RunningDevices<SimulatedEcovacsBot>;

export function startEcovacsBots(options: EcovacsBotsOptions): Promise<EcovacsBots> {
    simulatedMapPieces();
    simulatedSofaPieces();
    const first = options.firstIndex ?? 0;
    return startAll(Array.from({length: options.count ?? 1}, (_, index) => new SimulatedEcovacsBot(first + index, options)));
}
