/**
 * Ecovacs bots in the normalised model: one device `ecovacs-<did>` per bot, a vacuum with battery,
 * charge state, error, last job, consumables (with reset buttons), water level and mop where the
 * bot reports them, and an event entity. State comes from what the bot says: its pushes and its
 * replies to our getters, read by the protocol's codec into observations. Commands go out in the
 * JSON vocabulary's terms through an injected link per protocol: the helper bot on the device
 * broker for MQTT bots, the XMPP server (which translates them into `<ctl>`s) for XMPP bots.
 */
import {CommandError} from '../../core/commands.js';
import {type DeviceState, type Feature, makeDeviceId, type VacuumAction, type VacuumState} from '../../core/device.js';
import type {DeviceRegistry} from '../../core/registry.js';
import type {CommandRouter, RoutedCommand} from '../../core/router.js';
import {createLogger, type Logger} from '../../util/logger.js';
import {
    ALREADY_CHARGING,
    BASIC_LIFESPAN_TYPES,
    type BotAnswer,
    chargeCommand,
    cleanCommand,
    cleanInfoActivity,
    cleanRoomsCommand,
    type EcoActivity,
    type EcoCommand,
    ERROR_NAMES,
    errorName,
    FAN_SPEEDS,
    getLifeSpanCommand,
    getMapSetCommand,
    isNoError,
    isSuccess,
    LIFESPAN_PARTS,
    locateCommand,
    type Observation,
    OTHER_ERROR,
    parseMessage,
    readObservation,
    resetLifeSpanCommand,
    type Room,
    setSpeedCommand,
    setWaterCommand,
    WATER_LEVELS,
} from './codec.js';
import {EcovacsLiveMaps, MAP_FEATURE, MAP_STATUS_FEATURE} from './map/live-map.js';
import type {CleanLogEntry, ListedBot} from './rest/routes.js';
import {type Endpoint, parseAtrTopic} from './topics.js';
import {XML_FAN_SPEEDS} from './xmpp/ctl-codec.js';

const FAMILY = 'ecovacs';

/**
 * Sends one command (named as in the JSON vocabulary) to a bot and resolves with its answer; rejects
 * when it cannot be delivered or answered.
 */
export interface BotLink {
    send(did: string, command: EcoCommand): Promise<BotAnswer>;
}

/** `mqtt`: JSON ("eco-ng") bots on the device broker; `xmpp`: XML ("eco-legacy") bots on the XMPP server. */
export type BotProtocol = 'mqtt' | 'xmpp';

export interface ConnectedBot extends Endpoint {
    /** The MQTT user name: the bot's serial (`E000…`). */
    serial?: string;
    /** MQTT when absent. */
    protocol?: BotProtocol;
}

export interface EcovacsAdapterOptions {
    registry: DeviceRegistry;
    router: CommandRouter;
    link: BotLink;
    pollIntervalSeconds: number;
    lifespanPollMinutes: number;
    /** Live maps of MQTT bots; none when absent. */
    maps?: {images: {publish(deviceId: string, featureId: string, png: Buffer): void}; renderIntervalSeconds: number; refreshIntervalSeconds: number} | null;
    logger?: Logger;
    now?: () => number;
}

/** What the adapter keeps per bot in the registry's `extra` (survives restarts, never published). */
interface BotExtra {
    did: string;
    cls: string;
    resource: string;
    serial?: string;
    /** Absent in registries from before XMPP bots: those were MQTT bots. */
    protocol?: BotProtocol;
    /** Consumable types the bot reported. */
    lifespans: string[];
    /** Whether the bot reported water info (a mop module). */
    water: boolean;
    /** Speaks `clean_V2` (it reported clean info as `…_V2`). */
    v2: boolean;
    mapId?: string;
    /** Rooms of the active map (`getMapSet`): the vacuum's segments. */
    rooms: Room[];
    /** Names the user gave rooms (`rename_segment`), by room id: they win over the bot's. */
    roomNames?: Record<string, string>;
    cleanLogs: CleanLogEntry[];
}

/** What changes between messages and need not be persisted. */
interface BotRuntime {
    online: boolean;
    activity: EcoActivity | null;
    charging: boolean;
    errorCode: number;
    lastLifespanPoll: number;
}

