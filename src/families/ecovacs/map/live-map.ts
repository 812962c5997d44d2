/**
 * An Ecovacs bot's map, fetched through its link: the major map's piece CRCs first, then only the
 * pieces whose CRC changed, the rooms' outlines when the room list changed, the path and the
 * positions. Drawn with the one renderer at most once per interval per bot, and only when something
 * it shows changed. Why there is no picture is the `map_status` sensor.
 */
import type {Feature} from '../../../core/device.js';
import {renderVacuumMapPng, type MapPoint} from '../../../core/vacuum-map.js';
import type {Logger} from '../../../util/logger.js';
import {Pacer} from '../../../util/pacer.js';
import {type BotAnswer, type EcoCommand, isSuccess} from '../codec.js';
import {
    type BotPositions,
    decodeMapPiece,
    getMajorMapCommand,
    getMapSubSetCommand,
    getMapTraceCommand,
    getMinorMapCommand,
    getPosCommand,
    type MajorMap,
    readMajorMap,
    readMapSubset,
    readMapTrace,
    readMinorMap,
    readPositions,
    toVacuumMap,
} from './ecovacs-map-codec.js';

export type MapStatus = 'no_map' | 'ok' | 'corrupt' | 'not_supported';
const MAP_STATUSES: MapStatus[] = ['no_map', 'ok', 'corrupt', 'not_supported'];

export const MAP_FEATURE: Feature = {id: 'map', kind: 'image', name: 'Map'};
export const MAP_STATUS_FEATURE: Feature = {id: 'map_status', kind: 'sensor', name: 'Map status', deviceClass: 'enum', options: MAP_STATUSES, entityCategory: 'diagnostic', icon: 'mdi:map-check'};

export interface LiveMapOptions {
    send(did: string, command: EcoCommand): Promise<BotAnswer>;
    renderIntervalMs: number;
    publish(did: string, png: Buffer): void;
    /** The names drawn on the rooms, by room id. */
    roomNames(did: string): Readonly<Record<string, string>>;
    setStatus(did: string, status: MapStatus): void;
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
    /** Bumped by anything drawn: a render with the same version changes nothing. */
    version: number;
    drawnVersion: number;
    refreshing: boolean;
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
    async refresh(did: string, mapId: string, roomIds: readonly string[]): Promise<void> {
        const bot = this.botFor(did);
        if (bot.refreshing) return;
        bot.refreshing = true;
        try {
            await this.refreshPieces(did, bot, mapId);
            await this.refreshRooms(did, bot, mapId, roomIds);
            const positions = readPositions((await this.ask(did, getPosCommand))?.data);
            if (positions) this.updatePositions(bot, positions);
            const trace = readMapTrace((await this.ask(did, getMapTraceCommand))?.data);
            if (trace && trace.length !== bot.trace.length) {
                bot.trace = trace;
                bot.version++;
            }
            this.scheduleDraw(did, bot);
        } catch (error) {
            this.options.log.limited('error', `map:${did}`, `${did}: reading the map failed: ${(error as Error).message}`);
        } finally {
            bot.refreshing = false;
        }
    }

    /** A position push (`onPos`): the marker moves at the next draw. */
    positionsPushed(did: string, data: unknown): void {
        const bot = this.bots.get(did);
        const positions = readPositions(data);
        if (!bot || !positions) return;
        this.updatePositions(bot, positions);
        this.scheduleDraw(did, bot);
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
        if (!bot.major || bot.major.mapId !== major.mapId || bot.major.pieceWidth !== major.pieceWidth || bot.major.pieceHeight !== major.pieceHeight || bot.major.crcs.length !== major.crcs.length) {
            bot.pieces = major.crcs.map(() => null);
            bot.pieceCrcs = major.crcs.map(() => null);
            bot.rooms.clear();
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
            const map = toVacuumMap({major: bot.major, pieces: bot.pieces, rooms: bot.rooms, roomNames: this.options.roomNames(did), positions: bot.positions, trace: bot.trace});
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
            bot = {status: 'no_map', major: null, pieces: [], pieceCrcs: [], rooms: new Map(), positions: {robot: null, charger: null}, trace: [], version: 0, drawnVersion: 0, refreshing: false};
            this.bots.set(did, bot);
        }
        return bot;
    }
}
