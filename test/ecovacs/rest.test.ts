/** The REST table as deebot-client 2.0.1 walks it (ecovacs.md §1.4), the relay's outcomes and bad input. */
import {describe, expect, it} from 'vitest';

import {EcovacsRest, type RelayOutcome, type RelayRequest, type RestRequest} from '../../src/families/ecovacs/rest/routes.js';
import {SessionTokens} from '../../src/families/ecovacs/rest/session-tokens.js';

const LIFETIME_MS = 30 * 86_400_000;

function setup(relayOutcome: (request: RelayRequest) => RelayOutcome = () => ({kind: 'reply', requestId: 'abcd', payload: {body: {code: 0}}, format: 'j'})) {
    let now = 1_800_000_000_000;
    const relayed: RelayRequest[] = [];
    const tokens = new SessionTokens(Buffer.alloc(32, 7), LIFETIME_MS, () => now);
    const rest = new EcovacsRest({
        tokens,
        bots: () => [{did: 'E0001234', cls: 'ls1ok3', resource: 'wC3g', name: 'E0001234', nick: 'Deebot', online: true}],
        relay: async (request) => {
            relayed.push(request);
            return relayOutcome(request);
        },
        cleanLogs: () => [{ts: 1, last: 600, area: 12, type: 'auto', stopReason: 1}],
        advertiseAddress: null,
        xmppPort: 5223,
        unknownBotErrno: 4200,
        maxBodyBytes: 64 * 1024,
        maxJsonDepth: 32,
        now: () => now,
    });
    const call = async (method: string, url: string, body: unknown = '', headers: Record<string, string> = {}) => {
        const parsed = new URL(url, 'https://portal-eu.ecouser.net');
        const request: RestRequest = {
            method,
            path: parsed.pathname,
            query: parsed.searchParams,
            headers,
            body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
            source: '192.0.2.7',
            localAddress: '::ffff:192.0.2.1',
        };
        const response = await rest.handle(request);
        expect(response.headers['content-type']).toMatch(/^application\/(json|octet-stream)$/);
        return {...response, json: response.headers['content-type'] === 'application/json' ? JSON.parse(response.body) : undefined};
    };
    const login = async () => {
        const first = await call('GET', '/v1/private/de/EN/abcdef0123456789/global_e/1.6.3/google_play/1/user/login?account=user@example.com&password=x&requestId=y');
        const {uid, accessToken} = first.json.data;
        const code = await call('GET', `/v1/global/auth/getAuthCode?uid=${uid}&accessToken=${accessToken}&bizType=ECOVACS_IOT&deviceId=abc`);
        const session = await call('POST', '/api/users/user.do', {todo: 'loginByItToken', edition: 'ECOGLOBLE', userId: uid, token: code.json.data.authCode, realm: 'ecouser.net', resource: 'abc', org: 'ECOWW', last: '', country: 'DE'});
        return {first, code, session, auth: {with: 'users', userid: uid, realm: 'ecouser.net', token: session.json.token, resource: 'abc'}};
    };
    return {call, login, relayed, advance: (ms: number) => (now += ms)};
}

