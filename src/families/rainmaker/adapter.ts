/**
 * RainMaker messages ↔ the normalised device model (rainmaker.md §4, §7–§10).
 *
 * A node sends its config and full state once per boot, never on reconnect, so both are kept in
 * the registry's `extra` and the features are rebuilt from them at start-up. State changes only
 * from what the node reports (`params/local` echoes); commands go out on `params/remote` and
 * change nothing here.
 */

import {CommandError} from '../../core/commands.js';
import type {DeviceState, UpdateState} from '../../core/device.js';
import {makeDeviceId} from '../../core/device.js';
import {clip} from '../../util/clip.js';
import type {Logger} from '../../util/logger.js';
import type {DeviceRegistry} from '../../core/registry.js';
import type {RoutedCommand} from '../../core/router.js';
import {
    ALERT_FEATURE,
    FIRMWARE_FEATURE,
    type ModelOptions,
    type NodeModel,
    buildNodeModel,
    commandToParams,
    featureStates,
} from './config-to-features.js';
import {
    type ParamsDocument,
    type RmNodeConfig,
    checkReport,
    findEntry,
    hasDeclaredType,
    isPlainObject,
    nodeConfigSchema,
    parseJson,
    parseNodeConfig,
} from './node-config.js';
import {type FirmwareCatalog, type OtaFileServer, type OtaJob, createJob, isFinalFailure, progressFromInfo} from './ota.js';
import {messageKind, nodeTopic, parseNodeTopic} from './topics.js';

/** How the adapter reaches nodes: the broker service implements it. */
export interface NodeLink {
    /** QoS 1, never retained (a retained command would replay at every reconnect). */
    send(nodeId: string, topic: string, payload: string): Promise<void>;
    isConnected(nodeId: string): boolean;
}

export interface AdapterOptions {
    registry: DeviceRegistry;
    link: NodeLink;
    firmware: FirmwareCatalog;
    files: OtaFileServer;
    model: ModelOptions;
    log: Logger;
}

/** What `user/mapping` left in the registry (the secret goes to the registry's secrets). */
export interface MappingRecord {
    userId: string | null;
    /** The node reported a new user (`reset: true`), or a factory reset (`userId` null). */
    reset: boolean;
    at: number;
}

export interface TimeSeriesValue {
    t: number;
    v: unknown;
}

/** Keys in the device's `extra`. */
const EXTRA = {
    nodeId: 'nodeId',
    config: 'config',
    params: 'params',
    mapping: 'mapping',
    otaJob: 'otaJob',
    timeSeries: 'timeSeries',
    lastAlert: 'lastAlert',
} as const;

/** How long reported params may wait before the registry writes them (the state itself waits as long). */
const EXTRA_SAVE_DELAY_MS = 2000;

/** The payload the firmware sends on a factory reset: "remove all users of this node" (rainmaker.md §7). */
const FACTORY_RESET_USER = 'esp-rmaker';

/** A node's payload for the device page: its JSON (so that secret keys in it are masked by name), or its text. */
function readablePayload(payload: Buffer): unknown {
    const text = payload.toString('utf8');
    try {
        return JSON.parse(text) as unknown;
    } catch {
        return text;
    }
}

export class RainmakerAdapter {
    private readonly models = new Map<string, NodeModel>();
    /** Reports that arrived before the node's first config (kept until it comes). */
    private readonly early = new Map<string, {params: ParamsDocument; mapping?: {record: MappingRecord; secret: string | null}}>();
    /**
     * Params and time series change with every report. The registry writes its whole file for each
     * `setExtra`, so these are held here and handed over in one batch every few seconds.
     */
    private readonly unsaved = new Map<string, Map<string, unknown>>();
    private saveTimer: NodeJS.Timeout | null = null;
    private readonly registry: DeviceRegistry;
    private readonly log: Logger;

    constructor(private readonly options: AdapterOptions) {
        this.registry = options.registry;
        this.log = options.log;
    }

    static deviceId(nodeId: string): string {
        return makeDeviceId('rainmaker', nodeId);
    }

