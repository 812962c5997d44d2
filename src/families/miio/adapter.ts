/**
 * The miIO adapter: between the cloud (cloud.ts over socket.ts) and the registry (normalised
 * devices). It keeps what `_otc.info` tells, polls and applies pushes through the device's model,
 * turns feature commands into requests, and keeps link health.
 */
import {CommandError} from '../../core/commands.js';
import {type Device, type DeviceFacts, type DeviceState, type Feature, makeDeviceId} from '../../core/device.js';
import type {DeviceRegistry} from '../../core/registry.js';
import type {CommandRouter, RoutedCommand} from '../../core/router.js';
import {type SetupField, SetupRefused} from '../../core/setup.js';
import {DeadlineWheel} from '../../util/deadline-wheel.js';
import {createLogger, registerSecret} from '../../util/logger.js';
import {isPlainObject} from '../../util/plain-object.js';
import type {FamilyEdge} from '../../edge/index.js';
import type {FamilyContext, FamilyService} from '../family.js';
import {MiioCloud} from './cloud.js';
import {cloudKeyProblem, keysFromCloudKey, type MiioKeys} from './codec.js';
import {gslbRoute} from './gslb.js';
import {LiveMaps, MAP_FEATURE, MAP_STATUS_FEATURE} from './map/live-map.js';
import {MapUploads} from './map/map-uploads.js';
import {createModel, type MiioModel} from './models/index.js';
import {defaultRoomName, isRoborockVacuum} from './models/roborock-vacuum.js';
import type {MiioSettings} from './settings.js';
import type {MiioSession, MiioSocketDropReason} from './socket.js';

const log = createLogger('miio:adapter');

/** Registry keys (`extra` and `secrets`) this family uses. */
export const CLOUD_KEY_SECRET = 'cloudKey';
/** Devices without a cloud key shown at once; see admitUnknown. */
export const MAX_UNKNOWN_DEVICES = 16;
/** A did without a key that stayed silent this long is forgotten at the next start. */
const FORGET_UNKNOWN_AFTER_MS = 7 * 86_400_000;
export const LOCAL_TOKEN_SECRET = 'localToken';
/** Room names given in the web UI, by segment id (registry `extra`): they win over the settings'. */
const ROOM_NAMES_EXTRA = 'roomNames';
/** Names the map upload port in the edge's listeners and log lines. */
export const MAP_UPLOAD_LISTENER = 'miio map upload';
/** A robot uploads within seconds of being handed a URL; an older one is no longer of use. */
const MAP_URL_LIFETIME_MS = 5 * 60_000;
const MAX_OPEN_MAP_URLS = 256;

export type CloudKeyStatus = 'ok' | 'missing' | 'wrong';

/** What a device waiting for its cloud key asks the user for (the web UI's key field); a pasted 32-digit token is read to say what it is. */
export const CLOUD_KEY_SETUP_FIELD: SetupField = {id: CLOUD_KEY_SECRET, secret: true, maxLength: 64};

/** Every miIO device shows whether its cloud key works: the first thing to check when nothing else does. */
export const CLOUD_KEY_FEATURE: Feature = {
    id: 'cloud_key',
    kind: 'sensor',
    name: {key: 'cloud_key'},
    deviceClass: 'enum',
    options: ['ok', 'missing', 'wrong'],
    entityCategory: 'diagnostic',
    icon: 'mdi:key-wireless',
    availableWhileOffline: true,
};

export function miioDeviceId(did: number): string {
    return makeDeviceId('miio', String(did));
}

const KEY_NEEDED = (did: number): string =>
    `cloud key needed: run "fogbridge miio add --did ${did} --key <16 characters from device.conf>" or add it to miio.devices`;

interface DeviceEntry {
    did: number;
    id: string;
    keys: MiioKeys | null;
    configuredName?: string;
    /** Room names from the settings, by segment id. */
    configuredRooms: Record<string, string>;
    model: MiioModel | null;
    modelName?: string;
    firmware?: string;
    lastConsumablePoll: number;
    polling: boolean;
    /** A poll was asked for while one ran (e.g. right after a command's ack): run it when that one ends. */
    pollAgain: boolean;
    /** When we last asked the robot for a fresh map (ms). */
    lastMapRequest: number;
}