const VACUUM_COMMANDS: VacuumAction[] = ['start', 'stop', 'pause', 'return_to_base', 'locate'];
const EVENT_TYPES = ['job_finished', 'error'];
const ERROR_OPTIONS = [...new Set(Object.values(ERROR_NAMES)), OTHER_ERROR];
const CLEAN_LOGS_KEPT = 20;
/** Getters asked at every connect: what deebot-client asks at start-up (§5.3), plus water and map. */
const CONNECT_GETTERS = ['getBattery', 'getChargeState', 'getCleanInfo', 'getSpeed', 'getError', 'getStats', 'getWaterInfo', 'getCachedMapInfo'];
const ALL_LIFESPAN_TYPES = LIFESPAN_PARTS.map(([type]) => type);
/** What is asked at each poll: MQTT bots push their state changes, XMPP bots not reliably. */
const POLLED_GETTERS: Record<BotProtocol, string[]> = {mqtt: ['getBattery'], xmpp: ['getBattery', 'getChargeState', 'getCleanInfo']};

/** The fan speeds a user picks from, with the JSON level each stands for. */
function fanSpeedsOf(extra: Pick<BotExtra, 'protocol'>): readonly [name: string, level: number][] {
    return extra.protocol === 'xmpp' ? XML_FAN_SPEEDS : FAN_SPEEDS;
}

export function ecovacsDeviceId(did: string): string {
    return makeDeviceId(FAMILY, did);
}

export class EcovacsAdapter {
    private readonly registry: DeviceRegistry;
    private readonly log: Logger;
    private readonly now: () => number;
    private readonly runtime = new Map<string, BotRuntime>();
    private pollTimer: NodeJS.Timeout | null = null;
    private mapTimer: NodeJS.Timeout | null = null;
    private readonly maps: EcovacsLiveMaps | null;

    constructor(private readonly options: EcovacsAdapterOptions) {
        this.registry = options.registry;
        this.log = options.logger ?? createLogger('ecovacs:adapter');
        this.now = options.now ?? Date.now;
        const maps = options.maps;
        this.maps = maps ? new EcovacsLiveMaps({
            send: (did, command) => options.link.send(did, command),
            renderIntervalMs: maps.renderIntervalSeconds * 1000,
            publish: (did, png) => maps.images.publish(ecovacsDeviceId(did), MAP_FEATURE.id, png),
            roomNames: (did) => roomNamesOf(this.extra(ecovacsDeviceId(did)) ?? {rooms: []}),
            setStatus: (did, status) => this.registry.updateState(ecovacsDeviceId(did), {[MAP_STATUS_FEATURE.id]: status}),
            log: this.log,
            now: this.now,
        }) : null;
    }

    start(): void {
        this.options.router.register(FAMILY, (routed) => this.handleCommand(routed));
        this.pollTimer = setInterval(() => this.pollAll(), this.options.pollIntervalSeconds * 1000);
        this.pollTimer.unref();
        if (this.options.maps) {
            this.mapTimer = setInterval(() => this.refreshMapsWhileCleaning(), this.options.maps.refreshIntervalSeconds * 1000);
            this.mapTimer.unref();
        }
    }

    stop(): void {
        if (this.pollTimer) clearInterval(this.pollTimer);
        if (this.mapTimer) clearInterval(this.mapTimer);
        this.pollTimer = null;
        this.mapTimer = null;
        this.maps?.stop();
    }

    /** A bot connected with client id `did@class/resource`: describe it and read its state. */
    botConnected(bot: ConnectedBot): void {
        const id = ecovacsDeviceId(bot.id);
        const known = this.extra(id);
        const extra: BotExtra = {
            lifespans: [],
            water: false,
            v2: false,
            rooms: [],
            cleanLogs: [],
            ...known,
            did: bot.id,
            cls: bot.cls,
            resource: bot.resource,
            ...(bot.serial !== undefined && {serial: bot.serial}),
            ...(bot.protocol === 'xmpp' && {protocol: bot.protocol}),
        };
        this.describe(id, extra);
        this.registry.markSeen(id);
        this.runtimeOf(bot.id).online = true;
        void this.readEverything(bot.id);
    }

    botDisconnected(did: string): void {
        const id = ecovacsDeviceId(did);
        this.runtimeOf(did).online = false;
        this.maps?.forget(did);
        if (this.registry.has(id)) this.registry.updateLink(id, {online: false});
    }