    /** Rebuilds every known node from the registry: nothing is resent by the nodes after our restart. */
    restore(): void {
        for (const device of this.registry.list('rainmaker')) {
            const nodeId = device.extra[EXTRA.nodeId];
            // Validated, but the registry's own object is used: a parsed copy would double the memory per node.
            if (typeof nodeId !== 'string' || !nodeConfigSchema.safeParse(device.extra[EXTRA.config]).success) continue;
            const params = (isPlainObject(device.extra[EXTRA.params]) ? device.extra[EXTRA.params] : {}) as ParamsDocument;
            const model = buildNodeModel(device.extra[EXTRA.config] as RmNodeConfig, params, this.options.model);
            this.models.set(nodeId, model);
            const job = this.job(device.id);
            if (job && isOpen(job)) this.options.files.open(job);
            this.publishFirmwareState(nodeId);
        }
    }

    onNodeConnected(nodeId: string): void {
        const id = RainmakerAdapter.deviceId(nodeId);
        if (this.registry.has(id)) this.registry.markSeen(id);
        // A booting node sends its config right after this; one that only reconnects never will.
        else this.log.debug(`node ${nodeId} connected before sending any config; it is added when it does (at its next boot)`);
    }

    onNodeDisconnected(nodeId: string): void {
        const id = RainmakerAdapter.deviceId(nodeId);
        if (this.registry.has(id)) this.registry.updateLink(id, {online: false});
    }

    /** A node's publish, already authorised for its namespace. Never throws. */
    handleMessage(nodeId: string, topic: string, payload: Buffer): void {
        const parsed = parseNodeTopic(topic);
        if (!parsed || parsed.nodeId !== nodeId) return;
        const id = RainmakerAdapter.deviceId(nodeId);
        try {
            // The Connectivity LWT arrives after the session ended: it is not a sign of life.
            if (this.registry.has(id) && this.options.link.isConnected(nodeId)) this.registry.markSeen(id);
            this.route(nodeId, id, messageKind(parsed.suffix), parsed.suffix, payload);
            // After routing: a node's first config is what adds it to the registry.
            this.registry.noteTraffic(id, 'in', {topic: parsed.suffix, payload: readablePayload(payload)});
        } catch (error) {
            this.refuse(nodeId, `${parsed.suffix}: handler failed: ${(error as Error).message}`);
        }
    }

    private route(nodeId: string, id: string, kind: ReturnType<typeof messageKind>, suffix: string, payload: Buffer): void {
        switch (kind) {
            case 'config':
                this.onConfig(nodeId, id, payload);
                return;
            case 'params/local/init':
            case 'params/local':
                this.onParams(nodeId, id, payload, kind === 'params/local/init');
                return;
            case 'tsdata':
            case 'simple_tsdata':
                this.onTimeSeries(nodeId, id, payload, kind);
                return;
            case 'alert':
                this.onAlert(nodeId, id, payload);
                return;
            case 'user/mapping':
                this.onMapping(nodeId, id, payload);
                return;
            case 'otafetch':
                this.onOtaFetch(nodeId, id, payload);
                return;
            case 'otastatus':
                this.onOtaStatus(nodeId, id, payload);
                return;
            case 'from-node':
                // The command-response poll every node sends on connect: nothing is pending here.
                this.log.debug(() => `node ${nodeId}: command-response poll (${payload.length} bytes)`);
                return;
            case 'other':
                this.log.limited('debug', `other:${nodeId}`, `node ${nodeId}: "${clip(suffix)}" is not handled`);
                return;
        }
    }

    private onConfig(nodeId: string, id: string, payload: Buffer): void {
        const result = parseNodeConfig(payload, nodeId);
        if (!result.ok) {
            this.refuse(nodeId, `config refused: ${result.reason}`);
            return;
        }
        const early = this.early.get(nodeId);
        this.early.delete(nodeId);
        const known = this.registry.get(id);
        const stored = known ? this.params(id) : {};
        // Keep only params the new config still declares, with their declared types.
        const params = acceptedOnly(result.config, mergeParams(stored, early?.params ?? {}));
        const described = buildNodeModel(result.config, params, this.options.model);
        const previousVersion = this.models.get(nodeId)?.firmwareVersion;
        this.registry.upsert({id, family: 'rainmaker', facts: described.facts, features: described.features});
        this.registry.setExtra(id, EXTRA.nodeId, nodeId);
        this.registry.setExtra(id, EXTRA.config, result.config);
        this.unsaved.get(id)?.delete(EXTRA.params);
        this.registry.setExtra(id, EXTRA.params, params);
        // The model points into the registry's copy of the config: one copy per node, not two.
        const config = this.registry.get(id)!.extra[EXTRA.config] as RmNodeConfig;
        const model = buildNodeModel(config, params, this.options.model);
        this.models.set(nodeId, model);
        if (this.options.link.isConnected(nodeId)) this.registry.markSeen(id);
        if (early?.mapping) this.storeMapping(nodeId, id, early.mapping.record, early.mapping.secret);
        this.applyState(nodeId, id, params, params);
        if (previousVersion !== config.info.fw_version) {
            this.log.info(`node ${nodeId}: ${config.info.model ?? config.info.name} firmware ${config.info.fw_version}, ${model.features.length} features`);
        }
        this.publishFirmwareState(nodeId);
    }