describe('login and device list', () => {
    it('logs any account in with the exact envelopes, and the session lasts', async () => {
        const {login} = setup();
        const {first, code, session} = await login();
        expect(first.status).toBe(200);
        expect(first.json).toMatchObject({code: '0000', success: true, msg: 'ok', data: {uid: expect.stringMatching(/^fuid_/), verifyDevice: 'N'}});
        expect(typeof first.json.time).toBe('number');
        expect(code.json).toMatchObject({code: '0000', data: {authCode: expect.any(String), ecovacsUid: first.json.data.uid}});
        expect(session.json).toMatchObject({todo: 'result', result: 'ok', userId: first.json.data.uid, resource: 'abc', last: LIFETIME_MS});
    });

    it('lists bots as eco-ng with code 0 (int) on app.do and result ok on user.do', async () => {
        const {call, login} = setup();
        const {auth} = await login();
        const global = await call('POST', '/api/appsvr/app.do', {todo: 'GetGlobalDeviceList', userid: auth.userid, auth});
        expect(global.json).toMatchObject({code: 0, ret: 'ok', todo: 'result', devices: [{did: 'E0001234', class: 'ls1ok3', resource: 'wC3g', company: 'eco-ng', status: 1}]});
        const list = await call('POST', '/api/users/user.do', {todo: 'GetDeviceList', auth});
        expect(list.json).toMatchObject({result: 'ok', todo: 'result', devices: [{did: 'E0001234'}]});
        expect((await call('POST', '/api/lg/log.do?td=GetCleanLogs', {td: 'GetCleanLogs', did: 'E0001234', auth})).json).toEqual({ret: 'ok', logs: [{ts: 1, last: 600, area: 12, type: 'auto', stopReason: 1}]});
    });

    it('checks tokens on later calls: unknown, forged, expired or another user\'s', async () => {
        const {call, login, advance} = setup();
        const {auth} = await login();
        const list = (withAuth: unknown) => call('POST', '/api/appsvr/app.do', {todo: 'GetGlobalDeviceList', auth: withAuth});
        expect((await list({...auth, token: `${auth.token.split('.')[0]}.AAAA`})).json).toMatchObject({ret: 'fail', errno: 3004});
        expect((await list({...auth, userid: 'fuid_other'})).json).toMatchObject({ret: 'fail', errno: 3004});
        expect((await list(undefined)).json).toMatchObject({ret: 'fail', errno: 3004});
        expect((await list(auth)).json.ret).toBe('ok');
        advance(LIFETIME_MS + 1);
        expect((await list(auth)).json).toMatchObject({ret: 'fail', errno: 3004});
        const getAuthCode = await call('GET', '/v1/global/auth/getAuthCode?uid=fuid_x&accessToken=nope');
        expect(getAuthCode.json).toMatchObject({code: '0004', success: false});
    });

    it('answers lookup.do without spaces, with the address the bot reached', async () => {
        const {call} = setup();
        const found = await call('POST', '/lookup.do', '{"todo":"FindBest","service":"EcoMsgNew"}');
        expect(found.body).toBe('{"ip":"192.0.2.1","port":5223,"result":"ok"}');
        const form = await call('POST', '/lookup.do', 'todo=FindBest&service=EcoMsgNew', {'content-type': 'application/x-www-form-urlencoded'});
        expect(form.json).toEqual({ip: '192.0.2.1', port: 5223, result: 'ok'});
    });

    it('never offers firmware, and answers unknown paths with JSON 404', async () => {
        const {call} = setup();
        expect((await call('GET', '/api/ota/products/wukong/class/ls1ok3/firmware/latest.json?ver=1.0&module=fw0')).status).toBe(404);
        const unknown = await call('GET', '/api/nothing/here');
        expect(unknown.status).toBe(404);
        expect(unknown.json).toEqual({code: 404, msg: 'no such route'});
    });
});