export class MiioService implements FamilyService {
    private readonly settings: MiioSettings;
    private readonly registry: DeviceRegistry;
    private readonly router: CommandRouter;
    private readonly entries = new Map<number, DeviceEntry>();
    /** Ids of the devices shown without a cloud key: counted here so a flood of made-up dids never scans the registry. */
    private readonly keylessShown = new Set<string>();
    readonly server: MiioCloud;
    private pollTimer: NodeJS.Timeout | null = null;
    /**
     * When each device is polled next: first at an offset within the interval chosen by its did, so
     * a fleet's polls leave spread over the interval, not in one burst that grows with the fleet.
     */
    private readonly pollWheel = new DeadlineWheel<DeviceEntry>(1000, performance.now());
    private mapTimer: NodeJS.Timeout | null = null;
    private readonly edge: FamilyEdge;
    /** Null when `miio.maps.enabled` is off. */
    private readonly maps: {uploads: MapUploads; live: LiveMaps} | null;

    constructor(context: Pick<FamilyContext<MiioSettings>, 'settings' | 'registry' | 'images' | 'router' | 'edge'>) {
        this.settings = context.settings;
        this.edge = context.edge;
        this.registry = context.registry;
        this.router = context.router;
        this.maps = this.settings.maps.enabled ? this.createMaps(context.images) : null;
        this.server = new MiioCloud(
            {
                host: this.settings.host,
                port: this.settings.port,
                advertiseAddress: this.settings.advertiseAddress,
                requestTimeoutMs: this.settings.requestTimeoutMs,
                probeAfterMs: this.settings.probeAfterSeconds * 1000,
                offlineAfterMs: this.settings.offlineAfterSeconds * 1000,
                maxDatagramBytes: this.settings.maxDatagramBytes,
                helloRatePerSecond: this.settings.helloRatePerSecond,
                flood: this.settings.flood,
                floodGuard: this.edge.floodGuard,
                countryCode: this.settings.countryCode,
                mapUploads: this.maps && {answer: (...request) => this.maps!.uploads.answer(...request), port: () => this.edge.ports.http[MAP_UPLOAD_LISTENER] ?? null},
            },
            {
                keysFor: (did) => this.entries.get(did)?.keys ?? null,
                onSeen: (session) => this.onSeen(session),
                onKeyMissing: (session) => this.onKeyMissing(session),
                onBadPacket: (did, reason, detail) => this.onBadPacket(did, reason, detail),
                onOtcInfo: (session, params) => this.onOtcInfo(session, params),
                onDeviceRequest: (session, method, params) => this.onDeviceRequest(session, method, params),
                onTimeout: (session, method) => this.onTimeout(session, method),
                onOverdue: (session) => this.onOverdue(session),
                onSilent: (session) => this.onSilent(session),
                onSent: (session) => this.registry.countSent(miioDeviceId(session.did)),
                onMessage: (session, direction, message) => this.registry.noteTraffic(miioDeviceId(session.did), direction, message),
                loadRequestId: (did) => {
                    const stored = this.registry.get(miioDeviceId(did))?.extra.nextRequestId;
                    return typeof stored === 'number' ? stored : undefined;
                },
                saveRequestId: (did, reservedUpTo) => {
                    const id = miioDeviceId(did);
                    if (this.registry.has(id)) this.registry.setExtra(id, 'nextRequestId', reservedUpTo);
                },
            },
        );
    }

    async start(): Promise<void> {
        this.loadDevices();
        this.router.register('miio', (routed) => this.handleCommand(routed));
        this.router.registerSetup('miio', {
            pending: (device) => (this.waitsForCloudKey(device) ? [CLOUD_KEY_SETUP_FIELD] : []),
            apply: async (device, input) => this.takeCloudKey(device, input[CLOUD_KEY_SETUP_FIELD.id]!),
        });
        await this.server.start();
        this.edge.reportUnansweredHellos(() => this.server.stats.hellosUnanswered);
        if (this.settings.gslb.enabled) this.serveGslb();
        this.pollTimer = setInterval(() => this.pollDue(), 1000);
        this.pollTimer.unref();
        if (this.maps) {
            this.serveMapUploads(this.maps.uploads);
            this.mapTimer = setInterval(() => this.askForMaps(), this.settings.maps.freshMapIntervalSeconds * 1000);
            this.mapTimer.unref();
        }
    }