    private onParams(nodeId: string, id: string, payload: Buffer, full: boolean): void {
        const json = parseJson(payload);
        if (!json.ok) {
            this.refuse(nodeId, `params refused: ${json.reason}`);
            return;
        }
        const model = this.models.get(nodeId);
        const device = this.registry.get(id);
        const config = device?.extra[EXTRA.config] as RmNodeConfig | undefined;
        if (!model || !device || !config) {
            if (!isPlainObject(json.value)) {
                this.refuse(nodeId, 'params refused: not a JSON object');
                return;
            }
            // Config always comes first after a boot; this is a node we have not seen boot.
            const early = this.early.get(nodeId) ?? {params: {}};
            const merged = mergeParams(early.params, json.value as ParamsDocument);
            // Unchecked until the config comes: bounded like a config (32 devices, 32 services).
            if (Object.keys(merged).length > 64 || Object.values(merged).some((values) => !isPlainObject(values) || Object.keys(values).length > 64)) {
                this.refuse(nodeId, 'params refused: too many names before any config');
                return;
            }
            early.params = merged;
            this.early.set(nodeId, early);
            this.log.limited('info', `early:${nodeId}`, `node ${nodeId} reports params before any config: kept until its config arrives (reboot the node to resend it)`);
            return;
        }
        const check = checkReport(config, json.value);
        if ('error' in check) {
            this.refuse(nodeId, `params refused: ${check.error}`);
            return;
        }
        if (check.refused.length > 0) {
            this.refuse(nodeId, `params: ignored ${check.refused.slice(0, 5).join('; ')}${check.refused.length > 5 ? ` and ${check.refused.length - 5} more` : ''}`);
        }
        // `init` carries every param; a plain report only the changed ones: merge, never replace.
        const params = full ? mergeParams({}, check.accepted) : mergeParams(this.params(id), check.accepted);
        this.saveSoon(id, EXTRA.params, params);
        this.applyState(nodeId, id, params, check.accepted);
        if (connectivityLost(config, check.accepted)) this.registry.updateLink(id, {online: false});
    }

    private applyState(nodeId: string, id: string, params: ParamsDocument, changed: ParamsDocument): void {
        const config = this.registry.get(id)?.extra[EXTRA.config] as RmNodeConfig | undefined;
        let model = this.models.get(nodeId);
        if (!model || !config) return;
        // A renamed single-device node renames the HA device.
        const rebuilt = buildNodeModel(config, params, this.options.model);
        if (rebuilt.facts.name !== model.facts.name) {
            this.registry.upsert({id, family: 'rainmaker', facts: rebuilt.facts, features: rebuilt.features});
            this.models.set(nodeId, rebuilt);
            model = rebuilt;
        }
        const previous = this.registry.get(id)?.state ?? {};
        const state: DeviceState = featureStates(model, params, previous, changed, this.options.model);
        if (Object.keys(state).length > 0) this.registry.updateState(id, state);
    }

