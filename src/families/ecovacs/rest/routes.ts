/**
 * The Ecovacs REST route table (ecovacs.md §1), as one pure handler: a request in, a response out.
 * The host name is ignored (every Ecovacs name resolves to us, §8.1); the same table serves HTTPS
 * on the shared TLS port and plain HTTP on 8007. Answers carry the envelope each path's clients
 * branch on (§1.2), always as JSON.
 */
import {decodeJson} from '../../../util/json.js';
import {createLogger, type Logger} from '../../../util/logger.js';
import {isPlainObject} from '../../../util/plain-object.js';
import type {PayloadFormat} from '../topics.js';
import type {SessionTokens} from './session-tokens.js';

export interface RestRequest {
    method: string;
    /** The path, without the query. */
    path: string;
    query: URLSearchParams;
    headers: Record<string, string | string[] | undefined>;
    body: Buffer | string;
    /** The peer's address, for log lines. */
    source?: string;
    /** Our address the request arrived on: what `lookup.do` names when no address is configured. */
    localAddress?: string;
}

export interface RestResponse {
    status: number;
    headers: Record<string, string>;
    body: string;
}

/** A bot as REST clients list it. */
export interface ListedBot {
    did: string;
    cls: string;
    resource: string;
    /** The serial (MQTT user name) where known, else the did. */
    name: string;
    nick: string;
    online: boolean;
}

export interface RelayRequest {
    did: string;
    /** Class and resource the client named; the connected bot's own win. */
    cls?: string;
    resource?: string;
    command: string;
    payload: unknown;
    format: PayloadFormat;
}

export type RelayOutcome =
    | {kind: 'reply'; requestId: string; payload: unknown; format: PayloadFormat}
    | {kind: 'timeout'; requestId: string}
    /** Known but not connected (errno 4200). */
    | {kind: 'offline'}
    /** No bot with that did ever registered. */
    | {kind: 'unknown'}
    | {kind: 'refused'; reason: string};

export interface CleanLogEntry {
    ts: number;
    last: number;
    area: number;
    type: string;
    stopReason: number;
}

export interface RestOptions {
    tokens: SessionTokens;
    bots(): ListedBot[];
    relay(request: RelayRequest): Promise<RelayOutcome>;
    cleanLogs(did: string): CleanLogEntry[];
    advertiseAddress: string | null;
    xmppPort: number;
    unknownBotErrno: 4200 | 500;
    maxBodyBytes: number;
    maxJsonDepth: number;
    logger?: Logger;
    now?: () => number;
}

type Json = Record<string, unknown>;

/** Bumper's default home: the app groups devices by it. */
const HOME_ID = '781a0733923f2240cf304757';
const LOGIN_PATH = /^\/v[12]\/private\/[^/]+\/[^/]+\/([^/]+)\/[^/]+\/[^/]+\/[^/]+\/[^/]+\/user\/([A-Za-z]+)$/;
const FIRMWARE_PATH = /^\/api\/ota\/products\/[^/]+\/class\/[^/]+\/firmware\/latest\.json$/;
/** Distinct unknown paths logged; beyond, a flood of made-up paths shares one rate-limited line. */
const UNKNOWN_PATHS_REMEMBERED = 1000;

/** A client error: answered with `status` and the route's failure envelope. */
class BadRequest extends Error {
    constructor(
        message: string,
        readonly status = 400,
        /** The envelope's errno: the status, or Ecovacs' own (3004 token error, 2004 unknown todo). */
        readonly errno: number = status,
    ) {
        super(message);
    }
}

export class EcovacsRest {
    private readonly log: Logger;
    private readonly now: () => number;
    private readonly unknownPathsSeen = new Set<string>();

    constructor(private readonly options: RestOptions) {
        this.log = options.logger ?? createLogger('ecovacs:rest');
        this.now = options.now ?? Date.now;
    }

    async handle(request: RestRequest): Promise<RestResponse> {
        const {path} = request;
        const login = LOGIN_PATH.exec(path);
        if (login) return this.v1(request, () => this.privateUserCall(login[2]!, request));
        if (path === '/v1/global/auth/getAuthCode') return this.v1(request, () => this.authCode(request.query));
        if (FIRMWARE_PATH.test(path)) return json(404, {code: 404, msg: 'no update'});
        switch (path) {
            case '/lookup.do':
                return this.todoRoute(request, (body) => this.lookup(body, request));
            case '/api/users/user.do':
                return this.todoRoute(request, (body) => this.userDo(body, request));
            case '/api/appsvr/app.do':
                return this.todoRoute(request, (body) => this.appDo(body), {ret: true});
            case '/api/iot/devmanager.do':
            case '/api/dim/devmanager.do':
                return this.devmanager(request);
            case '/api/iot/endpoint/control':
                return this.endpointControl(request);
            case '/api/lg/log.do':
                return this.todoRoute(request, (body) => this.cleanLogsCall(body, request), {ret: true});
            case '/api/pim/product/getProductIotMap':
                return json(200, {code: 0, data: this.productMap()});
            default:
                return this.unknownPath(request);
        }
    }