    /** The connected bot with this did, or whether one was ever known. */
    lookup(did: string): {endpoint: Endpoint; online: boolean} | null {
        const extra = this.extra(ecovacsDeviceId(did));
        if (!extra || extra.did !== did) return null;
        return {endpoint: {id: extra.did, cls: extra.cls, resource: extra.resource}, online: this.runtime.get(did)?.online ?? false};
    }

    listBots(): ListedBot[] {
        return this.registry.list(FAMILY).flatMap((device) => {
            const extra = (device.extra.bot ?? {}) as Partial<BotExtra>;
            if (typeof extra.did !== 'string' || typeof extra.cls !== 'string' || typeof extra.resource !== 'string') return [];
            return [{did: extra.did, cls: extra.cls, resource: extra.resource, name: extra.serial ?? extra.did, nick: device.facts.name, online: this.runtime.get(extra.did)?.online ?? false}];
        });
    }

    cleanLogs(did: string): CleanLogEntry[] {
        return this.extra(ecovacsDeviceId(did))?.cleanLogs ?? [];
    }

    /** A broadcast on `iot/atr/…`; the bot must have connected (registered) before. */
    handleAtr(topic: string, payload: Buffer | string): void {
        const atr = parseAtrTopic(topic);
        if (!atr) return;
        const id = ecovacsDeviceId(atr.bot.id);
        if (!this.extra(id)) {
            this.log.limited('debug', `unregistered:${atr.bot.id}`, `${atr.event} from ${atr.bot.id}, which has not connected as a bot: ignored`);
            return;
        }
        this.registry.markSeen(id);
        if (atr.format !== 'j') return;
        const parsed = parseMessage(payload);
        if (!parsed.ok) {
            this.registry.countBadPacket(id, `${atr.event}: ${parsed.reason}`);
            this.log.limited('warn', `bad-atr:${atr.bot.id}`, `${id}: ${atr.event} dropped: ${parsed.reason}`);
            return;
        }
        this.registry.noteTraffic(id, 'in', {event: atr.event, data: parsed.message.body.data});
        if (this.mapPushed(atr.bot.id, atr.event, parsed.message.body.data)) return;
        const observation = readObservation(atr.event, parsed.message.body.data);
        if (observation) this.apply(atr.bot.id, observation);
        else this.log.debug(() => `${id}: ${atr.event} not read`);
    }

    /** A push about the map goes to the live map (when maps are on); false when `event` is not one. */
    private mapPushed(did: string, event: string, data: unknown): boolean {
        switch (event) {
            case 'onPos':
            case 'onChargerPos':
                this.maps?.positionsPushed(did, data);
                return true;
            case 'onMajorMap':
                void this.maps?.majorMapPushed(did, data);
                return true;
            case 'onMapTrace':
                void this.maps?.tracePushed(did, data);
                return true;
            default:
                return false;
        }
    }

    /** What a bot said on its own (an XMPP bot's push), read by its protocol's codec. */
    report(did: string, observations: Observation[]): void {
        const id = ecovacsDeviceId(did);
        if (!this.extra(id)) return;
        this.registry.markSeen(id);
        this.registry.noteTraffic(id, 'in', {observations});
        for (const observation of observations) this.apply(did, observation);
    }

    // ── reading ────────────────────────────────────────────────────────────────────────────────

    private async readEverything(did: string): Promise<void> {
        await Promise.all([...CONNECT_GETTERS.map((name) => this.ask(did, {name})), this.readLifespans(did)]);
        const mapId = this.extra(ecovacsDeviceId(did))?.mapId;
        if (mapId) await this.ask(did, getMapSetCommand(mapId));
        await this.refreshMap(did);
    }

    /** Reads what changed on the bot's map and draws it: MQTT bots with a map only. */
    private async refreshMap(did: string): Promise<void> {
        const extra = this.extra(ecovacsDeviceId(did));
        if (!this.maps || !extra?.mapId || extra.protocol === 'xmpp') return;
        await this.maps.refresh(did, extra.mapId, extra.rooms.map((room) => room.id));
    }

    private refreshMapsWhileCleaning(): void {
        for (const [did, runtime] of this.runtime) {
            if (runtime.online && (runtime.activity === 'cleaning' || runtime.activity === 'returning')) void this.refreshMap(did);
        }
    }