    async stop(): Promise<void> {
        if (this.pollTimer) clearInterval(this.pollTimer);
        this.pollTimer = null;
        if (this.mapTimer) clearInterval(this.mapTimer);
        this.mapTimer = null;
        this.maps?.live.stop();
        await this.edge.release();
        await this.server.stop();
        // As a closed TCP connection does for a plug: HA learns now, not from the next start's
        // replay (which would show the devices online for a moment before saying they are not).
        for (const {id} of this.entries.values()) {
            if (this.registry.get(id)?.link.online) this.registry.updateLink(id, {online: false});
        }
    }

    private serveGslb(): void {
        const {host, port, fallbackPort, hosts} = this.settings.gslb;
        this.edge.addHttpRoute(
            gslbRoute({
                hosts,
                udpPort: this.server.port,
                advertiseAddress: this.settings.advertiseAddress,
                cloudKeyFor: (did) => this.entries.get(did)?.keys?.token ?? null,
                onUnknownDid: (did, address) => log.limited('warn', `gslb:${address}`, `/gslb from ${address} for did ${did}: ${KEY_NEEDED(did)}`),
            }),
        );
        this.edge.servePlainHttp({
            host,
            port,
            fallbackPort,
            fallbackHint: `not root? redirect tcp ${port} to the fallback port (DNAT) for devices`,
            label: '/gslb',
            // Only newer miio_clients ask /gslb; the UDP link must not die with it (port 80 is often taken).
            onListenFailure: (error) => log.error(`/gslb HTTP-DNS not started: ${error.message}; devices that need it will not find the bridge (see miio.gslb.port)`),
        });
    }

    private createMaps(images: FamilyContext<MiioSettings>['images']): {uploads: MapUploads; live: LiveMaps} {
        const {maxUploadBytes, renderIntervalSeconds} = this.settings.maps;
        const live = new LiveMaps({
            renderIntervalMs: renderIntervalSeconds * 1000,
            publish: (deviceId, png) => images.publish(deviceId, MAP_FEATURE.id, png),
            roomName: (deviceId, segmentId) => {
                const did = this.registry.get(deviceId)?.extra.did;
                const entry = typeof did === 'number' ? this.entries.get(did) : undefined;
                return (entry && this.roomName(entry, segmentId)) ?? defaultRoomName(segmentId);
            },
            setStatus: (deviceId, status) => {
                if (this.registry.get(deviceId)?.state[MAP_STATUS_FEATURE.id] !== status) this.registry.updateState(deviceId, {[MAP_STATUS_FEATURE.id]: status});
            },
            log,
        });
        const uploads = new MapUploads({
            maxBytes: maxUploadBytes,
            urlLifetimeMs: MAP_URL_LIFETIME_MS,
            maxOpenUrls: MAX_OPEN_MAP_URLS,
            onUpload: (did, body) => {
                const entry = this.entries.get(did);
                if (entry && this.hasMap(entry)) live.accept(entry.id, body);
            },
            onRefused: (address, reason) => log.limited('warn', `map-upload:${address}`, `map upload refused: ${reason}`),
        });
        return {uploads, live};
    }

    private serveMapUploads(uploads: MapUploads): void {
        const {host, port} = this.settings.maps;
        this.edge.addHttpRoute(uploads.route);
        this.edge.servePlainHttp({
            host,
            port,
            label: MAP_UPLOAD_LISTENER,
            // Maps are a bonus: the vacuum's other entities must not depend on this port.
            onListenFailure: (error) => log.error(`map uploads not started: ${error.message}; robots will show no map (see miio.maps.port)`),
        });
    }

    /** A Roborock vacuum, with maps on: it has the map and map status features. */
    private hasMap(entry: DeviceEntry): boolean {
        return this.maps !== null && entry.model !== null && isRoborockVacuum(entry.model.model);
    }

    /** Robots that clean (or never sent a map) are asked to upload one; the answer is the upload itself. */
    private askForMaps(): void {
        const due = Date.now() - this.settings.maps.freshMapIntervalSeconds * 1000 + 500;
        for (const entry of this.entries.values()) {
            if (!this.hasMap(entry) || entry.lastMapRequest > due) continue;
            const session = this.server.session(entry.did);
            if (!session?.verified || session.silent) continue;
            const vacuum = this.registry.get(entry.id)?.state.vacuum;
            const cleaning = typeof vacuum === 'object' && vacuum !== null && 'activity' in vacuum && vacuum.activity === 'cleaning';
            if (!cleaning && this.maps!.live.status(entry.id) !== 'no_map') continue;
            entry.lastMapRequest = Date.now();
            this.server.request(entry.did, 'get_fresh_map_v1', []).catch((error: Error) => log.debug(() => `${entry.id}: get_fresh_map_v1 failed: ${error.message}`));
        }
    }

