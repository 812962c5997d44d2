/**
 * Roborock / Xiaomi vacuums (`rockrobo.vacuum.*`, `roborock.vacuum.*`): `get_status`, the state and
 * error tables, fan-power presets per model, consumables and rooms (protocol note miio.md §4.1–4.6).
 */
import {CommandError, type FeatureCommand} from '../../../core/commands.js';
import {type DeviceState, type Feature, VACUUM_ACTIONS, type VacuumActivity, type VacuumState} from '../../../core/device.js';
import {createLogger} from '../../../util/logger.js';
import {isPlainObject} from '../../../util/plain-object.js';
import {expectOk, finiteNumber, type MiioCall, type MiioModel, type ModelEvent, type PushOutcome} from './types.js';

const log = createLogger('miio:roborock');

/** State code → [status name, Home Assistant activity] (miio.md §4.2). */
const STATES: Record<number, [string, VacuumActivity]> = {
    1: ['starting', 'idle'],
    2: ['charger_disconnected', 'idle'],
    3: ['idle', 'idle'],
    4: ['remote_control', 'cleaning'],
    5: ['cleaning', 'cleaning'],
    6: ['returning', 'returning'],
    7: ['manual_mode', 'cleaning'],
    8: ['charging', 'docked'],
    9: ['charging_problem', 'error'],
    10: ['paused', 'paused'],
    11: ['spot_cleaning', 'cleaning'],
    12: ['error', 'error'],
    13: ['shutting_down', 'idle'],
    14: ['updating', 'docked'],
    15: ['docking', 'returning'],
    16: ['going_to_target', 'cleaning'],
    17: ['zoned_cleaning', 'cleaning'],
    18: ['segment_cleaning', 'cleaning'],
    22: ['emptying_bin', 'docked'],
    23: ['washing_mop', 'docked'],
    25: ['returning_to_wash', 'returning'],
    26: ['going_to_wash_mop', 'returning'],
    29: ['mapping', 'cleaning'],
    100: ['charging_complete', 'docked'],
    101: ['device_offline', 'error'],
};
const STATUS_OPTIONS = [...new Set(Object.values(STATES).map(([name]) => name)), 'unknown'];

/** `error_code` → a stable name for an enum sensor (miio.md §4.3). */
const ERRORS: Record<number, string> = {
    0: 'none',
    1: 'laser_sensor_fault',
    2: 'bumper_stuck',
    3: 'wheels_suspended',
    4: 'cliff_sensor_dirty',
    5: 'main_brush_jammed',
    6: 'side_brush_jammed',
    7: 'wheels_jammed',
    8: 'robot_trapped',
    9: 'dust_bin_missing',
    10: 'filter_blocked',
    11: 'magnetic_interference',
    12: 'low_battery',
    13: 'charging_fault',
    14: 'battery_fault',
    15: 'wall_sensor_dirty',
    16: 'tilted',
    17: 'side_brush_error',
    18: 'suction_fan_error',
    19: 'dock_unpowered',
    21: 'laser_cover_blocked',
    22: 'charging_contacts_dirty',
    23: 'dock_unreachable',
    24: 'in_no_go_zone',
    25: 'camera_dirty',
    26: 'wall_sensor_dirty',
    27: 'mop_module_jammed',
    28: 'on_carpet',
    29: 'pet_waste_detected',
    32: 'dock_bag_missing',
    34: 'dock_filter_clogged',
    35: 'dock_voltage_abnormal',
    38: 'clean_water_tank_empty',
    39: 'waste_water_tank_full',
    40: 'water_filter_missing',
    41: 'clean_water_tank_empty',
    42: 'dock_brush_jammed',
    44: 'water_filter_clogged',
};
const HARDWARE_FAULT = 'hardware_fault';
const OTHER_ERROR = 'other';
const ERROR_OPTIONS = [...new Set(Object.values(ERRORS)), HARDWARE_FAULT, OTHER_ERROR];