    /** The full list first; bots that refuse it get the three every bot has. */
    private async readLifespans(did: string): Promise<void> {
        this.runtimeOf(did).lastLifespanPoll = this.now();
        const known = this.extra(ecovacsDeviceId(did))?.lifespans ?? [];
        const asked = known.length > 0 ? known : ALL_LIFESPAN_TYPES;
        if (!(await this.ask(did, getLifeSpanCommand(asked))) && asked !== BASIC_LIFESPAN_TYPES) await this.ask(did, getLifeSpanCommand(BASIC_LIFESPAN_TYPES));
    }

    /** Sends a getter and applies its answer; false when the bot refused it or did not answer. */
    private async ask(did: string, command: EcoCommand): Promise<boolean> {
        try {
            const answer = await this.exchange(did, command);
            if (!isSuccess(answer)) {
                this.log.debug(() => `${ecovacsDeviceId(did)}: ${command.name} refused (${String(answer.code)} ${answer.msg ?? ''})`);
                return false;
            }
            for (const observation of answer.observations) this.apply(did, observation);
            return true;
        } catch (error) {
            this.log.limited('info', `ask:${did}`, `${ecovacsDeviceId(did)}: ${command.name} failed: ${(error as Error).message}`);
            return false;
        }
    }

    private pollAll(): void {
        const lifespanDue = this.now() - this.options.lifespanPollMinutes * 60_000;
        for (const [did, runtime] of this.runtime) {
            if (!runtime.online) continue;
            const protocol = this.extra(ecovacsDeviceId(did))?.protocol ?? 'mqtt';
            for (const name of POLLED_GETTERS[protocol]) void this.ask(did, {name});
            if (runtime.lastLifespanPoll < lifespanDue) void this.readLifespans(did);
        }
    }

    // ── state ──────────────────────────────────────────────────────────────────────────────────

    private apply(did: string, observation: Observation): void {
        const id = ecovacsDeviceId(did);
        const runtime = this.runtimeOf(did);
        const state: DeviceState = {};
        switch (observation.kind) {
            case 'battery':
                state.battery = observation.percent;
                break;
            case 'charge_state':
                runtime.charging = observation.charging;
                state.charging = observation.charging;
                if (observation.charging) state.vacuum = this.setActivity(did, 'docked');
                else if (runtime.activity === 'docked') state.vacuum = this.setActivity(did, 'idle');
                break;
            case 'clean_info': {
                if (observation.v2) this.updateExtra(id, {v2: true});
                const activity = cleanInfoActivity(observation);
                // A bot on its dock reports its clean state as idle: the charge state says where it idles.
                if (activity) state.vacuum = this.setActivity(did, activity === 'idle' && runtime.charging ? 'docked' : activity);
                break;
            }
            case 'speed': {
                const preset = fanSpeedsOf(this.extra(id) ?? {}).find(([, level]) => level === observation.level);
                if (preset) state.vacuum = {...this.vacuumState(id), fanSpeed: preset[0]};
                break;
            }
            case 'error': {
                const changed = runtime.errorCode !== observation.code;
                runtime.errorCode = observation.code;
                state.error = errorName(observation.code);
                state.error_code = observation.code;
                if (!isNoError(observation.code)) {
                    state.vacuum = this.setActivity(did, 'error');
                    if (changed) this.registry.emitEvent(id, 'event', 'error', {code: observation.code, error: errorName(observation.code)});
                } else if (runtime.activity === 'error') {
                    state.vacuum = this.setActivity(did, runtime.charging ? 'docked' : 'idle');
                }
                break;
            }
            case 'lifespan': {
                const reported = observation.parts.map((part) => part.type).filter((type) => ALL_LIFESPAN_TYPES.includes(type));
                const extra = this.extra(id)!;
                const lifespans = [...new Set([...extra.lifespans, ...reported])];
                if (lifespans.length !== extra.lifespans.length) this.describe(id, {...extra, lifespans});
                for (const part of observation.parts) {
                    const stem = LIFESPAN_PARTS.find(([type]) => type === part.type)?.[1];
                    if (stem) state[`${stem}_left`] = Math.max(0, Math.min(100, Math.round((part.left / part.total) * 100)));
                }
                break;
            }
            case 'stats':
                state.clean_area = observation.area;
                state.clean_time = observation.seconds;
                break;
            case 'job_finished': {
                state.clean_area = observation.area;
                state.clean_time = observation.seconds;
                const extra = this.extra(id)!;
                const entry: CleanLogEntry = {ts: Math.floor(this.now() / 1000), last: observation.seconds, area: observation.area, type: observation.jobType ?? 'auto', stopReason: observation.stopReason ?? 1};
                this.updateExtra(id, {cleanLogs: [entry, ...extra.cleanLogs].slice(0, CLEAN_LOGS_KEPT)});
                this.registry.emitEvent(id, 'event', 'job_finished', {area: observation.area, seconds: observation.seconds, type: entry.type, stop_reason: entry.stopReason});
                break;
            }
            case 'water': {
                const extra = this.extra(id)!;
                if (!extra.water) this.describe(id, {...extra, water: true});
                const level = WATER_LEVELS.find(([, amount]) => amount === observation.amount);
                if (level) state.water_level = level[0];
                if (observation.mopAttached !== null) state.mop_attached = observation.mopAttached;
                break;
            }
            case 'cached_map_info':
                this.updateExtra(id, {mapId: observation.mapId});
                break;
            case 'map_set': {
                const extra = this.extra(id)!;
                const hadRooms = extra.rooms.length > 0;
                const updated = {...extra, mapId: observation.mapId, rooms: observation.rooms};
                // Whether the vacuum cleans single rooms is a declaration: it changes with the first rooms and the last.
                if (hadRooms !== observation.rooms.length > 0) this.describe(id, updated);
                else this.registry.setExtra(id, 'bot', updated);
                state.vacuum = withSegments(this.vacuumState(id), updated);
                break;
            }
            case 'evt':
                this.log.debug(() => `${id}: event code ${observation.code}`);
                break;
        }
        if (Object.keys(state).length > 0) this.registry.updateState(id, state);
    }