    // ── v1 "private API" (login) ───────────────────────────────────────────────────────────────

    private async v1(request: RestRequest, answer: () => Json): Promise<RestResponse> {
        try {
            return json(200, {code: '0000', data: answer(), msg: 'ok', success: true, time: this.now()});
        } catch (error) {
            if (!(error instanceof BadRequest)) throw error;
            this.refuse(request, error.message);
            return json(200, {code: '0004', msg: error.message, success: false, time: this.now()});
        }
    }

    private privateUserCall(call: string, request: RestRequest): Json {
        const query = request.query;
        switch (call) {
            case 'login':
            case 'loginCheckMobile': {
                const account = query.get('account');
                if (!account) throw new BadRequest('"account" is missing');
                const uid = this.options.tokens.userIdFor(account);
                const accessToken = this.options.tokens.issue('access', uid);
                // deebot-client sends the account in clear, the apps encrypted: it is shown only as given.
                const name = account.length <= 64 ? account : `${account.slice(0, 16)}…`;
                return {accessToken, uid, username: name, email: name, loginName: name, ucUid: uid, country: 'de', isNew: null, mobile: null, verifyDevice: 'N'};
            }
            case 'checkLogin':
                this.requireToken('access', query.get('uid'), query.get('accessToken'));
                return {accessToken: query.get('accessToken'), uid: query.get('uid')};
            case 'getAuthCode':
                return this.authCode(query);
            case 'logout':
                return {};
            default:
                throw new BadRequest(`unknown call user/${call.slice(0, 40)}`);
        }
    }

    private authCode(query: URLSearchParams): Json {
        const uid = this.requireToken('access', query.get('uid'), query.get('accessToken'));
        return {authCode: this.options.tokens.issue('auth', uid), ecovacsUid: uid};
    }

    // ── todo/result routes ─────────────────────────────────────────────────────────────────────

    /** `{"todo":…}` bodies; failures as `result: fail` (or `ret: fail` for app.do and log.do). */
    private async todoRoute(request: RestRequest, answer: (body: Json) => Json | Promise<Json>, style: {ret?: boolean} = {}): Promise<RestResponse> {
        const fail = (errno: number, error: string): Json => ({todo: 'result', [style.ret ? 'ret' : 'result']: 'fail', errno, error});
        try {
            const body = this.readBody(request);
            return json(200, await answer(body));
        } catch (error) {
            if (!(error instanceof BadRequest)) throw error;
            this.refuse(request, error.message);
            return json(error.status, fail(error.errno, error.message));
        }
    }

    private lookup(body: Json, request: RestRequest): Json {
        const todo = requireString(body, 'todo');
        if (todo !== 'FindBest') throw new BadRequest(`unknown todo "${todo.slice(0, 40)}"`);
        const ip = this.options.advertiseAddress ?? plainAddress(request.localAddress);
        if (!ip) throw new BadRequest('no address to name: set ecovacs.advertiseAddress', 500);
        // An update server of our own: nothing listens there, so a bot never fetches firmware.
        if (body.service === 'EcoUpdate') return {result: 'ok', ip, port: 8005};
        return {ip, port: this.options.xmppPort, result: 'ok'};
    }

    private userDo(body: Json, request: RestRequest): Json {
        const todo = requireString(body, 'todo');
        switch (todo) {
            case 'loginByItToken': {
                const uid = requireString(body, 'userId');
                const authCode = requireString(body, 'token');
                if (!this.options.tokens.verify('auth', uid, authCode)) throw new BadRequest('auth code unknown or expired', 200, 3004);
                const resource = typeof body.resource === 'string' ? body.resource : '';
                // `last` is the validity in ms: without it deebot-client logs in again every ~10 minutes.
                return {todo: 'result', result: 'ok', userId: uid, token: this.options.tokens.issue('session', uid), resource, last: this.options.tokens.lifetimeMs};
            }
            case 'GetDeviceList':
                this.requireAuth(body);
                return {todo: 'result', result: 'ok', devices: this.deviceList()};
            case 'FindBest':
                return this.lookup(body, request);
            case 'logout':
                return {todo: 'result', result: 'ok'};
            default:
                throw new BadRequest(`unknown todo "${todo.slice(0, 40)}"`);
        }
    }

