/**
 * The JSON vocabulary of MQTT ("eco-ng") bots (ecovacs.md §2.1, §2.4, §5.2, §5.3): the message
 * envelope `{"header":…,"body":{"code","msg","data"}}`, the commands a vacuum entity needs, and what
 * their replies and the matching `atr` pushes say. Pure: no I/O, no clock unless passed in.
 */
import {decodeJson} from '../../util/json.js';
import {isPlainObject} from '../../util/plain-object.js';

/** Bot messages are small; a map piece is the largest at a few tens of kB. */
export const MESSAGE_LIMITS = {maxBytes: 512 * 1024, maxDepth: 32};

export interface EcoMessage {
    header: Record<string, unknown>;
    body: EcoBody;
}

export interface EcoBody {
    /** 0 on success; bots send numbers, some failures strings (`"30007"`). */
    code?: number | string;
    msg?: string;
    data?: unknown;
}

export type MessageParse = {ok: true; message: EcoMessage} | {ok: false; reason: string};

/** A request or reply payload; replies without a body (`getWKVer`) get an empty one. */
export function parseMessage(payload: Buffer | string): MessageParse {
    const decoded = decodeJson(payload, MESSAGE_LIMITS);
    return decoded.ok ? readMessage(decoded.value) : decoded;
}

/** The same checks on JSON that is parsed already (a relayed reply). */
export function readMessage(value: unknown): MessageParse {
    if (!isPlainObject(value)) return {ok: false, reason: 'not a JSON object'};
    const {header, body} = value;
    if (header !== undefined && !isPlainObject(header)) return {ok: false, reason: '"header" is not an object'};
    if (body !== undefined && !isPlainObject(body)) return {ok: false, reason: '"body" is not an object'};
    const code = body?.code;
    if (code !== undefined && typeof code !== 'number' && typeof code !== 'string') return {ok: false, reason: '"body.code" is neither a number nor a string'};
    const msg = typeof body?.msg === 'string' ? body.msg : undefined;
    return {
        ok: true,
        message: {
            header: header ?? {},
            body: {...(code !== undefined && {code}), ...(msg !== undefined && {msg}), ...(body && 'data' in body && {data: body.data})},
        },
    };
}

/** A request as deebot-client sends it; commands without arguments carry only the header. */
export function buildRequest(data: unknown, nowMs: number): EcoMessage {
    const message: EcoMessage = {header: {pri: '1', ts: nowMs / 1000, tzm: 480, ver: '0.0.50'}, body: {}};
    if (data !== undefined) message.body = {data};
    return message;
}

/** A bot's reply or push (ecovacs.md §2.1 "Typical bot reply"). */
export function buildBotMessage(data: unknown, nowMs: number, outcome: {code: number | string; msg: string} | null = {code: 0, msg: 'ok'}): EcoMessage {
    const body: EcoBody = outcome ? {code: outcome.code, msg: outcome.msg} : {};
    if (data !== undefined) body.data = data;
    return {header: {pri: 1, tzm: 480, ts: String(nowMs), ver: '0.0.1'}, body};
}

/** Success is code 0 (or `"0"`); a reply without a code (`getWKVer`) counts as success. */
export function isSuccess(body: {code?: number | string}): boolean {
    return body.code === undefined || body.code === 0 || body.code === '0';
}

// ── Commands (§5.2) ────────────────────────────────────────────────────────────────────────────

export interface EcoCommand {
    name: string;
    /** `body.data` of the request; absent for plain getters. */
    data?: unknown;
}

export type CleanAction = 'start' | 'pause' | 'resume' | 'stop';

/** `clean` or, for bots that speak it (T8+, X1…), `clean_V2` with the job type inside `content`. */
export function cleanCommand(action: CleanAction, v2: boolean): EcoCommand {
    if (!v2) return {name: 'clean', data: action === 'start' ? {act: 'start', type: 'auto'} : {act: action}};
    if (action === 'start') return {name: 'clean_V2', data: {act: 'start', content: {type: 'auto'}}};
    return {name: 'clean_V2', data: action === 'resume' ? {act: 'resume'} : {act: action, content: {type: ''}}};
}