    /** The vacuum state with a new activity (and the fan speed it had). */
    private setActivity(did: string, activity: EcoActivity): VacuumState {
        this.runtimeOf(did).activity = activity;
        return {...this.vacuumState(ecovacsDeviceId(did)), activity};
    }

    private vacuumState(id: string): VacuumState {
        const current = this.registry.get(id)?.state.vacuum as VacuumState | undefined;
        return current ? {...current} : {activity: null};
    }

    /** A name is ours to keep: the bot is not asked, and need not be online. */
    private renameRoom(id: string, roomId: string, name: string): void {
        const extra = this.extra(id)!;
        const updated = {...extra, roomNames: {...extra.roomNames, [roomId]: name.trim()}};
        this.registry.setExtra(id, 'bot', updated);
        this.registry.updateState(id, {vacuum: withSegments(this.vacuumState(id), updated)});
    }

    // ── commands ───────────────────────────────────────────────────────────────────────────────

    private async handleCommand({device, feature, command}: RoutedCommand): Promise<void> {
        const extra = this.extra(device.id);
        if (!extra) throw new CommandError(`${device.id} is not an Ecovacs bot this bridge knows`);
        const did = extra.did;
        if (command.kind === 'vacuum' && command.action === 'rename_segment') return this.renameRoom(device.id, command.segment, command.name);
        if (!this.runtime.get(did)?.online) throw new CommandError(`${device.id} is offline`);
        if (command.kind === 'vacuum') {
            switch (command.action) {
                case 'start': {
                    const paused = this.runtime.get(did)?.activity === 'paused';
                    return this.run(did, cleanCommand(paused ? 'resume' : 'start', extra.v2), 'getCleanInfo');
                }
                case 'pause':
                    return this.run(did, cleanCommand('pause', extra.v2), 'getCleanInfo');
                case 'stop':
                    return this.run(did, cleanCommand('stop', extra.v2), 'getCleanInfo');
                case 'return_to_base':
                    return this.returnToBase(did);
                case 'locate':
                    return this.run(did, locateCommand, null);
                case 'set_fan_speed': {
                    const preset = fanSpeedsOf(extra).find(([name]) => name === command.fanSpeed);
                    if (!preset) throw new CommandError(`unknown fan speed "${command.fanSpeed}"`);
                    return this.run(did, setSpeedCommand(preset[1]), 'getSpeed');
                }
                case 'clean_segments':
                    // The core checked the ids against the segments we published: the bot's own room ids.
                    return this.run(did, cleanRoomsCommand(command.segments, extra.v2), 'getCleanInfo');
                default:
                    throw new CommandError(`${device.id} cannot ${command.action}`);
            }
        }
        if (command.kind === 'select' && feature.id === 'water_level') {
            const level = WATER_LEVELS.find(([name]) => name === command.option);
            if (!level) throw new CommandError(`unknown water level "${command.option}"`);
            return this.run(did, setWaterCommand(level[1]), 'getWaterInfo');
        }
        if (command.kind === 'button' && feature.id.endsWith('_reset')) {
            const stem = feature.id.slice(0, -'_reset'.length);
            const part = LIFESPAN_PARTS.find(([, candidate]) => candidate === stem);
            if (!part) throw new CommandError(`no consumable behind "${feature.id}"`);
            await this.run(did, resetLifeSpanCommand(part[0]), null);
            await this.ask(did, getLifeSpanCommand([part[0]]));
            return;
        }
        throw new CommandError(`feature "${feature.id}" takes no ${command.kind} command`);
    }