    private appDo(body: Json): Json {
        const todo = requireString(body, 'todo');
        if (todo !== 'GetGlobalDeviceList') throw new BadRequest(`unknown todo "${todo.slice(0, 40)}"`, 200, 2004);
        this.requireAuth(body);
        return {code: 0, ret: 'ok', todo: 'result', devices: this.deviceList()};
    }

    private cleanLogsCall(body: Json, request: RestRequest): Json {
        const td = typeof body.td === 'string' ? body.td : request.query.get('td');
        if (td !== 'GetCleanLogs') throw new BadRequest(`unknown td "${String(td).slice(0, 40)}"`);
        this.requireAuth(body);
        return {ret: 'ok', logs: this.options.cleanLogs(requireString(body, 'did'))};
    }

    private deviceList(): Json[] {
        return this.options.bots().map((bot) => ({
            did: bot.did,
            name: bot.name,
            class: bot.cls,
            resource: bot.resource,
            nick: bot.nick,
            company: 'eco-ng',
            deviceName: `DEEBOT ${bot.cls}`,
            status: bot.online ? 1 : 0,
            homeId: HOME_ID,
            otaUpgrade: {},
            updateInfo: {needUpdate: false, changeLog: ''},
        }));
    }

    private productMap(): Json[] {
        const classes = new Set(this.options.bots().map((bot) => bot.cls));
        return [...classes].map((cls) => ({classid: cls, product: {_id: cls, name: `DEEBOT ${cls}`, materialNo: '', UILogicId: '', iconUrl: ''}}));
    }

    // ── the relay ──────────────────────────────────────────────────────────────────────────────

    private async devmanager(request: RestRequest): Promise<RestResponse> {
        let body: Json;
        try {
            body = this.readBody(request);
            const td = requireString(body, 'td');
            if (td !== 'q' && body.toId === undefined) return json(200, wifiSetupAnswer(td));
            this.requireAuth(body);
        } catch (error) {
            if (!(error instanceof BadRequest)) throw error;
            this.refuse(request, error.message);
            return json(error.status, {ret: 'fail', errno: error.errno, error: error.message});
        }
        const relayed = readRelayRequest(body);
        if (typeof relayed === 'string') {
            this.refuse(request, relayed);
            return json(400, {ret: 'fail', errno: 400, error: relayed});
        }
        const outcome = await this.options.relay(relayed);
        switch (outcome.kind) {
            case 'reply':
                return json(200, {id: outcome.requestId, ret: 'ok', resp: outcome.payload, payloadType: outcome.format});
            case 'timeout':
                return json(200, {id: outcome.requestId, ret: 'fail', errno: 500, debug: 'wait for response timed out'});
            case 'offline':
                return json(200, {ret: 'fail', errno: 4200, error: 'endpoint offline'});
            case 'unknown':
                return json(200, {ret: 'fail', errno: this.options.unknownBotErrno, error: 'requested bot is not known'});
            case 'refused':
                return json(200, {ret: 'fail', errno: 500, error: outcome.reason});
        }
    }

    /** The newer relay (§2.2): addressing in the query, the body is the bot payload, the answer the bot's raw reply. */
    private async endpointControl(request: RestRequest): Promise<RestResponse> {
        const query = request.query;
        const fail = (status: number, errno: number, error: string): RestResponse => ({
            status,
            headers: {'content-type': 'application/octet-stream', 'x-ngiot-ret': 'fail', 'x-ngiot-errno': String(errno), 'x-ngiot-error': error},
            body: '',
        });
        const format = query.get('fmt') ?? 'j';
        const command = query.get('apn');
        const did = query.get('eid');
        if ((format !== 'j' && format !== 'x') || !command || !did) {
            this.refuse(request, 'fmt (j|x), apn and eid are required');
            return fail(400, 400, 'fmt (j|x), apn and eid are required');
        }
        let payload: unknown;
        if (format === 'j') {
            const decoded = decodeJson(request.body, {maxBytes: this.options.maxBodyBytes, maxDepth: this.options.maxJsonDepth});
            if (!decoded.ok) {
                this.refuse(request, `body ${decoded.reason}`);
                return fail(400, 400, `body ${decoded.reason}`);
            }
            payload = decoded.value;
        } else {
            payload = request.body.toString();
        }
        const outcome = await this.options.relay({did, cls: query.get('et') ?? undefined, resource: query.get('er') ?? undefined, command, payload, format});
        switch (outcome.kind) {
            case 'reply': {
                const text = typeof outcome.payload === 'string' ? outcome.payload : JSON.stringify(outcome.payload);
                return {status: 200, headers: {'content-type': 'application/octet-stream', 'x-ngiot-fmt': outcome.format, 'x-ngiot-ret': 'ok'}, body: text};
            }
            case 'timeout':
                return fail(200, 500, 'wait for response timed out');
            case 'offline':
                return fail(200, 4200, 'endpoint offline');
            case 'unknown':
                return fail(200, this.options.unknownBotErrno, 'requested bot is not known');
            case 'refused':
                return fail(200, 500, outcome.reason);
        }
    }