    /** Configured devices and those added with `fogbridge miio add` (registry secrets). */
    private loadDevices(): void {
        const configured = new Set<number>(this.settings.devices.map((device) => device.did));
        for (const device of this.registry.list('miio')) {
            const did = Number(device.extra.did);
            if (!Number.isInteger(did) || did <= 0) continue;
            const key = device.secrets[CLOUD_KEY_SECRET];
            if (!key && !configured.has(did) && (device.link.lastSeen ?? 0) < Date.now() - FORGET_UNKNOWN_AFTER_MS) {
                log.info(`forgetting ${device.id}: no cloud key was ever given and it has not been heard from in ${FORGET_UNKNOWN_AFTER_MS / 86_400_000} days`);
                this.registry.remove(device.id);
                continue;
            }
            const entry = this.entryFor(did);
            if (key && !cloudKeyProblem(key)) entry.keys = keysFromCloudKey(key);
            if (typeof device.extra.model === 'string') entry.modelName = device.extra.model;
            if (typeof device.extra.firmware === 'string') entry.firmware = device.extra.firmware;
        }
        for (const configured of this.settings.devices) {
            registerSecret(configured.key);
            const entry = this.entryFor(configured.did);
            entry.keys = keysFromCloudKey(configured.key);
            if (configured.name) entry.configuredName = configured.name;
            if (configured.rooms) entry.configuredRooms = configured.rooms;
            if (configured.model && !entry.modelName) entry.modelName = configured.model;
        }
        for (const entry of this.entries.values()) {
            this.describe(entry);
            // With a key, its status waits for the first packet: only a verified checksum proves it right.
            if (entry.keys) this.registry.setSecret(entry.id, CLOUD_KEY_SECRET, entry.keys.token.toString('latin1'));
            else {
                this.keylessShown.add(entry.id);
                this.setCloudKeyStatus(entry, 'missing', true);
            }
        }
        log.info(`${this.entries.size} miIO device(s) known, ${[...this.entries.values()].filter((entry) => entry.keys).length} with a cloud key`);
    }

    /**
     * Whether a did we have no key for may appear as a device. Anyone on the LAN can send packets with
     * made-up dids: at most MAX_UNKNOWN_DEVICES such devices are kept, so they cannot fill the registry.
     */
    private admitUnknown(entry: DeviceEntry, session: MiioSession): boolean {
        if (entry.keys) return true;
        for (const id of this.keylessShown) if (!this.registry.has(id)) this.keylessShown.delete(id);
        if (this.keylessShown.size < MAX_UNKNOWN_DEVICES) {
            this.keylessShown.add(entry.id);
            return true;
        }
        log.limited('warn', 'unknown-cap', `did ${entry.did} from ${session.address ?? 'an unknown address'} not shown: already ${this.keylessShown.size} devices without a cloud key (remove stale ones with "fogbridge remove")`);
        return false;
    }

    private entryFor(did: number): DeviceEntry {
        let entry = this.entries.get(did);
        if (!entry) {
            entry = {did, id: miioDeviceId(did), keys: null, configuredRooms: {}, model: null, lastConsumablePoll: 0, polling: false, pollAgain: false, lastMapRequest: 0};
            this.entries.set(did, entry);
            this.pollWheel.add(entry, performance.now() + (did % this.settings.pollIntervalSeconds) * 1000);
        }
        return entry;
    }