    /** `charge` answers 0 when the bot sets off, 30007 when it is on its dock already (§5.2). */
    private async returnToBase(did: string): Promise<void> {
        const answer = await this.sendCommand(did, chargeCommand);
        if (String(answer.code) === ALREADY_CHARGING) {
            this.registry.updateState(ecovacsDeviceId(did), {vacuum: this.setActivity(did, 'docked')});
            return;
        }
        if (!isSuccess(answer)) throw refusal(chargeCommand, answer);
        // Where it is by now comes from the bot: it may have reached the dock before this reply did.
        void this.ask(did, {name: 'getCleanInfo'});
    }

    /** Sends a command; on success reads back what it changed (bots do not always push it). */
    private async run(did: string, command: EcoCommand, readBack: string | null): Promise<void> {
        const answer = await this.sendCommand(did, command);
        if (!isSuccess(answer)) throw refusal(command, answer);
        if (readBack) void this.ask(did, {name: readBack});
    }

    /** One command to the bot and its answer, both noted for the device page's recent messages. */
    private async exchange(did: string, command: EcoCommand): Promise<BotAnswer> {
        const id = ecovacsDeviceId(did);
        this.registry.noteTraffic(id, 'out', command);
        const answer = await this.options.link.send(did, command);
        this.registry.markSeen(id);
        const {code, msg, data, observations} = answer;
        this.registry.noteTraffic(id, 'in', {answer: command.name, code, msg, ...(data === undefined ? {observations} : {data})});
        return answer;
    }

    private async sendCommand(did: string, command: EcoCommand): Promise<BotAnswer> {
        try {
            return await this.exchange(did, command);
        } catch (error) {
            this.registry.countTimeout(ecovacsDeviceId(did), `${command.name}: ${(error as Error).message}`);
            throw new CommandError(`${command.name} did not reach the bot: ${(error as Error).message}`);
        }
    }

    // ── description ────────────────────────────────────────────────────────────────────────────

    private describe(id: string, extra: BotExtra): void {
        const existing = this.registry.get(id);
        this.registry.upsert({
            id,
            family: FAMILY,
            facts: {
                manufacturer: 'Ecovacs',
                model: `DEEBOT (${extra.cls})`,
                name: existing?.facts.name ?? `Deebot ${(extra.serial ?? extra.did).slice(-6)}`,
                ...(extra.serial !== undefined && {serialNumber: extra.serial}),
            },
            features: [...features(extra), ...(this.maps ? mapFeatures(extra) : [])],
        });
        this.registry.setExtra(id, 'bot', extra);
        if (!this.maps) return;
        const status = this.registry.get(id)?.state[MAP_STATUS_FEATURE.id];
        // XMPP bots send their map only as GetMapM / PullMP, whose format no notes describe well enough to read:
        // the status says so rather than leave a map that never comes.
        if (extra.protocol === 'xmpp') {
            if (status !== 'not_supported_over_xmpp') this.registry.updateState(id, {[MAP_STATUS_FEATURE.id]: 'not_supported_over_xmpp'});
        } else if (status === undefined || status === 'not_supported_over_xmpp') {
            // The picture is not kept across restarts: the status says so until the map is read again.
            this.registry.updateState(id, {[MAP_STATUS_FEATURE.id]: this.maps.status(extra.did)});
        }
    }

