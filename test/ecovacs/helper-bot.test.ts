import {afterEach, describe, expect, it, vi} from 'vitest';

import {HelperBot, RelayRefusedError, RelayTimeoutError} from '../../src/families/ecovacs/helper-bot.js';
import {parseP2pTopic, replyTopicFor} from '../../src/families/ecovacs/topics.js';

const BOT = {id: 'E0001234', cls: 'ls1ok3', resource: 'wC3g'};

function helper(options: {timeoutMs?: number; maxPending?: number} = {}) {
    const sent: {topic: string; payload: string}[] = [];
    const bot = new HelperBot({publish: (topic, payload) => sent.push({topic, payload}), timeoutMs: options.timeoutMs ?? 5000, maxPending: options.maxPending ?? 10});
    return {bot, sent};
}

afterEach(() => vi.useRealTimers());

describe('HelperBot', () => {
    it('publishes the request verbatim and resolves with the reply matched by request id', async () => {
        const {bot, sent} = helper();
        const payload = {header: {pri: '1'}, body: {data: {act: 'start', type: 'auto'}}};
        const answer = bot.request(BOT, 'clean_V2', payload, 'j');
        const request = parseP2pTopic(sent[0]!.topic)!;
        expect(request).toMatchObject({command: 'clean_V2', to: BOT, direction: 'q', format: 'j'});
        expect(request.requestId).toMatch(/^[A-Za-z]{4}$/);
        expect(JSON.parse(sent[0]!.payload)).toEqual(payload);
        expect(bot.handleMessage(replyTopicFor(request), Buffer.from('{"body":{"code":0,"msg":"ok"}}'))).toBe(true);
        await expect(answer).resolves.toEqual({requestId: request.requestId, format: 'j', payload: {body: {code: 0, msg: 'ok'}}});
        expect(bot.pendingCount).toBe(0);
        expect(bot.counters).toMatchObject({sent: 1, answered: 1});
    });

    it('keeps XML payloads as strings both ways', async () => {
        const {bot, sent} = helper();
        const answer = bot.request(BOT, 'GetCleanSpeed', '<ctl td="GetCleanSpeed"/>', 'x');
        expect(sent[0]!.payload).toBe('<ctl td="GetCleanSpeed"/>');
        bot.handleMessage(replyTopicFor(parseP2pTopic(sent[0]!.topic)!), Buffer.from("<ctl ret='ok' speed='standard'/>"));
        await expect(answer).resolves.toMatchObject({payload: "<ctl ret='ok' speed='standard'/>", format: 'x'});
    });

    it('counts and drops replies nobody asked for, and replies from another bot', async () => {
        const {bot, sent} = helper();
        expect(bot.handleMessage('iot/p2p/getBattery/E0001234/ls1ok3/wC3g/helperbot/bumper/helperbot/p/ZZZZ/j', '{}')).toBe(true);
        const answer = bot.request(BOT, 'getBattery', {}, 'j');
        const request = parseP2pTopic(sent[0]!.topic)!;
        const forged = replyTopicFor({...request, to: {...BOT, id: 'E9999999'}});
        bot.handleMessage(forged, '{}');
        expect(bot.counters.unsolicited).toBe(2);
        expect(bot.pendingCount).toBe(1);
        bot.handleMessage(replyTopicFor(request), '{"body":{}}');
        await expect(answer).resolves.toBeTruthy();
    });

    it('ignores garbage on its reply topic and lets the request time out', async () => {
        vi.useFakeTimers();
        const {bot, sent} = helper({timeoutMs: 10_000});
        const answer = bot.request(BOT, 'getBattery', {}, 'j');
        const failed = expect(answer).rejects.toBeInstanceOf(RelayTimeoutError);
        bot.handleMessage(replyTopicFor(parseP2pTopic(sent[0]!.topic)!), Buffer.from([0xff, 0xfe, 0x00]));
        expect(bot.counters.malformed).toBe(1);
        await vi.advanceTimersByTimeAsync(10_000);
        await failed;
        expect(bot.counters.timeouts).toBe(1);
        expect(bot.pendingCount).toBe(0);
    });

    it('is not interested in other topics', () => {
        const {bot} = helper();
        expect(bot.handleMessage('iot/atr/onBattery/E0001234/ls1ok3/wC3g/j', '{}')).toBe(false);
        expect(bot.handleMessage('iot/p2p/getBattery/helperbot/bumper/helperbot/E0001234/ls1ok3/wC3g/q/abcd/j', '{}')).toBe(false);
        expect(bot.subscriptions).toEqual(['iot/p2p/+/+/+/+/helperbot/bumper/helperbot/p/+/+']);
    });

    it('refuses requests beyond its cap, bad command names, and everything after close', async () => {
        const {bot} = helper({maxPending: 1});
        const first = bot.request(BOT, 'getBattery', {}, 'j');
        await expect(bot.request(BOT, 'getSpeed', {}, 'j')).rejects.toBeInstanceOf(RelayRefusedError);
        await expect(bot.request(BOT, 'get/../x', {}, 'j')).rejects.toBeInstanceOf(RelayRefusedError);
        bot.close();
        await expect(first).rejects.toBeInstanceOf(RelayRefusedError);
        await expect(bot.request(BOT, 'getBattery', {}, 'j')).rejects.toBeInstanceOf(RelayRefusedError);
    });
});
