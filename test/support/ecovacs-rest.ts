/**
 * A minimal Ecovacs app over plain HTTP (the REST port, 8007): the login sequence of ecovacs.md
 * §1.4 and devmanager.do requests, as deebot-client sends them. For tests and benchmarks.
 */
import http from 'node:http';

import type {Endpoint} from '../../src/families/ecovacs/topics.js';

export interface EcovacsAuth {
    with: 'users';
    userid: string;
    realm: 'ecouser.net';
    token: string;
    resource: string;
}

export interface RestAnswer {
    status: number;
    json: Record<string, unknown>;
}

const agent = new http.Agent({keepAlive: true, maxSockets: 64});

export function restCall(port: number, method: string, path: string, body?: unknown): Promise<RestAnswer> {
    return new Promise((resolve, reject) => {
        const text = body === undefined ? undefined : JSON.stringify(body);
        const request = http.request({host: '127.0.0.1', port, method, path, agent, headers: text ? {'content-type': 'application/json', 'content-length': Buffer.byteLength(text)} : {}}, (response) => {
            const chunks: Buffer[] = [];
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('end', () => {
                try {
                    resolve({status: response.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>});
                } catch (error) {
                    reject(error as Error);
                }
            });
        });
        request.on('error', reject);
        request.end(text);
    });
}

/** Login, auth code, loginByItToken: the session an app then sends with every call. */
export async function ecovacsLogin(port: number, resource = 'fbtest01'): Promise<EcovacsAuth> {
    const login = await restCall(port, 'GET', `/v1/private/de/EN/${resource}/global_e/1.6.3/google_play/1/user/login?account=user%40example.com&password=x`);
    const {uid, accessToken} = login.json.data as {uid: string; accessToken: string};
    const code = await restCall(port, 'GET', `/v1/global/auth/getAuthCode?uid=${uid}&accessToken=${accessToken}`);
    const {authCode} = code.json.data as {authCode: string};
    const session = await restCall(port, 'POST', '/api/users/user.do', {todo: 'loginByItToken', userId: uid, token: authCode, realm: 'ecouser.net', resource, org: 'ECOWW', country: 'DE'});
    return {with: 'users', userid: uid, realm: 'ecouser.net', token: session.json.token as string, resource};
}

/** One devmanager.do request to `bot`, a JSON command without arguments. */
export function devmanager(port: number, auth: EcovacsAuth, bot: Endpoint, cmdName: string): Promise<RestAnswer> {
    return restCall(port, 'POST', `/api/iot/devmanager.do?mid=${bot.cls}&did=${bot.id}&td=q&u=${auth.userid}`, {
        cmdName,
        payload: {header: {pri: '1', ts: Date.now(), tzm: 480, ver: '0.0.50'}},
        payloadType: 'j',
        td: 'q',
        toId: bot.id,
        toRes: bot.resource,
        toType: bot.cls,
        auth,
    });
}
