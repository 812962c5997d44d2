/**
 * An Ecovacs bot's map, fetched through its link: the major map's piece CRCs first, then only the
 * pieces whose CRC changed, the rooms' outlines when the room list changed, the virtual walls and
 * no-mop zones once per map, the path and the positions. The bot's pushes keep it fresh between
 * refreshes: `onMajorMap` (new CRCs: only those pieces are fetched), `onMapTrace`, `onPos` and
 * `onChargerPos`. Drawn with the one renderer at most once per interval per bot, and only when
 * something it shows changed. Why there is no picture is the `map_status` sensor.
 */
import type {Feature} from '../../../core/device.js';
import {renderVacuumMapPng, type MapPoint} from '../../../core/vacuum-map.js';
import type {Logger} from '../../../util/logger.js';
import {Pacer} from '../../../util/pacer.js';
import {type BotAnswer, type EcoCommand, getMapSetCommand, isSuccess} from '../codec.js';
import {
    BOUNDARY_KINDS,
    type BotPositions,
    decodeMapPiece,
    getMajorMapCommand,
    getMapSubSetCommand,
    getMapTraceCommand,
    getMinorMapCommand,
    getPosCommand,
    type MajorMap,
    type MapBoundary,
    type MapTrace,
    MAX_POINTS,
    readBoundary,
    readBoundaryIds,
    readMajorMap,
    readMapSubset,
    readMapTrace,
    readMinorMap,
    readPieceCrcs,
    readPositions,
    toVacuumMap,
} from './ecovacs-map-codec.js';

/** `not_supported_over_xmpp`: XMPP bots are not asked for their map (see the adapter). */
export type MapStatus = 'no_map' | 'ok' | 'corrupt' | 'not_supported' | 'not_supported_over_xmpp';
const MAP_STATUSES: MapStatus[] = ['no_map', 'ok', 'corrupt', 'not_supported', 'not_supported_over_xmpp'];

export const MAP_FEATURE: Feature = {id: 'map', kind: 'image', name: {key: 'map'}};
export const MAP_STATUS_FEATURE: Feature = {id: 'map_status', kind: 'sensor', name: {key: 'map_status'}, deviceClass: 'enum', options: MAP_STATUSES, entityCategory: 'diagnostic', icon: 'mdi:map-check'};

export interface LiveMapOptions {
    send(did: string, command: EcoCommand): Promise<BotAnswer>;
    renderIntervalMs: number;
    publish(did: string, png: Buffer): void;
    setStatus(did: string, status: MapStatus): void;
    /** The names drawn on the rooms, by room id. */
    roomNames(did: string): Readonly<Record<string, string>>;
    log: Logger;
    now?: () => number;
}

interface BotMap {
    status: MapStatus;
    major: MajorMap | null;
    pieces: (Uint8Array | null)[];
    /** The CRC each kept piece was fetched under. */
    pieceCrcs: (string | null)[];
    rooms: Map<string, MapPoint[]>;
    positions: BotPositions;
    trace: MapPoint[];
    boundaries: MapBoundary[];
    /** The map whose virtual walls and no-mop zones were read: they are read once per map. */
    boundariesOf: string | null;
    /** Bumped by anything drawn: a render with the same version changes nothing. */
    version: number;
    drawnVersion: number;
    /** The bot's reads in turn (a refresh, a push's pieces): two never ask for the same piece at once. */
    work: Promise<void>;
    /** A refresh waiting its turn: another asked meanwhile joins it. */
    queuedRefresh: Promise<void> | null;
}

export class EcovacsLiveMaps {
    private readonly bots = new Map<string, BotMap>();
    private readonly pacer: Pacer<string>;

    constructor(private readonly options: LiveMapOptions) {
        this.pacer = new Pacer({
            intervalMs: options.renderIntervalMs,
            run: (did) => {
                const bot = this.bots.get(did);
                if (bot) this.draw(did, bot);
            },
            now: options.now,
        });
    }

    status(did: string): MapStatus {
        return this.bots.get(did)?.status ?? 'no_map';
    }

    /** Fetches what changed on the bot's map (`mapId`, rooms by id) and draws it; never throws. */
    refresh(did: string, mapId: string, roomIds: readonly string[]): Promise<void> {
        const bot = this.botFor(did);
        bot.queuedRefresh ??= this.inTurn(did, bot, async () => {
            bot.queuedRefresh = null;
            await this.refreshPieces(did, bot, mapId);
            await this.refreshRooms(did, bot, mapId, roomIds);
            await this.refreshBoundaries(did, bot, mapId);
            const positions = readPositions((await this.ask(did, getPosCommand))?.data);
            if (positions) this.updatePositions(bot, positions);
            const trace = readMapTrace((await this.ask(did, getMapTraceCommand))?.data);
            if (trace) this.updateTrace(bot, trace);
            this.scheduleDraw(did, bot);
        });
        return bot.queuedRefresh;
    }