function errorName(code: number): string {
    if (ERRORS[code]) return ERRORS[code];
    return code >= 100 && code <= 122 ? HARDWARE_FAULT : OTHER_ERROR;
}

/** Consumables: `get_consumable` field → [feature id (and its entity name's key), lifetime in seconds] (miio.md §4.6). */
export const CONSUMABLES: readonly [field: string, id: string, lifeSeconds: number][] = [
    ['main_brush_work_time', 'main_brush_left', 300 * 3600],
    ['side_brush_work_time', 'side_brush_left', 200 * 3600],
    ['filter_work_time', 'filter_left', 150 * 3600],
    ['sensor_dirty_time', 'sensor_clean_left', 30 * 3600],
];

/** Named `event.*` pushes a Roborock sends (miio.md §3.3); others are reported as `other`. */
export const VACUUM_EVENTS = [
    'back_to_dock',
    'error_code',
    'clean_complete',
    'bin_full',
    'low_power_back',
    'segment_clean_succ',
    'segment_clean_part_done',
    'zoned_clean_succ',
    'zoned_clean_partial_done',
    'zoned_clean_failed',
    'relocate_fail',
    'relocate_failed_back',
    'fan_power_reduced',
    'consume_material_notify',
    'remind_to_save_map',
    'segment_map_done',
    'goto_target_succ',
    'target_not_reachable',
    'start_with_water_box',
    'back_to_origin_fail',
    'back_to_origin_succ',
    'other',
];

type Presets = [name: string, code: number][];

/** Suction presets of the S5/S6/S4 and most newer models (`FanspeedV2`), named as Valetudo names them. */
const PRESETS_V2: Presets = [['low', 101], ['medium', 102], ['high', 103], ['max', 104], ['off', 105]];

/** `fan_power` presets by model and firmware (miio.md §4.4). */
export function fanPresets(model: string, firmware?: string): Presets {
    if (model === 'rockrobo.vacuum.v1') {
        const version = (firmware ?? '').split('_')[0]!.split('.').map(Number);
        const [major = 0, minor = 0, patch = 0] = version;
        const below = (a: number, b: number, c: number): boolean => major < a || (major === a && (minor < b || (minor === b && patch < c)));
        if (firmware && below(3, 5, 7)) return [['low', 38], ['medium', 60], ['high', 77], ['max', 90]];
        if (firmware && !below(3, 5, 7) && below(3, 5, 8)) return PRESETS_V2;
        return [['low', 38], ['medium', 60], ['high', 75], ['max', 100]];
    }
    if (model === 'roborock.vacuum.e2') return [['gentle', 41], ['low', 50], ['medium', 68], ['high', 79], ['max', 100]];
    if (model === 'roborock.vacuum.a27') return [...PRESETS_V2, ['max_plus', 108]];
    return PRESETS_V2;
}

const NAMES: Record<string, string> = {
    'rockrobo.vacuum.v1': 'Mi Robot Vacuum',
    'roborock.vacuum.s5': 'Roborock S5',
    'roborock.vacuum.s5e': 'Roborock S5 Max',
    'roborock.vacuum.s6': 'Roborock S6',
    'roborock.vacuum.s4': 'Roborock S4',
    'roborock.vacuum.a15': 'Roborock S7',
    'roborock.vacuum.a27': 'Roborock S7 MaxV',
    'roborock.vacuum.e2': 'Roborock E2',
};

export function isRoborockVacuum(model: string): boolean {
    return /^(rockrobo|roborock)\.vacuum\./.test(model);
}

/** `map_status` bit 1: the map has segments (miio.md §4.1). */
const MAP_HAS_SEGMENTS = 0b10;
/** Segment ids are small numbers (16, 17, … on every map seen); anything else is not a room. */
const MAX_SEGMENT_ID = 1023;
const MAX_ROOMS = 64;

/** The first generation has no room cleaning; every later model has it. */
function cleansRooms(model: string): boolean {
    return model !== 'rockrobo.vacuum.v1';
}

/** Where room names come from: the robot only knows ids (its app kept the names in the cloud, now us). */
export type RoomNameLookup = (segmentId: string) => string | undefined;