    private extra(id: string): BotExtra | undefined {
        return this.registry.get(id)?.extra.bot as BotExtra | undefined;
    }

    private updateExtra(id: string, patch: Partial<BotExtra>): void {
        const extra = this.extra(id);
        if (extra) this.registry.setExtra(id, 'bot', {...extra, ...patch});
    }

    private runtimeOf(did: string): BotRuntime {
        let runtime = this.runtime.get(did);
        if (!runtime) {
            runtime = {online: false, activity: null, charging: false, errorCode: 0, lastLifespanPoll: 0};
            this.runtime.set(did, runtime);
        }
        return runtime;
    }
}

/** The vacuum state with the rooms as HA segments: id → the user's name, else the bot's (its own name or its room type's). */
function withSegments(vacuum: VacuumState, extra: Pick<BotExtra, 'rooms' | 'roomNames'>): VacuumState {
    const {segments: _previous, ...rest} = vacuum;
    if (extra.rooms.length === 0) return rest;
    return {...rest, segments: roomNamesOf(extra)};
}

/** Room id → the user's name for it, else the bot's (its own name or its room type's). */
function roomNamesOf(extra: Pick<BotExtra, 'rooms' | 'roomNames'>): Record<string, string> {
    return Object.fromEntries(extra.rooms.map((room) => [room.id, extra.roomNames?.[room.id] ?? room.name]));
}

function features(extra: BotExtra): Feature[] {
    const vacuum: Feature = {id: 'vacuum', kind: 'vacuum', name: null, commands: [...VACUUM_COMMANDS], fanSpeeds: fanSpeedsOf(extra).map(([name]) => name)};
    if (extra.rooms.length > 0) vacuum.segments = true;
    const list: Feature[] = [
        vacuum,
        {id: 'battery', kind: 'sensor', name: {key: 'battery'}, deviceClass: 'battery', unit: '%', stateClass: 'measurement'},
        {id: 'charging', kind: 'binary_sensor', name: {key: 'charging'}, deviceClass: 'battery_charging'},
        {id: 'error', kind: 'sensor', name: {key: 'error'}, deviceClass: 'enum', options: ERROR_OPTIONS},
        {id: 'error_code', kind: 'sensor', name: {key: 'error_code'}, entityCategory: 'diagnostic', enabledByDefault: false},
        {id: 'clean_area', kind: 'sensor', name: {key: 'clean_area'}, deviceClass: 'area', unit: 'm²', stateClass: 'measurement'},
        {id: 'clean_time', kind: 'sensor', name: {key: 'clean_time'}, deviceClass: 'duration', unit: 's', stateClass: 'measurement'},
    ];
    for (const [type, stem] of LIFESPAN_PARTS) {
        if (!extra.lifespans.includes(type)) continue;
        list.push(
            {id: `${stem}_left`, kind: 'sensor', name: {key: `${stem}_left`}, unit: '%', stateClass: 'measurement', entityCategory: 'diagnostic', icon: 'mdi:progress-wrench'},
            {id: `${stem}_reset`, kind: 'button', name: {key: `${stem}_reset`}, entityCategory: 'config', icon: 'mdi:restore'},
        );
    }
    if (extra.water) {
        list.push(
            {id: 'water_level', kind: 'select', name: {key: 'water_level'}, options: WATER_LEVELS.map(([name]) => name), entityCategory: 'config', icon: 'mdi:water'},
            {id: 'mop_attached', kind: 'binary_sensor', name: {key: 'mop_attached'}},
        );
    }
    list.push({id: 'event', kind: 'event', name: {key: 'event'}, eventTypes: [...EVENT_TYPES]});
    return list;
}

/** MQTT bots have a map picture and its status; XMPP bots only the status, which says why there is no picture. */
function mapFeatures(extra: Pick<BotExtra, 'protocol'>): Feature[] {
    return extra.protocol === 'xmpp' ? [MAP_STATUS_FEATURE] : [MAP_FEATURE, MAP_STATUS_FEATURE];
}

function refusal(command: EcoCommand, answer: BotAnswer): CommandError {
    return new CommandError(`${command.name} was refused by the bot: ${String(answer.code)} ${answer.msg ?? ''}`.trim());
}