    private onTimeSeries(nodeId: string, id: string, payload: Buffer, kind: 'tsdata' | 'simple_tsdata'): void {
        const json = parseJson(payload);
        if (!json.ok || !isPlainObject(json.value)) {
            this.refuse(nodeId, `${kind} refused: ${json.ok ? 'not a JSON object' : json.reason}`);
            return;
        }
        const latest: Record<string, TimeSeriesValue> = {};
        if (kind === 'simple_tsdata') {
            const {name, t, v} = json.value;
            if (typeof name === 'string' && typeof t === 'number') latest[name] = {t, v};
        } else if (Array.isArray(json.value.ts_data)) {
            for (const series of json.value.ts_data) {
                if (!isPlainObject(series) || typeof series.name !== 'string' || !Array.isArray(series.records)) continue;
                for (const record of series.records) {
                    if (!isPlainObject(record) || typeof record.t !== 'number') continue;
                    const current = latest[series.name];
                    if (!current || record.t >= current.t) latest[series.name] = {t: record.t, v: record.v};
                }
            }
        }
        const device = this.registry.get(id);
        const config = device?.extra[EXTRA.config] as RmNodeConfig | undefined;
        if (!device || !config) return;
        // Only series of declared params, with their declared types, are kept: every name stays in the
        // registry file, so undeclared ones would let one node grow it without bound.
        const declared: Record<string, TimeSeriesValue> = {};
        const changed: ParamsDocument = {};
        for (const [name, record] of Object.entries(latest)) {
            const dot = name.indexOf('.');
            const param = dot > 0 ? findEntry(config, name.slice(0, dot))?.params.find((candidate) => candidate.name === name.slice(dot + 1)) : undefined;
            if (!param || !hasDeclaredType(param, record.v)) continue;
            declared[name] = record;
            (changed[name.slice(0, dot)] ??= {})[param.name] = record.v;
        }
        if (Object.keys(declared).length === 0) {
            this.refuse(nodeId, `${kind} refused: no records for a declared "<device>.<param>" of its type`);
            return;
        }
        const known = this.extra(id, EXTRA.timeSeries);
        const stored = (isPlainObject(known) ? known : {}) as Record<string, TimeSeriesValue>;
        this.saveSoon(id, EXTRA.timeSeries, {...stored, ...declared});
        // The same value also comes on params/local; a series for a declared param updates it too.
        const params = mergeParams(this.params(id), changed);
        this.saveSoon(id, EXTRA.params, params);
        this.applyState(nodeId, id, params, changed);
    }

    private onAlert(nodeId: string, id: string, payload: Buffer): void {
        const json = parseJson(payload);
        if (!json.ok || !isPlainObject(json.value)) {
            this.refuse(nodeId, `alert refused: ${json.ok ? 'not a JSON object' : json.reason}`);
            return;
        }
        if (!this.registry.has(id)) return;
        const text = json.value['esp.alert.str'];
        // Two shapes: a text alert, or a param notification shaped like params/local.
        const attributes: Record<string, unknown> = typeof text === 'string' ? {message: text.slice(0, 256)} : {params: json.value};
        this.registry.setExtra(id, EXTRA.lastAlert, {...attributes, at: Date.now()});
        this.registry.emitEvent(id, ALERT_FEATURE, 'alert', attributes);
        this.log.info(`node ${nodeId} alert: ${typeof text === 'string' ? clip(text, 100) : 'param notification'}`);
    }

    private onMapping(nodeId: string, id: string, payload: Buffer): void {
        const json = parseJson(payload);
        if (!json.ok || !isPlainObject(json.value)) {
            this.refuse(nodeId, `user/mapping refused: ${json.ok ? 'not a JSON object' : json.reason}`);
            return;
        }
        const {node_id: mappedNode, user_id: userId, secret_key: secret, reset} = json.value;
        if (mappedNode !== nodeId || typeof userId !== 'string' || userId.length === 0 || userId.length > 128) {
            this.refuse(nodeId, 'user/mapping refused: needs this node_id and a user_id');
            return;
        }
        const factoryReset = userId === FACTORY_RESET_USER && secret === 'failed';
        const record: MappingRecord = {userId: factoryReset ? null : userId, reset: reset === true || factoryReset, at: Date.now()};
        const secretKey = !factoryReset && typeof secret === 'string' && secret.length > 0 ? secret : null;
        // The node's answer is the PUBACK aedes already sent; nothing else is expected (rainmaker.md §7).
        if (!this.registry.has(id)) {
            const early = this.early.get(nodeId) ?? {params: {}};
            early.mapping = {record, secret: secretKey};
            this.early.set(nodeId, early);
            return;
        }
        this.storeMapping(nodeId, id, record, secretKey);
    }

    private storeMapping(nodeId: string, id: string, record: MappingRecord, secret: string | null): void {
        this.registry.setExtra(id, EXTRA.mapping, record);
        if (secret) this.registry.setSecret(id, 'mappingSecret', secret);
        if (record.userId === null) this.log.info(`node ${nodeId} was factory reset: all users removed`);
        else this.log.info(`node ${nodeId} mapped to user "${clip(record.userId)}"${record.reset ? ' (new user)' : ''}`);
    }