/** Rooms by their map subset ids (`mssid`). */
export function cleanRoomsCommand(roomIds: string[], v2: boolean): EcoCommand {
    const rooms = roomIds.join(',');
    if (v2) return {name: 'clean_V2', data: {act: 'start', content: {type: 'spotArea', value: rooms}}};
    return {name: 'clean', data: {act: 'start', type: 'spotArea', content: rooms, count: 1}};
}

export const chargeCommand: EcoCommand = {name: 'charge', data: {act: 'go'}};
/** sid 30: "I am here" (ecovacs-deebot.js), as the app's locate. */
export const locateCommand: EcoCommand = {name: 'playSound', data: {count: 1, sid: 30}};

/** Fan levels (§5.2): the names are the presets a user picks. */
export const FAN_SPEEDS: readonly [name: string, level: number][] = [
    ['quiet', 1000],
    ['normal', 0],
    ['max', 1],
    ['max_plus', 2],
];

export function setSpeedCommand(level: number): EcoCommand {
    return {name: 'setSpeed', data: {speed: level}};
}

/** Water amounts of `setWaterInfo` (deebot-client's WaterAmount). */
export const WATER_LEVELS: readonly [name: string, amount: number][] = [
    ['low', 1],
    ['medium', 2],
    ['high', 3],
    ['ultrahigh', 4],
];

export function setWaterCommand(amount: number): EcoCommand {
    return {name: 'setWaterInfo', data: {amount}};
}

/** Consumable types as bots name them → our feature stem (`<stem>_left`, `<stem>_reset`, and their entity names). */
export const LIFESPAN_PARTS: readonly [type: string, stem: string][] = [
    ['brush', 'main_brush'],
    ['sideBrush', 'side_brush'],
    ['heap', 'filter'],
    ['unitCare', 'unit_care'],
    ['roundMop', 'round_mop'],
    ['dustBag', 'dust_bag'],
    ['dModule', 'air_freshener'],
];
/** What every eco-ng bot has; asked when a bot refuses the full list. */
export const BASIC_LIFESPAN_TYPES = ['brush', 'sideBrush', 'heap'];

export function getLifeSpanCommand(types: readonly string[]): EcoCommand {
    // A list, not an object (§5.2).
    return {name: 'getLifeSpan', data: [...types]};
}

export function resetLifeSpanCommand(type: string): EcoCommand {
    return {name: 'resetLifeSpan', data: {type}};
}

/** What a map set lists: rooms (`ar`), virtual walls (`vw`) or no-mop zones (`mw`). */
export type MapSetType = 'ar' | 'vw' | 'mw';

export function getMapSetCommand(mapId: string, type: MapSetType = 'ar'): EcoCommand {
    return {name: 'getMapSet', data: {mid: mapId, type}};
}

// ── What bots say (§2.4, §5.2) ────────────────────────────────────────────────────────────────

export interface LifespanPart {
    type: string;
    left: number;
    total: number;
}

export interface Room {
    /** The map subset id (`mssid`) `spotArea` cleaning takes. */
    id: string;
    name: string;
}

export type Observation =
    | {kind: 'battery'; percent: number; low: boolean}
    | {kind: 'charge_state'; charging: boolean}
    | {kind: 'clean_info'; state: string; motion: string | null; trigger: string | null; v2: boolean}
    | {kind: 'speed'; level: number}
    | {kind: 'error'; code: number}
    | {kind: 'lifespan'; parts: LifespanPart[]}
    | {kind: 'stats'; area: number; seconds: number; jobType: string | null}
    | {kind: 'job_finished'; area: number; seconds: number; jobType: string | null; stopReason: number | null}
    | {kind: 'water'; amount: number; mopAttached: boolean | null}
    | {kind: 'cached_map_info'; mapId: string}
    | {kind: 'map_set'; mapId: string; rooms: Room[]}
    | {kind: 'evt'; code: number};

/**
 * The observation in a push (`onBattery`, `reportStats`) or a getter's reply (`getBattery`): deebot-
 * client reads both with one parser, so their `data` shapes are the same (§2.4). Null when the name
 * is not one we read or the data does not have the shape it should.
 */
