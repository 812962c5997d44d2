/**
 * From a robot's uploaded map to the picture on its `map` image feature: decoded, drawn and handed
 * on at most once per interval per robot (uploads in between wait, the newest wins), and only when
 * the upload differs from the last one drawn. Why a map was refused is the `map_status` sensor.
 */
import {createHash} from 'node:crypto';

import type {Feature} from '../../../core/device.js';
import {renderVacuumMapPng} from '../../../core/vacuum-map.js';
import type {Logger} from '../../../util/logger.js';
import {Pacer} from '../../../util/pacer.js';
import {decodeRoborockMap, type MapRefusal} from './roborock-map-codec.js';

export type MapStatus = 'no_map' | 'ok' | MapRefusal;
const MAP_STATUSES: MapStatus[] = ['no_map', 'ok', 'format_not_supported', 'corrupt', 'too_large'];

export const MAP_FEATURE: Feature = {id: 'map', kind: 'image', name: {key: 'map'}};
export const MAP_STATUS_FEATURE: Feature = {
    id: 'map_status',
    kind: 'sensor',
    name: {key: 'map_status'},
    deviceClass: 'enum',
    options: MAP_STATUSES,
    entityCategory: 'diagnostic',
    icon: 'mdi:map-check',
};

export interface LiveMapOptions {
    renderIntervalMs: number;
    publish(deviceId: string, png: Buffer): void;
    /** The name drawn on a room of the map (segment id as the robot numbers it). */
    roomName(deviceId: string, segmentId: string): string;
    setStatus(deviceId: string, status: MapStatus): void;
    log: Logger;
    now?: () => number;
}

interface RobotMap {
    status: MapStatus;
    /** Of the last upload drawn or refused, with the room names: the same again changes nothing. */
    lastDigest: string | null;
    waiting: Buffer | null;
}

export class LiveMaps {
    private readonly robots = new Map<string, RobotMap>();
    private readonly pacer: Pacer<string>;

    constructor(private readonly options: LiveMapOptions) {
        this.pacer = new Pacer({
            intervalMs: options.renderIntervalMs,
            run: (deviceId) => {
                const robot = this.robots.get(deviceId);
                if (robot) this.drawWaiting(deviceId, robot);
            },
            now: options.now,
        });
    }

    status(deviceId: string): MapStatus {
        return this.robots.get(deviceId)?.status ?? 'no_map';
    }

    /** An upload arrived; it is drawn now or when the robot's interval is over. */
    accept(deviceId: string, upload: Buffer): void {
        const robot = this.robotFor(deviceId);
        // One upload waits per robot at most: memory stays bounded however fast a robot uploads.
        robot.waiting = upload;
        this.pacer.poke(deviceId);
    }

    forget(deviceId: string): void {
        this.pacer.forget(deviceId);
        this.robots.delete(deviceId);
    }

    stop(): void {
        for (const deviceId of [...this.robots.keys()]) this.forget(deviceId);
    }

    private robotFor(deviceId: string): RobotMap {
        let robot = this.robots.get(deviceId);
        if (!robot) {
            robot = {status: 'no_map', lastDigest: null, waiting: null};
            this.robots.set(deviceId, robot);
        }
        return robot;
    }

    private drawWaiting(deviceId: string, robot: RobotMap): void {
        const upload = robot.waiting;
        robot.waiting = null;
        if (!upload) return;
        try {
            const decoded = decodeRoborockMap(upload);
            const roomNames = decoded.ok ? new Map(decoded.segmentIds.map((segmentId) => [segmentId, this.options.roomName(deviceId, String(segmentId))])) : new Map<number, string>();
            // A room renamed since the last picture is worth drawing the same upload again.
            const digest = createHash('sha256').update(upload).update(JSON.stringify([...roomNames])).digest('hex');
            if (digest === robot.lastDigest) return;
            robot.lastDigest = digest;
            if (!decoded.ok) {
                this.options.log.limited('warn', `map:${deviceId}`, `${deviceId}: map refused (${decoded.refusal}): ${decoded.reason}`);
                return this.setStatus(deviceId, robot, decoded.refusal);
            }
            this.options.publish(deviceId, renderVacuumMapPng({...decoded.map, roomNames}));
            this.setStatus(deviceId, robot, 'ok');
        } catch (error) {
            // Runs from a timer: a map the parser did not foresee must cost a log line, not the process.
            this.options.log.limited('error', `map:${deviceId}`, `${deviceId}: drawing the map failed: ${(error as Error).message}`);
            this.setStatus(deviceId, robot, 'corrupt');
        }
    }

    private setStatus(deviceId: string, robot: RobotMap, status: MapStatus): void {
        robot.status = status;
        this.options.setStatus(deviceId, status);
    }
}