    private onOtaFetch(nodeId: string, id: string, payload: Buffer): void {
        const json = parseJson(payload);
        if (!json.ok || !isPlainObject(json.value)) {
            this.refuse(nodeId, `otafetch refused: ${json.ok ? 'not a JSON object' : json.reason}`);
            return;
        }
        const job = this.job(id);
        if (!job || !isOpen(job)) {
            const running = json.value.fw_version;
            this.log.debug(() => `node ${nodeId} asks for an OTA job (running ${typeof running === 'string' ? clip(running) : '?'}): none`);
            return;
        }
        this.offerJob(nodeId, job).catch((error: Error) => this.log.warn(`node ${nodeId}: could not send OTA job ${job.id}: ${error.message}`));
    }

    private onOtaStatus(nodeId: string, id: string, payload: Buffer): void {
        const json = parseJson(payload);
        if (!json.ok || !isPlainObject(json.value)) {
            this.refuse(nodeId, `otastatus refused: ${json.ok ? 'not a JSON object' : json.reason}`);
            return;
        }
        const {ota_job_id: jobId, status, additional_info: info} = json.value;
        const job = this.job(id);
        if (!job || jobId !== job.id) {
            this.refuse(nodeId, `otastatus for unknown job "${clip(String(jobId))}"`);
            return;
        }
        if (status !== 'in-progress' && status !== 'success' && status !== 'failed' && status !== 'delayed' && status !== 'rejected') {
            this.refuse(nodeId, `otastatus refused: unknown status "${clip(String(status))}"`);
            return;
        }
        const text = typeof info === 'string' ? info.slice(0, 200) : null;
        const next: OtaJob = {...job, status, info: text};
        if (status === 'in-progress') next.progress = progressFromInfo(text) ?? job.progress ?? 0;
        const closed = status === 'success' || status === 'rejected' || (status === 'failed' && isFinalFailure(text));
        if (status === 'failed' && !closed) next.status = 'in-progress';
        this.registry.setExtra(id, EXTRA.otaJob, next);
        if (closed) this.options.files.close(job.id);
        this.log.info(`node ${nodeId} OTA ${job.id}: ${status}${text ? ` (${text})` : ''}`);
        this.publishFirmwareState(nodeId);
    }

    /** Commands the router has checked. Rejects with the reason; the state follows the node's echo. */
    async handleCommand({device, feature, command}: RoutedCommand): Promise<void> {
        const nodeId = device.extra[EXTRA.nodeId];
        const model = typeof nodeId === 'string' ? this.models.get(nodeId) : undefined;
        if (typeof nodeId !== 'string' || !model) throw new CommandError(`${device.id} has not reported its config yet`);
        // Nodes connect with a clean session: a command sent while one is away would be lost.
        if (!this.options.link.isConnected(nodeId)) throw new CommandError(`${device.id} is offline; RainMaker nodes keep no session, so the command was not sent`);
        if (command.kind === 'update') {
            await this.startOta(nodeId, device.id, model);
            return;
        }
        const params = commandToParams(model, feature.id, command, this.options.model);
        await this.options.link.send(nodeId, nodeTopic(nodeId, 'params/remote'), JSON.stringify(params));
        this.registry.countSent(device.id);
        this.registry.noteTraffic(device.id, 'out', {topic: 'params/remote', payload: params});
    }

    private async startOta(nodeId: string, id: string, model: NodeModel): Promise<void> {
        await this.options.firmware.scan();
        const image = this.options.firmware.latestFor(model.projectName);
        if (!image) throw new CommandError(`no firmware image for project "${model.projectName ?? '?'}" in ${this.options.firmware.directory}`);
        if (image.version === model.firmwareVersion) throw new CommandError(`${id} already runs ${image.version}`);
        const current = this.job(id);
        if (current && isOpen(current) && current.version === image.version) {
            // Installing again re-offers the same job rather than starting a second one.
            await this.offerJob(nodeId, current);
            return;
        }
        if (current && isOpen(current)) this.options.files.close(current.id);
        const job = await createJob(image);
        this.registry.setExtra(id, EXTRA.otaJob, job);
        this.options.files.open(job);
        this.log.info(`node ${nodeId}: OTA ${job.id} offers ${image.file} (${job.size} bytes)`);
        this.publishFirmwareState(nodeId);
        // Also answered on every `otafetch` until it closes: the node may be busy or reconnect.
        await this.offerJob(nodeId, job);
    }