export function readObservation(name: string, data: unknown): Observation | null {
    const v2 = name.endsWith('_V2');
    const bare = v2 ? name.slice(0, -3) : name;
    if (bare === 'reportStats') return readJobFinished(data);
    const topic = bare.replace(/^(get|on|off|report)/, '');
    switch (topic) {
        case 'Battery': {
            if (!isPlainObject(data)) return null;
            const percent = integer(data.value);
            return percent === null ? null : {kind: 'battery', percent: clampPercent(percent), low: data.isLow === 1};
        }
        case 'ChargeState': {
            if (!isPlainObject(data)) return null;
            const charging = integer(data.isCharging);
            return charging === null ? null : {kind: 'charge_state', charging: charging === 1};
        }
        case 'CleanInfo': {
            if (!isPlainObject(data) || typeof data.state !== 'string') return null;
            const cleanState = isPlainObject(data.cleanState) ? data.cleanState : {};
            return {
                kind: 'clean_info',
                state: data.state,
                motion: typeof cleanState.motionState === 'string' ? cleanState.motionState : null,
                trigger: typeof data.trigger === 'string' ? data.trigger : null,
                v2,
            };
        }
        case 'Speed': {
            const level = isPlainObject(data) ? integer(data.speed) : null;
            return level === null ? null : {kind: 'speed', level};
        }
        case 'Error': {
            // The last element is the current error (§2.4 onError).
            const codes = isPlainObject(data) && Array.isArray(data.code) ? data.code : null;
            const code = codes && codes.length > 0 ? integer(codes[codes.length - 1]) : codes ? 0 : null;
            return code === null ? null : {kind: 'error', code};
        }
        case 'LifeSpan': {
            if (!Array.isArray(data)) return null;
            const parts: LifespanPart[] = [];
            for (const entry of data) {
                if (!isPlainObject(entry) || typeof entry.type !== 'string') continue;
                const left = integer(entry.left);
                const total = integer(entry.total);
                if (left !== null && total !== null && total > 0) parts.push({type: entry.type, left, total});
            }
            return {kind: 'lifespan', parts};
        }
        case 'Stats': {
            if (!isPlainObject(data)) return null;
            const area = integer(data.area);
            const seconds = integer(data.time);
            if (area === null || seconds === null) return null;
            return {kind: 'stats', area, seconds, jobType: typeof data.type === 'string' ? data.type : null};
        }
        case 'WaterInfo': {
            if (!isPlainObject(data)) return null;
            const amount = integer(data.amount);
            if (amount === null) return null;
            const enable = integer(data.enable);
            return {kind: 'water', amount, mopAttached: enable === null ? null : enable === 1};
        }
        case 'CachedMapInfo': {
            const info = isPlainObject(data) && Array.isArray(data.info) ? data.info : [];
            const active = info.find((entry) => isPlainObject(entry) && entry.using === 1) as Record<string, unknown> | undefined;
            const mapId = active ? idText(active.mid) : null;
            return mapId === null ? null : {kind: 'cached_map_info', mapId};
        }
        case 'MapSet':
            return readMapSet(data);
        case 'Evt': {
            const code = isPlainObject(data) ? integer(data.code) : null;
            return code === null ? null : {kind: 'evt', code};
        }
        default:
            return null;
    }
}

function readJobFinished(data: unknown): Observation | null {
    if (!isPlainObject(data)) return null;
    const area = integer(data.area);
    const seconds = integer(data.time);
    if (area === null || seconds === null) return null;
    return {kind: 'job_finished', area, seconds, jobType: typeof data.type === 'string' ? data.type : null, stopReason: integer(data.stopReason)};
}

/** Room names: the bot's own where it has one, else the room type's name (deebot-client's table). */
const ROOM_TYPES: Record<string, string> = {
    '1': 'Living Room', '2': 'Dining Room', '3': 'Bedroom', '4': 'Study', '5': 'Kitchen', '6': 'Bathroom', '7': 'Laundry',
    '8': 'Lounge', '9': 'Storeroom', '10': 'Kids room', '11': 'Sunroom', '12': 'Corridor', '13': 'Balcony', '14': 'Gym',
};

/** More rooms than any flat has: the rest of a longer list is dropped. */
const MAX_ROOMS = 64;