export function defaultRoomName(segmentId: string): string {
    return `Room ${segmentId}`;
}

export class RoborockVacuum implements MiioModel {
    readonly manufacturer: string;
    readonly displayName: string;
    private readonly presets: Presets;
    private readonly rooms: boolean;
    /** Segment ids from the last `get_room_mapping`; null until read. */
    private segmentIds: string[] | null = null;
    /** The map changed (`map_status`, `segment_map_done`): the room list is read again at the next poll. */
    private roomsStale = true;
    /** The firmware answered `get_room_mapping` with `unknown_method`: not asked again. */
    private roomsUnsupported = false;
    /** The last status the device reported: "start" resumes a paused zone/segment job from it. */
    private lastStatus: Record<string, unknown> = {};
    /** An unknown state code keeps the previous activity (miio.md §4.2 "other"). */
    private lastActivity: VacuumActivity | null = null;

    constructor(
        readonly model: string,
        firmware?: string,
        private readonly roomName: RoomNameLookup = () => undefined,
    ) {
        this.manufacturer = model.startsWith('rockrobo.') ? 'Xiaomi' : 'Roborock';
        this.displayName = NAMES[model] ?? `${this.manufacturer} vacuum (${model})`;
        this.presets = fanPresets(model, firmware);
        this.rooms = cleansRooms(model);
    }

    features(): Feature[] {
        const fanSpeeds = this.presets.map(([name]) => name);
        const vacuum: Feature = {id: 'vacuum', kind: 'vacuum', name: null, commands: [...VACUUM_ACTIONS], fanSpeeds};
        if (this.rooms) vacuum.segments = true;
        return [
            vacuum,
            {id: 'battery', kind: 'sensor', name: {key: 'battery'}, deviceClass: 'battery', unit: '%', stateClass: 'measurement'},
            {id: 'status', kind: 'sensor', name: {key: 'status'}, deviceClass: 'enum', options: STATUS_OPTIONS},
            {id: 'error', kind: 'sensor', name: {key: 'error'}, deviceClass: 'enum', options: ERROR_OPTIONS},
            {id: 'error_code', kind: 'sensor', name: {key: 'error_code'}, entityCategory: 'diagnostic', enabledByDefault: false},
            {id: 'fan_speed', kind: 'select', name: {key: 'fan_speed'}, options: fanSpeeds, entityCategory: 'config', icon: 'mdi:fan'},
            {id: 'clean_time', kind: 'sensor', name: {key: 'clean_time'}, deviceClass: 'duration', unit: 's', stateClass: 'measurement'},
            {id: 'clean_area', kind: 'sensor', name: {key: 'clean_area'}, deviceClass: 'area', unit: 'm²', stateClass: 'measurement', precision: 1},
            ...CONSUMABLES.map(
                ([, id]): Feature => ({kind: 'sensor', id, name: {key: id}, unit: '%', stateClass: 'measurement', entityCategory: 'diagnostic', icon: 'mdi:progress-wrench'}),
            ),
            {id: 'event', kind: 'event', name: {key: 'event'}, eventTypes: [...VACUUM_EVENTS]},
        ];
    }

    async poll(call: MiioCall, options: {consumables: boolean}): Promise<DeviceState> {
        const status = await call('get_status', []);
        const first = Array.isArray(status) ? status[0] : status;
        if (!isPlainObject(first)) throw new Error(`get_status answered ${JSON.stringify(status)}`);
        const state = this.applyStatus(first);
        if (this.wantsRooms()) {
            // The status is news on its own: a room list that could not be read is asked for at the next poll.
            await this.readRooms(call).catch((error: Error) => log.limited('info', `rooms:${this.model}`, `get_room_mapping failed: ${error.message}`));
            state.vacuum = this.vacuumState();
        }
        if (options.consumables) {
            const consumables = await call('get_consumable', []);
            const record = Array.isArray(consumables) ? consumables[0] : consumables;
            if (isPlainObject(record)) Object.assign(state, consumableState(record));
        }
        return state;
    }