    // ── input ──────────────────────────────────────────────────────────────────────────────────

    /** A JSON object body (or a form, as `lookup.do` may be sent); anything else is a BadRequest. */
    private readBody(request: RestRequest): Json {
        const contentType = String(headerValue(request.headers, 'content-type') ?? '');
        if (contentType.includes('application/x-www-form-urlencoded')) {
            if (Buffer.byteLength(request.body) > this.options.maxBodyBytes) throw new BadRequest('body too large', 413);
            return Object.fromEntries(new URLSearchParams(request.body.toString()));
        }
        const decoded = decodeJson(request.body, {maxBytes: this.options.maxBodyBytes, maxDepth: this.options.maxJsonDepth});
        if (!decoded.ok) throw new BadRequest(`body ${decoded.reason}`, decoded.reason.includes('bytes is more') ? 413 : 400);
        if (!isPlainObject(decoded.value)) throw new BadRequest('body is not a JSON object');
        return decoded.value;
    }

    /** `auth: {userid, token}` of a session this bridge issued; answered in the envelope (clients log in again). */
    private requireAuth(body: Json): void {
        const auth = body.auth;
        if (!isPlainObject(auth)) throw new BadRequest('"auth" is missing', 200, 3004);
        this.requireToken('session', auth.userid, auth.token);
    }

    private requireToken(kind: 'access' | 'session', uid: unknown, token: unknown): string {
        if (typeof uid !== 'string' || typeof token !== 'string' || !this.options.tokens.verify(kind, uid, token)) {
            throw new BadRequest('token error: log in again', 200, 3004);
        }
        return uid;
    }

    private refuse(request: RestRequest, reason: string): void {
        this.log.limited('info', `refused:${request.source ?? '?'}:${request.path}`, `${request.method} ${request.path} from ${request.source ?? 'unknown'} refused: ${reason}`);
    }

    private unknownPath(request: RestRequest): RestResponse {
        const key = `${request.source ?? '?'} ${request.path}`;
        if (!this.unknownPathsSeen.has(key)) {
            if (this.unknownPathsSeen.size < UNKNOWN_PATHS_REMEMBERED) {
                this.unknownPathsSeen.add(key);
                this.log.info(`no route for ${request.method} ${request.path.slice(0, 200)} (from ${request.source ?? 'unknown'}): 404`);
            } else {
                this.log.limited('info', 'unknown-paths', `no route for ${request.method} ${request.path.slice(0, 200)} (from ${request.source ?? 'unknown'}): 404`);
            }
        }
        return json(404, {code: 404, msg: 'no such route'});
    }
}

function json(status: number, body: Json): RestResponse {
    // No spaces: lookup.do's bots are "very picky" (§8.7), and nobody else minds.
    return {status, headers: {'content-type': 'application/json'}, body: JSON.stringify(body)};
}

/** Wi-Fi setup polls without a bot (§2.1). */
function wifiSetupAnswer(td: string): Json {
    return td === 'HasUnreadMsg' ? {ret: 'ok', unRead: false} : {ret: 'ok'};
}

function readRelayRequest(body: Json): RelayRequest | string {
    const {cmdName, toId, toType, toRes, payload} = body;
    if (typeof cmdName !== 'string' || cmdName.length === 0) return '"cmdName" must be a non-empty string';
    if (typeof toId !== 'string' || toId.length === 0) return '"toId" must be a non-empty string';
    const format = body.payloadType ?? 'j';
    if (format !== 'j' && format !== 'x') return '"payloadType" must be "j" or "x"';
    if (format === 'x' && typeof payload !== 'string') return 'an "x" payload must be an XML string';
    if (format === 'j' && payload !== undefined && !isPlainObject(payload)) return 'a "j" payload must be a JSON object';
    return {
        did: toId,
        ...(typeof toType === 'string' && {cls: toType}),
        ...(typeof toRes === 'string' && {resource: toRes}),
        command: cmdName,
        payload: payload ?? {},
        format,
    };
}

function requireString(body: Json, key: string): string {
    const value = body[key];
    if (value === undefined) throw new BadRequest(`"${key}" is missing`);
    if (typeof value !== 'string') throw new BadRequest(`"${key}" must be a string`);
    return value;
}

function headerValue(headers: RestRequest['headers'], name: string): string | undefined {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
}

function plainAddress(address: string | undefined): string | null {
    if (!address) return null;
    return address.startsWith('::ffff:') ? address.slice(7) : address;
}