describe('the relay', () => {
    const command = (auth: unknown) => ({
        cmdName: 'clean',
        payload: {header: {pri: '1', ts: 1795238389.712, tzm: 480, ver: '0.0.50'}, body: {data: {act: 'start', type: 'auto'}}},
        payloadType: 'j', td: 'q', toId: 'E0001234', toRes: 'wC3g', toType: 'ls1ok3', auth,
    });

    it('passes the payload through and answers ret ok with the reply', async () => {
        const {call, login, relayed} = setup();
        const {auth} = await login();
        const answer = await call('POST', '/api/iot/devmanager.do?mid=ls1ok3&did=E0001234&td=q', command(auth));
        expect(answer.json).toEqual({id: 'abcd', ret: 'ok', resp: {body: {code: 0}}, payloadType: 'j'});
        expect(relayed[0]).toEqual({did: 'E0001234', cls: 'ls1ok3', resource: 'wC3g', command: 'clean', payload: command(auth).payload, format: 'j'});
    });

    it('answers errno 500 on timeout and 4200 when the bot is offline or unknown', async () => {
        for (const [outcome, expected] of [
            [{kind: 'timeout', requestId: 'wxyz'}, {id: 'wxyz', ret: 'fail', errno: 500, debug: 'wait for response timed out'}],
            [{kind: 'offline'}, {ret: 'fail', errno: 4200, error: 'endpoint offline'}],
            [{kind: 'unknown'}, {ret: 'fail', errno: 4200}],
        ] as const) {
            const {call, login} = setup(() => outcome);
            const {auth} = await login();
            expect((await call('POST', '/api/iot/devmanager.do', command(auth))).json).toMatchObject(expected);
        }
    });

    it('answers Wi-Fi setup polls without a bot', async () => {
        const {call} = setup();
        expect((await call('POST', '/api/iot/devmanager.do', {td: 'HasUnreadMsg'})).json).toEqual({ret: 'ok', unRead: false});
        expect((await call('POST', '/api/iot/devmanager.do', {td: 'PollSCResult'})).json).toEqual({ret: 'ok'});
    });

    it('relays endpoint/control with the bot\'s raw reply', async () => {
        const {call, relayed} = setup();
        const answer = await call('POST', '/api/iot/endpoint/control?fmt=j&apn=getBattery&eid=E0001234&et=ls1ok3&er=wC3g&ct=q', '{"header":{}}');
        expect(answer.headers['x-ngiot-ret']).toBe('ok');
        expect(answer.body).toBe('{"body":{"code":0}}');
        expect(relayed[0]).toMatchObject({did: 'E0001234', command: 'getBattery', payload: {header: {}}});
        const refused = await call('POST', '/api/iot/endpoint/control?fmt=q&apn=getBattery', '{}');
        expect(refused.status).toBe(400);
    });
});

describe('bad input', () => {
    it('refuses malformed JSON, invalid UTF-8, deep JSON, wrong types and a missing todo with a clear error', async () => {
        const {call, login} = setup();
        const {auth} = await login();
        const cases: [string, unknown, number, string][] = [
            ['/api/users/user.do', '{"todo":', 400, 'not JSON'],
            ['/api/users/user.do', Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]), 400, 'UTF-8'],
            ['/api/users/user.do', '['.repeat(10_000) + ']'.repeat(10_000), 400, 'nested deeper'],
            ['/api/users/user.do', `{"todo":"FindBest","x":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`, 400, 'nested deeper'],
            ['/api/users/user.do', '[]', 400, 'not a JSON object'],
            ['/api/users/user.do', {todo: 7}, 400, '"todo" must be a string'],
            ['/api/users/user.do', {userId: 'x'}, 400, '"todo" is missing'],
            ['/api/appsvr/app.do', {}, 400, '"todo" is missing'],
            ['/lookup.do', {todo: ['FindBest']}, 400, '"todo" must be a string'],
            ['/api/users/user.do', 'x'.repeat(70 * 1024), 413, 'more than'],
            ['/api/iot/devmanager.do', {td: 'q', toId: 'E0001234', cmdName: 5, auth}, 400, '"cmdName"'],
            ['/api/iot/devmanager.do', {td: 'q', toId: 'E0001234', cmdName: 'clean', payloadType: 'x', payload: {}, auth}, 400, 'XML string'],
            ['/api/iot/devmanager.do', {toId: 'E0001234', cmdName: 'clean', auth}, 400, '"td" is missing'],
        ];
        for (const [path, body, status, reason] of cases) {
            const answer = await call('POST', path, body);
            expect(answer.status, `${path} ${String(body).slice(0, 30)}`).toBe(status);
            expect(answer.json.error).toContain(reason);
        }
        const user = await call('POST', '/api/users/user.do', {todo: 'Nonsense'});
        expect(user.json).toMatchObject({todo: 'result', result: 'fail'});
        const app = await call('POST', '/api/appsvr/app.do', {todo: 'Nonsense', auth});
        expect(app.json).toMatchObject({todo: 'result', ret: 'fail', errno: 2004});
        expect((await call('GET', '/v1/private/de/EN/abc/global_e/1.6.3/google_play/1/user/login')).json).toMatchObject({code: '0004', msg: '"account" is missing'});
    });
});