    applyPush(method: string, params: unknown): PushOutcome {
        if (method === 'event.status') {
            const first = Array.isArray(params) ? params[0] : params;
            return {state: isPlainObject(first) ? this.applyStatus(first) : {}, events: [], pollNow: this.wantsRooms()};
        }
        if (method === 'props') return {state: isPlainObject(params) ? this.applyStatus(params) : {}, events: [], pollNow: this.wantsRooms()};
        if (method.startsWith('event.')) {
            const name = method.slice('event.'.length);
            // The robot finished splitting its map into rooms: the next poll reads them.
            if (name === 'segment_map_done') this.roomsStale = true;
            const known = VACUUM_EVENTS.includes(name) && name !== 'other';
            const event: ModelEvent = {
                featureId: 'event',
                eventType: known ? name : 'other',
                attributes: known ? {params: params ?? null} : {method, params: params ?? null},
            };
            return {state: {}, events: [event], pollNow: this.wantsRooms()};
        }
        return {state: {}, events: []};
    }

    async command(call: MiioCall, featureId: string, command: FeatureCommand): Promise<void> {
        if (featureId === 'fan_speed' && command.kind === 'select') return this.setFanSpeed(call, command.option);
        if (command.kind !== 'vacuum') throw new CommandError(`feature "${featureId}" takes no ${command.kind} command`);
        switch (command.action) {
            case 'start':
                return this.send(call, this.startMethod(), []);
            case 'stop':
                return this.send(call, 'app_stop', []);
            case 'pause':
                return this.send(call, 'app_pause', []);
            case 'return_to_base':
                // The first generation ignores app_charge while a clean is running (python-miio pauses first).
                if (this.model === 'rockrobo.vacuum.v1') await this.send(call, 'app_pause', []);
                return this.send(call, 'app_charge', []);
            case 'locate':
                return this.send(call, 'find_me', ['']);
            case 'clean_spot':
                return this.send(call, 'app_spot', []);
            case 'set_fan_speed':
                return this.setFanSpeed(call, command.fanSpeed);
            case 'clean_segments':
                // The core checked the ids against the rooms we published, which came from the robot as numbers.
                return this.send(call, 'app_segment_clean', [{segments: command.segments.map(Number), repeat: 1, clean_order_mode: 0}]);
            default:
                // Unreachable for commands the core checked; a hand-built one still gets a reason.
                throw new CommandError(`unknown vacuum command ${JSON.stringify((command as {action: unknown}).action)}`);
        }
    }

    private wantsRooms(): boolean {
        return this.rooms && this.roomsStale && !this.roomsUnsupported && this.mapHasSegments();
    }

    /** Whether a room list should be there; before the first status, asking costs one request at most. */
    private mapHasSegments(): boolean {
        const mapStatus = finiteNumber(this.lastStatus.map_status);
        return mapStatus === undefined || (mapStatus & MAP_HAS_SEGMENTS) !== 0;
    }

    /** `get_room_mapping` → `[[segmentId, cloudRoomId], …]`; the second item names nothing a user knows. */
    private async readRooms(call: MiioCall): Promise<void> {
        const mapping = await call('get_room_mapping', []);
        if (mapping === 'unknown_method' || (Array.isArray(mapping) && mapping[0] === 'unknown_method')) {
            this.roomsUnsupported = true;
            return;
        }
        if (!Array.isArray(mapping)) throw new Error(`get_room_mapping answered ${JSON.stringify(mapping).slice(0, 80)}`);
        const ids = new Set<string>();
        for (const room of mapping.slice(0, MAX_ROOMS)) {
            const id = Array.isArray(room) ? finiteNumber(room[0]) : undefined;
            if (id !== undefined && Number.isInteger(id) && id >= 0 && id <= MAX_SEGMENT_ID) ids.add(String(id));
        }
        this.segmentIds = [...ids];
        this.roomsStale = false;
    }