    /** A position push (`onPos`, `onChargerPos`): the markers move at the next draw. */
    positionsPushed(did: string, data: unknown): void {
        const bot = this.bots.get(did);
        const positions = readPositions(data);
        if (!bot || !positions) return;
        this.updatePositions(bot, positions);
        this.scheduleDraw(did, bot);
    }

    /** `onMajorMap`: the pieces whose CRC changed are fetched and drawn; a map not read yet waits for the next refresh. */
    majorMapPushed(did: string, data: unknown): Promise<void> {
        const bot = this.bots.get(did);
        const pushed = readPieceCrcs(data);
        if (!bot || !pushed) return Promise.resolve();
        return this.inTurn(did, bot, async () => {
            const known = bot.major;
            // The push may carry the grid as getMajorMap does; without it, only the grid already read can place the pieces.
            const major = readMajorMap(data) ?? (known && known.mapId === pushed.mapId && known.crcs.length === pushed.crcs.length ? {...known, crcs: pushed.crcs} : null);
            if (!major) {
                this.options.log.debug(() => `${did}: onMajorMap for a map not read yet (${pushed.mapId}): read at the next refresh`);
                return;
            }
            await this.fetchPieces(did, bot, major);
            this.scheduleDraw(did, bot);
        });
    }

    /** `onMapTrace`: the path, or its continuation; one without points makes us ask for it. */
    tracePushed(did: string, data: unknown): Promise<void> {
        const bot = this.bots.get(did);
        if (!bot) return Promise.resolve();
        const trace = readMapTrace(data);
        if (trace && this.updateTrace(bot, trace)) {
            this.scheduleDraw(did, bot);
            return Promise.resolve();
        }
        return this.inTurn(did, bot, async () => {
            const asked = readMapTrace((await this.ask(did, getMapTraceCommand))?.data);
            if (asked) this.updateTrace(bot, asked);
            this.scheduleDraw(did, bot);
        });
    }

    forget(did: string): void {
        this.pacer.forget(did);
        this.bots.delete(did);
    }

    stop(): void {
        for (const did of [...this.bots.keys()]) this.forget(did);
    }

    private async refreshPieces(did: string, bot: BotMap, mapId: string): Promise<void> {
        const answer = await this.ask(did, getMajorMapCommand(mapId));
        if (!answer) return;
        const major = readMajorMap(answer.data);
        if (!major) {
            this.options.log.limited('warn', `map:${did}`, `${did}: getMajorMap answered a map we cannot read`);
            return this.setStatus(did, bot, 'not_supported');
        }
        await this.fetchPieces(did, bot, major);
    }

    /** Takes the major map's CRCs and fetches the pieces whose CRC is not the one they were fetched under. */
    private async fetchPieces(did: string, bot: BotMap, major: MajorMap): Promise<void> {
        if (!bot.major || bot.major.mapId !== major.mapId || bot.major.pieceWidth !== major.pieceWidth || bot.major.pieceHeight !== major.pieceHeight || bot.major.crcs.length !== major.crcs.length) {
            bot.pieces = major.crcs.map(() => null);
            bot.pieceCrcs = major.crcs.map(() => null);
            bot.rooms.clear();
            bot.boundaries = [];
            bot.boundariesOf = null;
            bot.version++;
        }
        bot.major = major;
        let refused: string | null = null;
        for (const [index, crc] of major.crcs.entries()) {
            if (bot.pieceCrcs[index] === crc) continue;
            const piece = readMinorMap((await this.ask(did, getMinorMapCommand(major.mapId, index)))?.data);
            if (!piece || piece.pieceIndex !== index) continue;
            const decoded = decodeMapPiece(piece.value, major.pieceWidth, major.pieceHeight);
            // A refused piece keeps its CRC unknown: it is asked for again at the next refresh.
            if (!decoded.ok) {
                refused ??= `piece ${index}: ${decoded.reason}`;
                continue;
            }
            bot.pieces[index] = decoded.pixels;
            bot.pieceCrcs[index] = crc;
            bot.version++;
        }
        if (refused) {
            this.options.log.limited('warn', `map:${did}`, `${did}: map piece refused (${refused})`);
            this.setStatus(did, bot, 'corrupt');
        }
    }

    private async refreshRooms(did: string, bot: BotMap, mapId: string, roomIds: readonly string[]): Promise<void> {
        for (const id of [...bot.rooms.keys()]) if (!roomIds.includes(id)) bot.rooms.delete(id);
        for (const roomId of roomIds) {
            if (bot.rooms.has(roomId)) continue;
            const subset = readMapSubset((await this.ask(did, getMapSubSetCommand(mapId, roomId)))?.data);
            if (!subset || subset.roomId !== roomId) continue;
            bot.rooms.set(roomId, subset.outline);
            bot.version++;
        }
    }