    /** (Re)writes the device's facts and features from what we know of its model. */
    private describe(entry: DeviceEntry): void {
        if (entry.modelName && entry.model?.model !== entry.modelName) {
            entry.model = createModel(entry.modelName, entry.firmware, (segmentId) => this.roomName(entry, segmentId));
            if (!entry.model) log.warn(`${entry.id}: model ${entry.modelName} is not supported yet; only its link is shown`);
        }
        const existing = this.registry.get(entry.id);
        const otc = (existing?.extra.otc ?? {}) as {mac?: string; localIp?: string; hardware?: string};
        const facts: DeviceFacts = {
            manufacturer: entry.model?.manufacturer ?? 'Xiaomi',
            model: entry.modelName ?? 'unknown miIO device',
            name: entry.configuredName ?? existing?.facts.name ?? entry.model?.displayName ?? `miIO ${entry.did}`,
        };
        // A name the device got from its model is replaced once the model is known.
        if (!entry.configuredName && existing && existing.facts.name === `miIO ${entry.did}` && entry.model) facts.name = entry.model.displayName;
        if (entry.firmware) facts.firmware = entry.firmware;
        if (otc.mac) facts.mac = otc.mac;
        if (otc.hardware) facts.hardwareVersion = otc.hardware;
        if (otc.localIp) facts.ip = otc.localIp;
        const maps = this.hasMap(entry);
        const features = [...(entry.model?.features() ?? []), ...(maps ? [MAP_FEATURE, MAP_STATUS_FEATURE] : []), CLOUD_KEY_FEATURE];
        this.registry.upsert({id: entry.id, family: 'miio', facts, features});
        this.registry.setExtra(entry.id, 'did', entry.did);
        // The picture is kept across restarts (core/images.ts), so is the status that goes with it: only a new robot starts at no_map.
        if (maps && this.registry.get(entry.id)?.state[MAP_STATUS_FEATURE.id] === undefined) this.registry.updateState(entry.id, {[MAP_STATUS_FEATURE.id]: this.maps!.live.status(entry.id)});
    }

    private roomName(entry: DeviceEntry, segmentId: string): string | undefined {
        return this.renamedRooms(entry)[segmentId] ?? entry.configuredRooms[segmentId];
    }

    private renamedRooms(entry: DeviceEntry): Record<string, string> {
        const stored = this.registry.get(entry.id)?.extra[ROOM_NAMES_EXTRA];
        return isPlainObject(stored) ? (stored as Record<string, string>) : {};
    }

    private renameRoom(entry: DeviceEntry, segmentId: string, name: string): void {
        this.registry.setExtra(entry.id, ROOM_NAMES_EXTRA, {...this.renamedRooms(entry), [segmentId]: name.trim()});
        const patch = entry.model?.roomNamesChanged?.() ?? {};
        if (Object.keys(patch).length > 0) this.registry.updateState(entry.id, patch);
    }

    private setCloudKeyStatus(entry: DeviceEntry, status: CloudKeyStatus, explain: boolean): void {
        this.registry.updateState(entry.id, {cloud_key: status});
        if (explain && status === 'missing') this.registry.updateLink(entry.id, {lastError: KEY_NEEDED(entry.did)});
        if (explain && status === 'wrong') {
            this.registry.updateLink(entry.id, {lastError: `the cloud key of ${entry.did} does not match its packets: check key= in device.conf`});
        }
    }

    /** Keys from the settings stay there: a key typed in would be overwritten at the next start. */
    private waitsForCloudKey(device: Device): boolean {
        const did = device.extra.did;
        const configured = this.settings.devices.some((candidate) => candidate.did === did);
        return !configured && typeof did === 'number' && this.entries.has(did) && device.state.cloud_key !== 'ok';
    }

    /** A key typed into the web UI: kept as a secret, checked by the next packet the device sends. */
    private takeCloudKey(device: Device, cloudKey: string): void {
        const problem = cloudKeyProblem(cloudKey);
        if (problem) throw new SetupRefused(problem);
        registerSecret(cloudKey);
        const entry = this.entries.get(device.extra.did as number)!;
        entry.keys = keysFromCloudKey(cloudKey);
        this.registry.setSecret(entry.id, CLOUD_KEY_SECRET, cloudKey);
        log.info(`${entry.id}: cloud key entered; the next packet of ${entry.did} checks it`);
    }

    private onSeen(session: MiioSession): void {
        const entry = this.entryFor(session.did);
        if (!this.registry.has(entry.id)) {
            if (!this.admitUnknown(entry, session)) return;
            this.describe(entry);
        }
        this.registry.markSeen(entry.id);
        if (session.verified && this.registry.get(entry.id)?.state.cloud_key !== 'ok') this.setCloudKeyStatus(entry, 'ok', false);
        // A device whose model we do not know yet is asked (it also tells in _otc.info, every 30 min).
        if (session.verified && !entry.modelName && !entry.polling) void this.askModel(entry);
    }