    /** Names may change without the robot saying anything (the settings, a rename in the web UI). */
    roomNamesChanged(): DeviceState {
        return this.segmentIds ? {vacuum: this.vacuumState()} : {};
    }

    private vacuumState(): VacuumState {
        const vacuum: VacuumState = {activity: this.lastActivity};
        const preset = this.presets.find(([, code]) => code === finiteNumber(this.lastStatus.fan_power));
        if (preset) vacuum.fanSpeed = preset[0];
        if (this.segmentIds) vacuum.segments = Object.fromEntries(this.segmentIds.map((id) => [id, this.roomName(id) ?? defaultRoomName(id)]));
        return vacuum;
    }

    /** A paused zone or segment job resumes as what it was (miio.md §4.2, Valetudo's rule). */
    private startMethod(): string {
        const activity = STATES[Number(this.lastStatus.state)]?.[1];
        const resumable = activity === 'paused' || activity === 'returning' || activity === 'docked';
        if (resumable && this.lastStatus.in_cleaning === 2) return 'resume_zoned_clean';
        if (resumable && this.lastStatus.in_cleaning === 3) return 'resume_segment_clean';
        return 'app_start';
    }

    private async setFanSpeed(call: MiioCall, name: string): Promise<void> {
        // The core checked the name against the declared speeds; the lookup still needs a miss path.
        const preset = this.presets.find(([candidate]) => candidate === name);
        if (!preset) throw new CommandError(`unknown fan speed ${JSON.stringify(name)}: one of ${this.presets.map(([candidate]) => candidate).join(', ')}`);
        return this.send(call, 'set_custom_mode', [preset[1]]);
    }

    private async send(call: MiioCall, method: string, params: unknown[]): Promise<void> {
        expectOk(method, await call(method, params));
    }

    /** Status fields → state patch; a push may carry only some fields, so only those change. */
    private applyStatus(status: Record<string, unknown>): DeviceState {
        const state: DeviceState = {};
        const stateCode = finiteNumber(status.state);
        const fanPower = finiteNumber(status.fan_power);
        const mapStatus = finiteNumber(status.map_status);
        // Another map slot, or segments appearing or going: the rooms are no longer the ones we know.
        if (mapStatus !== undefined && mapStatus !== finiteNumber(this.lastStatus.map_status)) this.roomsStale = true;
        for (const key of ['state', 'in_cleaning', 'fan_power', 'error_code', 'battery', 'map_status'] as const) {
            if (key in status) this.lastStatus[key] = status[key];
        }
        if (stateCode !== undefined || fanPower !== undefined) {
            const known = STATES[finiteNumber(this.lastStatus.state) ?? -1];
            this.lastActivity = known?.[1] ?? this.lastActivity;
            const vacuum = this.vacuumState();
            state.vacuum = vacuum;
            if (vacuum.fanSpeed) state.fan_speed = vacuum.fanSpeed;
        }
        if (stateCode !== undefined) state.status = STATES[stateCode]?.[0] ?? 'unknown';
        const battery = finiteNumber(status.battery);
        if (battery !== undefined) state.battery = Math.max(0, Math.min(100, battery));
        const errorCode = finiteNumber(status.error_code);
        if (errorCode !== undefined) {
            state.error = errorName(errorCode);
            state.error_code = errorCode;
        }
        const cleanTime = finiteNumber(status.clean_time);
        if (cleanTime !== undefined) state.clean_time = cleanTime;
        const cleanArea = finiteNumber(status.clean_area);
        // clean_area is mm²; one decimal of m² is all a user reads.
        if (cleanArea !== undefined) state.clean_area = Math.round(cleanArea / 100_000) / 10;
        return state;
    }
}

function consumableState(record: Record<string, unknown>): DeviceState {
    const state: DeviceState = {};
    for (const [field, id, life] of CONSUMABLES) {
        const used = finiteNumber(record[field]);
        if (used === undefined) continue;
        state[id] = Math.max(0, Math.min(100, Math.round(((life - used) / life) * 100)));
    }
    return state;
}