    /** Virtual walls and no-mop zones: each refused one costs a log line and is left out, the rest is drawn. */
    private async refreshBoundaries(did: string, bot: BotMap, mapId: string): Promise<void> {
        if (bot.boundariesOf === mapId) return;
        const boundaries: MapBoundary[] = [];
        const refused: string[] = [];
        for (const kind of BOUNDARY_KINDS) {
            const answer = await this.ask(did, getMapSetCommand(mapId, kind));
            // A bot without them refuses the question: nothing to draw, nothing to say.
            if (!answer) continue;
            const ids = readBoundaryIds(answer.data, kind);
            if (!ids) {
                refused.push(`getMapSet ${kind} unreadable`);
                continue;
            }
            for (const id of ids) {
                const read = readBoundary((await this.ask(did, getMapSubSetCommand(mapId, id, kind)))?.data, kind, id);
                if (read.ok) boundaries.push(read.boundary);
                else refused.push(read.reason);
            }
        }
        if (refused.length > 0) this.options.log.limited('warn', `map-boundaries:${did}`, `${did}: virtual walls / no-mop zones left out (${refused.join('; ')})`);
        bot.boundariesOf = mapId;
        if (boundaries.length === 0 && bot.boundaries.length === 0) return;
        bot.boundaries = boundaries;
        bot.version++;
    }

    /** A path from its start replaces the one kept; its continuation is appended; false when it fits neither. */
    private updateTrace(bot: BotMap, trace: MapTrace): boolean {
        if (trace.start === 0) {
            if (trace.points.length === bot.trace.length && trace.points.every((point, index) => point.x === bot.trace[index]!.x && point.y === bot.trace[index]!.y)) return true;
            bot.trace = trace.points;
        } else if (bot.trace.length >= MAX_POINTS) {
            // A path as long as the cap is not extended: memory stays bounded, whatever a bot pushes.
            return true;
        } else if (trace.start === bot.trace.length) {
            if (trace.points.length === 0) return true;
            bot.trace = [...bot.trace, ...trace.points].slice(0, MAX_POINTS);
        } else {
            return false;
        }
        bot.version++;
        return true;
    }

    /** Runs a read after the bot's reads before it; a failure costs a log line, never the next read. */
    private inTurn(did: string, bot: BotMap, read: () => Promise<void>): Promise<void> {
        // A bot forgotten meanwhile (it went offline) is not asked any more.
        const next = bot.work.then(() => (this.bots.get(did) === bot ? read() : undefined)).catch((error: unknown) => {
            this.options.log.limited('error', `map:${did}`, `${did}: reading the map failed: ${(error as Error).message}`);
        });
        bot.work = next;
        return next;
    }

    private updatePositions(bot: BotMap, positions: BotPositions): void {
        const next = {robot: positions.robot ?? bot.positions.robot, charger: positions.charger ?? bot.positions.charger};
        if (JSON.stringify(next) === JSON.stringify(bot.positions)) return;
        bot.positions = next;
        bot.version++;
    }

    /** The bot's answer when it gave one with success, else null (it is not asked twice for one refresh). */
    private async ask(did: string, command: EcoCommand): Promise<BotAnswer | null> {
        try {
            const answer = await this.options.send(did, command);
            return isSuccess(answer) ? answer : null;
        } catch {
            return null;
        }
    }

    private scheduleDraw(did: string, bot: BotMap): void {
        if (bot.version !== bot.drawnVersion) this.pacer.poke(did);
    }

    private draw(did: string, bot: BotMap): void {
        if (!bot.major || bot.version === bot.drawnVersion) return;
        bot.drawnVersion = bot.version;
        try {
            const map = toVacuumMap({major: bot.major, pieces: bot.pieces, rooms: bot.rooms, roomNames: this.options.roomNames(did), positions: bot.positions, trace: bot.trace, boundaries: bot.boundaries});
            if (!map) return;
            this.options.publish(did, renderVacuumMapPng(map));
            if (bot.pieces.every((piece) => piece !== null)) this.setStatus(did, bot, 'ok');
        } catch (error) {
            // Runs from a timer: a map the reader did not foresee must cost a log line, not the process.
            this.options.log.limited('error', `map:${did}`, `${did}: drawing the map failed: ${(error as Error).message}`);
            this.setStatus(did, bot, 'corrupt');
        }
    }

    private setStatus(did: string, bot: BotMap, status: MapStatus): void {
        if (bot.status === status) return;
        bot.status = status;
        this.options.setStatus(did, status);
    }

    private botFor(did: string): BotMap {
        let bot = this.bots.get(did);
        if (!bot) {
            bot = {
                status: 'no_map',
                major: null,
                pieces: [],
                pieceCrcs: [],
                rooms: new Map(),
                positions: {robot: null, charger: null},
                trace: [],
                boundaries: [],
                boundariesOf: null,
                version: 0,
                drawnVersion: 0,
                work: Promise.resolve(),
                queuedRefresh: null,
            };
            this.bots.set(did, bot);
        }
        return bot;
    }
}