    private onKeyMissing(session: MiioSession): void {
        const entry = this.entryFor(session.did);
        if (!this.registry.has(entry.id)) {
            if (!this.admitUnknown(entry, session)) return;
            log.warn(`device with did ${session.did} connected from ${session.address} without a known cloud key: ${KEY_NEEDED(session.did)}`);
            this.describe(entry);
        }
        const device = this.registry.get(entry.id);
        // markSeen clears lastError when the device comes back: say again what it needs.
        if (device?.state.cloud_key !== 'missing' || device.link.lastError !== KEY_NEEDED(entry.did)) this.setCloudKeyStatus(entry, 'missing', true);
    }

    private onBadPacket(did: number, reason: MiioSocketDropReason, detail: string): void {
        const entry = this.entries.get(did);
        if (!entry || !this.registry.has(entry.id)) return;
        this.registry.countBadPacket(entry.id, reason === 'no_cloud_key' ? KEY_NEEDED(did) : `${reason}: ${detail}`);
        // A checksum that never matched, not an occasional forgery, means the configured key is wrong.
        if (reason === 'bad_checksum' && entry.keys && !this.server.session(did)?.verified) this.setCloudKeyStatus(entry, 'wrong', true);
    }

    private onOtcInfo(session: MiioSession, params: Record<string, unknown>): void {
        const entry = this.entryFor(session.did);
        const text = (value: unknown): string | undefined => (typeof value === 'string' && value.length <= 128 ? value : undefined);
        const ap = (typeof params.ap === 'object' && params.ap !== null ? params.ap : {}) as Record<string, unknown>;
        const netif = (typeof params.netif === 'object' && params.netif !== null ? params.netif : {}) as Record<string, unknown>;
        const otc = {
            model: text(params.model),
            firmware: text(params.fw_ver),
            hardware: text(params.hw_ver),
            mac: text(params.mac),
            localIp: text(netif.localIp),
            ssid: text(ap.ssid),
            bssid: text(ap.bssid),
            rssi: typeof ap.rssi === 'number' ? ap.rssi : undefined,
            life: typeof params.life === 'number' ? params.life : undefined,
        };
        this.registry.setExtra(entry.id, 'otc', JSON.parse(JSON.stringify(otc)));
        // The local token lets HA's local integrations talk to the device: a secret, never logged or published.
        const token = text(params.token);
        if (token && /^[0-9a-fA-F]{32}$/.test(token)) this.registry.setSecret(entry.id, LOCAL_TOKEN_SECRET, token);
        if (otc.model) {
            entry.modelName = otc.model;
            this.registry.setExtra(entry.id, 'model', otc.model);
        }
        if (otc.firmware) {
            entry.firmware = otc.firmware;
            this.registry.setExtra(entry.id, 'firmware', otc.firmware);
        }
        this.describe(entry);
        this.noteSignal(entry, params.ap);
        log.info(`${entry.id}: ${otc.model ?? 'unknown model'} firmware ${otc.firmware ?? '?'} at ${otc.localIp ?? session.address}`);
        void this.poll(entry, true);
    }

    private onDeviceRequest(session: MiioSession, method: string, params: unknown): void {
        const entry = this.entryFor(session.did);
        if (!entry.model) {
            log.debug(() => `${entry.id}: ${method} before the model is known`);
            return;
        }
        const outcome = entry.model.applyPush(method, params);
        if (Object.keys(outcome.state).length > 0) this.registry.updateState(entry.id, outcome.state);
        for (const event of outcome.events) this.registry.emitEvent(entry.id, event.featureId, event.eventType, event.attributes);
        if (outcome.pollNow) void this.poll(entry, false);
        if (Object.keys(outcome.state).length === 0 && outcome.events.length === 0) {
            log.debug(() => `${entry.id}: unhandled device request ${method}`);
        }
    }

    private onTimeout(session: MiioSession, method: string): void {
        const id = miioDeviceId(session.did);
        if (!this.registry.has(id)) return;
        this.registry.countTimeout(id, `${method} got no answer`);
        // As Valetudo: a timeout means "maybe not connected" until the next packet arrives.
        this.registry.updateLink(id, {online: false});
    }

    /** Its keepalive is late: one request every miIO device answers says whether it left (no answer: onTimeout). */
    private onOverdue(session: MiioSession): void {
        if (!this.registry.has(miioDeviceId(session.did))) return;
        this.server.request(session.did, 'miIO.info', []).catch((error: Error) => log.debug(() => `${miioDeviceId(session.did)}: still there? ${error.message}`));
    }