    private async offerJob(nodeId: string, job: OtaJob): Promise<void> {
        const offer = {ota_job_id: job.id, url: this.options.files.urlFor(job), file_md5: job.md5, fw_version: job.version, file_size: job.size};
        await this.options.link.send(nodeId, nodeTopic(nodeId, 'otaurl'), JSON.stringify(offer));
        this.registry.countSent(RainmakerAdapter.deviceId(nodeId));
        this.registry.noteTraffic(RainmakerAdapter.deviceId(nodeId), 'out', {topic: 'otaurl', payload: offer});
    }

    /** Re-reads the firmware directory and refreshes every node's latest version. */
    async refreshFirmware(): Promise<void> {
        await this.options.firmware.scan();
        for (const nodeId of this.models.keys()) this.publishFirmwareState(nodeId);
    }

    private publishFirmwareState(nodeId: string): void {
        const model = this.models.get(nodeId);
        const id = RainmakerAdapter.deviceId(nodeId);
        if (!model || !this.registry.has(id)) return;
        const job = this.job(id);
        const latest = this.options.firmware.latestFor(model.projectName);
        const installed = job?.status === 'success' && job.version !== model.firmwareVersion ? job.version : model.firmwareVersion;
        const running = Boolean(job && job.status === 'in-progress');
        const state: UpdateState = {
            installedVersion: installed,
            latestVersion: latest?.version ?? installed,
            inProgress: running,
            progress: running ? (job?.progress ?? null) : null,
        };
        this.registry.updateState(id, {[FIRMWARE_FEATURE]: state});
    }

    private extra(id: string, key: string): unknown {
        const pending = this.unsaved.get(id);
        return pending?.has(key) ? pending.get(key) : this.registry.get(id)?.extra[key];
    }

    private params(id: string): ParamsDocument {
        const params = this.extra(id, EXTRA.params);
        return (isPlainObject(params) ? params : {}) as ParamsDocument;
    }

    private saveSoon(id: string, key: string, value: unknown): void {
        let pending = this.unsaved.get(id);
        if (!pending) {
            pending = new Map();
            this.unsaved.set(id, pending);
        }
        pending.set(key, value);
        if (this.saveTimer) return;
        this.saveTimer = setTimeout(() => this.flush(), EXTRA_SAVE_DELAY_MS);
        this.saveTimer.unref();
    }

    /** Hands every held value to the registry: its writes in one tick coalesce into one file write. */
    flush(): void {
        if (this.saveTimer) clearTimeout(this.saveTimer);
        this.saveTimer = null;
        for (const [id, pending] of this.unsaved) {
            if (!this.registry.has(id)) continue;
            for (const [key, value] of pending) this.registry.setExtra(id, key, value);
        }
        this.unsaved.clear();
    }

    private job(id: string): OtaJob | undefined {
        const job = this.registry.get(id)?.extra[EXTRA.otaJob];
        return isPlainObject(job) && typeof job.id === 'string' ? (job as unknown as OtaJob) : undefined;
    }

    /** One log line, one bad-packet count; only this node's message is dropped. */
    private refuse(nodeId: string, reason: string): void {
        const id = RainmakerAdapter.deviceId(nodeId);
        this.log.limited('warn', `refuse:${nodeId}:${reason.slice(0, 24)}`, `node ${nodeId}: ${reason}`);
        if (this.registry.has(id)) this.registry.countBadPacket(id, reason);
    }
}

function isOpen(job: OtaJob): boolean {
    return job.status === 'pending' || job.status === 'in-progress' || job.status === 'delayed';
}

function mergeParams(base: ParamsDocument, patch: ParamsDocument): ParamsDocument {
    const out: ParamsDocument = {};
    for (const [entry, values] of Object.entries(base)) out[entry] = {...values};
    for (const [entry, values] of Object.entries(patch)) out[entry] = {...out[entry], ...values};
    return out;
}

function acceptedOnly(config: RmNodeConfig, params: ParamsDocument): ParamsDocument {
    const check = checkReport(config, params);
    return 'error' in check ? {} : check.accepted;
}

/** `{"Connectivity":{"Connected":false}}`: the node's LWT, or its own report of losing the cloud. */
function connectivityLost(config: RmNodeConfig, report: ParamsDocument): boolean {
    for (const service of config.services) {
        if (service.type !== 'esp.service.connectivity') continue;
        const param = service.params.find((candidate) => candidate.type === 'esp.param.connected');
        if (param && report[service.name]?.[param.name] === false) return true;
    }
    return false;
}
