/** Topics, client ids, the JSON vocabulary and the state mapping, with payloads from ecovacs.md. */
import {describe, expect, it} from 'vitest';

import {
    buildRequest,
    cleanCommand,
    cleanInfoActivity,
    cleanRoomsCommand,
    getLifeSpanCommand,
    parseMessage,
    readObservation,
} from '../../src/families/ecovacs/codec.js';
import {
    atrTopic,
    formatClientId,
    HELPER_ENDPOINT,
    p2pTopic,
    parseAtrTopic,
    parseClientId,
    parseP2pTopic,
    replyTopicFor,
} from '../../src/families/ecovacs/topics.js';
import {decodeJson} from '../../src/util/json.js';

const BOT = {id: 'E0001234', cls: 'ls1ok3', resource: 'wC3g'};

describe('topics', () => {
    it('builds the helper request topic and reverses it for the reply (§2.1)', () => {
        const request = {command: 'getBattery', from: HELPER_ENDPOINT, to: BOT, direction: 'q' as const, requestId: 'iCmu', format: 'j' as const};
        expect(p2pTopic(request)).toBe('iot/p2p/getBattery/helperbot/bumper/helperbot/E0001234/ls1ok3/wC3g/q/iCmu/j');
        expect(replyTopicFor(request)).toBe('iot/p2p/getBattery/E0001234/ls1ok3/wC3g/helperbot/bumper/helperbot/p/iCmu/j');
        expect(parseP2pTopic('iot/p2p/getBattery/E0001234/ls1ok3/wC3g/helperbot/bumper/helperbot/p/iCmu/j')).toEqual({...request, from: BOT, to: HELPER_ENDPOINT, direction: 'p'});
    });

    it('refuses p2p topics with the wrong shape', () => {
        for (const topic of ['iot/p2p/getBattery/a/b/c/d/e/f/q/iCmu', 'iot/p2p/x/a/b/c/d/e/f/z/iCmu/j', 'iot/p2p/x/a/b/c/d/e/f/q/iCmu/k', 'iot/p2p/x/a//c/d/e/f/q/iCmu/j', 'iot/atr/x/a/b/c/d/e/f/q/r/j']) {
            expect(parseP2pTopic(topic)).toBeNull();
        }
    });

    it('reads atr topics (§2.4)', () => {
        expect(parseAtrTopic('iot/atr/onBattery/E0001234/ls1ok3/wC3g/j')).toEqual({event: 'onBattery', bot: BOT, format: 'j'});
        expect(parseAtrTopic('iot/atr/CleanSt/E0001234/ls1ok3/wC3g/x')?.format).toBe('x');
        expect(parseAtrTopic('iot/atr/onBattery/E0001234/ls1ok3/j')).toBeNull();
        expect(atrTopic({event: 'onBattery', bot: BOT, format: 'j'})).toBe('iot/atr/onBattery/E0001234/ls1ok3/wC3g/j');
    });

    it('tells bots from user clients by their client id (§2.5)', () => {
        expect(parseClientId('a1406f11-0000@yna5xi/MhP5')).toEqual({kind: 'bot', id: 'a1406f11-0000', cls: 'yna5xi', resource: 'MhP5'});
        expect(parseClientId('fuid_x@ecouser/abcdef')?.kind).toBe('user');
        expect(parseClientId('helperbot@bumper/helperbot')?.kind).toBe('user');
        for (const bad of ['nobody', '@cls/res', 'did@cls', 'did@cls/', 'd+d@cls/res', 'did@c#/res']) expect(parseClientId(bad)).toBeNull();
        expect(formatClientId(BOT)).toBe('E0001234@ls1ok3/wC3g');
    });
});

describe('messages', () => {
    it('reads a typical bot reply (§2.1)', () => {
        const reply = '{"header":{"pri":1,"tzm":480,"ts":"1304623069888","ver":"0.0.1","fwVer":"1.8.2","hwVer":"0.1.1"},"body":{"code":0,"msg":"ok","data":{"value":87,"isLow":0}}}';
        const parsed = parseMessage(reply);
        expect(parsed.ok && parsed.message.body).toEqual({code: 0, msg: 'ok', data: {value: 87, isLow: 0}});
        expect(parsed.ok && readObservation('getBattery', parsed.message.body.data)).toEqual({kind: 'battery', percent: 87, low: false});
    });

    it('refuses what is no message, each with a reason', () => {
        for (const [payload, reason] of [
            ['{"body":', 'not JSON'],
            [Buffer.from([0x7b, 0xff, 0x7d]), 'UTF-8'],
            ['[1]', 'object'],
            ['{"body":[]}', '"body"'],
            ['{"body":{"code":{}}}', 'code'],
            ['['.repeat(10_000) + ']'.repeat(10_000), 'nested'],
        ] as const) {
            const parsed = parseMessage(payload);
            expect(parsed.ok).toBe(false);
            expect(!parsed.ok && parsed.reason).toContain(reason);
        }
    });

    it('builds requests as deebot-client does: arguments in body.data, none without', () => {
        expect(buildRequest({act: 'go'}, 1_795_238_389_712)).toEqual({header: {pri: '1', ts: 1_795_238_389.712, tzm: 480, ver: '0.0.50'}, body: {data: {act: 'go'}}});
        expect(buildRequest(undefined, 0).body).toEqual({});
    });

    it('has the clean commands of §5.2, V1 and V2', () => {
        expect(cleanCommand('start', false)).toEqual({name: 'clean', data: {act: 'start', type: 'auto'}});
        expect(cleanCommand('resume', false)).toEqual({name: 'clean', data: {act: 'resume'}});
        expect(cleanCommand('start', true)).toEqual({name: 'clean_V2', data: {act: 'start', content: {type: 'auto'}}});
        expect(cleanCommand('pause', true)).toEqual({name: 'clean_V2', data: {act: 'pause', content: {type: ''}}});
        expect(cleanRoomsCommand(['1', '3'], false)).toEqual({name: 'clean', data: {act: 'start', type: 'spotArea', content: '1,3', count: 1}});
        expect(cleanRoomsCommand(['1', '3'], true).data).toEqual({act: 'start', content: {type: 'spotArea', value: '1,3'}});
        expect(getLifeSpanCommand(['brush']).data).toEqual(['brush']);
    });
});