function readMapSet(data: unknown): Observation | null {
    if (!isPlainObject(data) || data.type !== 'ar' || !Array.isArray(data.subsets)) return null;
    const mapId = idText(data.mid);
    if (mapId === null) return null;
    const rooms: Room[] = [];
    for (const subset of data.subsets.slice(0, MAX_ROOMS)) {
        if (!isPlainObject(subset)) continue;
        const id = idText(subset.mssid);
        if (id === null) continue;
        const subtype = idText(subset.subtype ?? subset.subType);
        const name = typeof subset.name === 'string' && subset.name.trim() ? subset.name.trim().slice(0, 64) : subtype ? ROOM_TYPES[subtype] : undefined;
        rooms.push({id, name: name ?? `Room ${id}`});
    }
    return {kind: 'map_set', mapId, rooms};
}

/**
 * A bot's answer to one command, whatever protocol carried it: its code (as `EcoBody`'s) and what it
 * said about the bot, read by that protocol's codec.
 */
export interface BotAnswer {
    code?: number | string;
    msg?: string;
    observations: Observation[];
    /** A JSON bot's `body.data` as sent: what the map reader reads. */
    data?: unknown;
}

/** A JSON bot's reply body as an answer: the observation its data holds, read as `readObservation` reads pushes. */
export function answerOf(commandName: string, body: EcoBody): BotAnswer {
    const observation = isSuccess(body) ? readObservation(commandName, body.data) : null;
    return {
        ...(body.code !== undefined && {code: body.code}),
        ...(body.msg !== undefined && {msg: body.msg}),
        observations: observation ? [observation] : [],
        ...(body.data !== undefined && {data: body.data}),
    };
}

// ── State (§5.3) ───────────────────────────────────────────────────────────────────────────────

/** Home Assistant's vacuum activities, by their names. */
export type EcoActivity = 'cleaning' | 'paused' | 'returning' | 'docked' | 'idle' | 'error';

/** What a clean-info report says the bot does; null when it says nothing we can map. */
export function cleanInfoActivity(info: {state: string; motion: string | null; trigger: string | null}): EcoActivity | null {
    if (info.trigger === 'alert') return 'error';
    if (info.state === 'clean') {
        if (info.motion === 'pause') return 'paused';
        if (info.motion === 'goCharging') return 'returning';
        return 'cleaning';
    }
    if (info.state === 'goCharging') return 'returning';
    if (info.state === 'idle') return 'idle';
    return null;
}

/** `charge` answers 30007 when the bot is on its dock already (§5.2). */
export const ALREADY_CHARGING = '30007';

/** Error codes deebot-client names (its ERROR_CODES); 0 and 100 mean no error. */
export const ERROR_NAMES: Record<number, string> = {
    0: 'none',
    100: 'none',
    101: 'battery_low',
    102: 'host_hang',
    103: 'wheel_abnormal',
    104: 'down_sensor_abnormal',
    105: 'stuck',
    106: 'side_brush_exhausted',
    107: 'dust_case_heap_exhausted',
    108: 'side_abnormal',
    109: 'roll_abnormal',
    110: 'no_dust_box',
    111: 'bump_abnormal',
    112: 'lds_error',
    113: 'main_brush_exhausted',
    114: 'dust_case_filled',
    115: 'battery_error',
    116: 'forward_looking_error',
    117: 'gyroscope_error',
    118: 'strainer_block',
    119: 'fan_error',
    120: 'water_box_error',
    201: 'air_filter_uninstalled',
    202: 'ultrasonic_component_abnormal',
    203: 'small_wheel_error',
    204: 'wheel_hang',
    205: 'ion_sterilize_exhausted',
    206: 'ion_sterilize_abnormal',
    207: 'ion_sterilize_fault',
    312: 'replace_dust_bag',
};
export const OTHER_ERROR = 'other';

export function errorName(code: number): string {
    return ERROR_NAMES[code] ?? OTHER_ERROR;
}

export function isNoError(code: number): boolean {
    return code === 0 || code === 100;
}

/** An integer, or a string of one (bots send both). */
export function integer(value: unknown): number | null {
    const number = typeof value === 'string' && /^-?\d{1,15}$/.test(value) ? Number(value) : value;
    return typeof number === 'number' && Number.isInteger(number) ? number : null;
}

/** An id or name as bots send them: a string of at most 64 characters, or an integer. */
export function idText(value: unknown): string | null {
    if (typeof value === 'number' && Number.isInteger(value)) return String(value);
    return typeof value === 'string' && value.length > 0 && value.length <= 64 ? value : null;
}

function clampPercent(value: number): number {
    return Math.max(0, Math.min(100, value));
}