    private onSilent(session: MiioSession): void {
        const id = miioDeviceId(session.did);
        if (!this.registry.has(id)) return;
        this.registry.updateLink(id, {online: false, lastError: `no packet for more than ${this.settings.offlineAfterSeconds} s`});
    }

    /** The Wi-Fi signal from `ap.rssi` of `_otc.info` or `miIO.info`, when it is a plausible dBm value. */
    private noteSignal(entry: DeviceEntry, ap: unknown): void {
        const rssi = isPlainObject(ap) ? ap.rssi : undefined;
        if (typeof rssi !== 'number' || !Number.isInteger(rssi) || rssi < -127 || rssi > 0 || !this.registry.has(entry.id)) return;
        this.registry.updateLink(entry.id, {signalDbm: rssi});
    }

    private async askModel(entry: DeviceEntry): Promise<void> {
        entry.polling = true;
        try {
            const info = await this.server.request(entry.did, 'miIO.info', []);
            if (isPlainObject(info)) {
                this.noteSignal(entry, info.ap);
                if (typeof info.model === 'string' && !entry.modelName) {
                    entry.modelName = info.model;
                    this.registry.setExtra(entry.id, 'model', info.model);
                    if (typeof info.fw_ver === 'string') entry.firmware = info.fw_ver;
                    this.describe(entry);
                }
            }
        } catch (error) {
            log.debug(() => `${entry.id}: miIO.info failed: ${(error as Error).message}`);
        } finally {
            entry.polling = false;
        }
        if (entry.model) await this.poll(entry, true);
    }

    private pollDue(): void {
        // The monotonic clock: a wall-clock jump must neither stop polling nor poll everyone at once.
        const now = performance.now();
        for (const entry of this.pollWheel.takeDue(now)) {
            this.pollWheel.add(entry, now + this.settings.pollIntervalSeconds * 1000);
            const session = this.server.session(entry.did);
            if (!session?.verified || session.silent) continue;
            const dueConsumables = Date.now() - entry.lastConsumablePoll > this.settings.consumablePollMinutes * 60_000;
            void this.poll(entry, dueConsumables);
        }
    }

    /** Reads the device's state through its model; the state comes only from the device's answers. */
    private async poll(entry: DeviceEntry, consumables: boolean): Promise<void> {
        const model = entry.model;
        if (!model || !entry.keys) return;
        if (entry.polling) {
            entry.pollAgain = true;
            return;
        }
        entry.polling = true;
        try {
            const state: DeviceState = await model.poll((method, params) => this.server.request(entry.did, method, params), {consumables});
            if (consumables) entry.lastConsumablePoll = Date.now();
            this.registry.updateState(entry.id, state);
        } catch (error) {
            log.limited('info', `poll:${entry.did}`, `${entry.id}: poll failed: ${(error as Error).message}`);
        } finally {
            entry.polling = false;
        }
        if (entry.pollAgain) {
            entry.pollAgain = false;
            await this.poll(entry, false);
        }
    }

    private async handleCommand({device, feature, command}: RoutedCommand): Promise<void> {
        const did = device.extra.did;
        const entry = typeof did === 'number' ? this.entries.get(did) : undefined;
        if (!entry) throw new CommandError(`${device.id} is not a miIO device this bridge knows`);
        // A name is ours to keep: the robot is not asked, and need not be online.
        if (command.kind === 'vacuum' && command.action === 'rename_segment') return this.renameRoom(entry, command.segment, command.name);
        if (!entry.keys) throw new CommandError(`${device.id} has no cloud key: ${KEY_NEEDED(entry.did)}`);
        const session = this.server.session(entry.did);
        if (!session?.verified || !session.address) throw new CommandError(`${device.id} has not connected to the bridge yet`);
        if (session.silent) throw new CommandError(`${device.id} is offline (no packet for ${this.settings.offlineAfterSeconds} s)`);
        if (!entry.model) throw new CommandError(`${device.id}: model ${entry.modelName ?? 'unknown'} takes no commands yet`);
        await entry.model.command((method, params) => this.server.request(entry.did, method, params), feature.id, command);
        // The ack says the device took the command; what it does now comes from its status.
        void this.poll(entry, false);
    }
}