describe('observations and state (§2.4, §5.3)', () => {
    it('maps clean info to activities', () => {
        const info = (data: unknown) => {
            const observation = readObservation('onCleanInfo', data);
            return observation?.kind === 'clean_info' ? cleanInfoActivity(observation) : undefined;
        };
        expect(info({trigger: 'app', state: 'clean', cleanState: {router: 'plan', type: 'auto', motionState: 'working'}})).toBe('cleaning');
        expect(info({trigger: 'app', state: 'clean', cleanState: {motionState: 'pause'}})).toBe('paused');
        expect(info({trigger: 'app', state: 'clean', cleanState: {motionState: 'goCharging'}})).toBe('returning');
        expect(info({trigger: 'app', state: 'goCharging'})).toBe('returning');
        expect(info({trigger: 'workComplete', state: 'idle'})).toBe('idle');
        expect(info({trigger: 'alert', state: 'idle'})).toBe('error');
        expect(info({state: 7})).toBeUndefined();
        expect(readObservation('onCleanInfo_V2', {state: 'idle'})).toMatchObject({v2: true});
    });

    it('reads the pushes of §2.4', () => {
        expect(readObservation('onChargeState', {isCharging: 1, mode: 'slot'})).toEqual({kind: 'charge_state', charging: true});
        expect(readObservation('onError', {code: [0, 105]})).toEqual({kind: 'error', code: 105});
        expect(readObservation('getError', {code: []})).toEqual({kind: 'error', code: 0});
        expect(readObservation('onSpeed', {speed: 1000})).toEqual({kind: 'speed', level: 1000});
        expect(readObservation('onLifeSpan', [{type: 'brush', left: 17979, total: 18000}, {type: 'x'}])).toEqual({kind: 'lifespan', parts: [{type: 'brush', left: 17979, total: 18000}]});
        expect(readObservation('onStats', {area: 12, time: 600, cid: '391593403', start: '1662015610', type: 'auto'})).toEqual({kind: 'stats', area: 12, seconds: 600, jobType: 'auto'});
        expect(readObservation('reportStats', {cid: '391593403', type: 'spotArea', stop: 1, mapCount: 17, area: 24, time: 1736, start: '1662015610', content: '0,4,2,12', stopReason: 3})).toEqual({
            kind: 'job_finished', area: 24, seconds: 1736, jobType: 'spotArea', stopReason: 3,
        });
        expect(readObservation('getWaterInfo', {enable: 0, amount: 3, type: 0, sweepType: 2})).toEqual({kind: 'water', amount: 3, mopAttached: false});
        expect(readObservation('onEvt', {code: 1071})).toEqual({kind: 'evt', code: 1071});
        expect(readObservation('onBattery', {value: '87'})).toMatchObject({percent: 87});
        expect(readObservation('onBattery', {value: 'lots'})).toBeNull();
        expect(readObservation('onSomethingElse', {})).toBeNull();
    });

    it('reads the active map and its rooms', () => {
        expect(readObservation('getCachedMapInfo', {enable: 1, info: [{mid: '1', using: 0}, {mid: '199390082', using: 1}]})).toEqual({kind: 'cached_map_info', mapId: '199390082'});
        const rooms = readObservation('getMapSet', {type: 'ar', mid: '199390082', subsets: [{mssid: '0', subtype: '5'}, {mssid: 2, subtype: '15', name: 'Workshop'}, {nothing: 1}]});
        expect(rooms).toEqual({kind: 'map_set', mapId: '199390082', rooms: [{id: '0', name: 'Kitchen'}, {id: '2', name: 'Workshop'}]});
        expect(readObservation('getMapSet', {type: 'vw', mid: '1', subsets: []})).toBeNull();
    });
});

describe('decodeJson', () => {
    it('counts nesting outside strings only', () => {
        expect(decodeJson(`{"a":"${'['.repeat(100)}"}`, {maxBytes: 1000, maxDepth: 2})).toEqual({ok: true, value: {a: '['.repeat(100)}});
        expect(decodeJson('{"a":"\\"[[["}', {maxBytes: 1000, maxDepth: 1}).ok).toBe(true);
        expect(decodeJson('[[[]]]', {maxBytes: 1000, maxDepth: 2}).ok).toBe(false);
        expect(decodeJson('{}', {maxBytes: 1, maxDepth: 2}).ok).toBe(false);
    });
});
