import {describe, expect, it} from 'vitest';

import {type OutboundMessage, OutboundQueue, type QueueOptions} from '../../src/ha/queue.js';
import {waitFor} from '../support/net.js';

function harness(overrides: Partial<QueueOptions> = {}) {
    let clock = 0;
    const sent: OutboundMessage[] = [];
    let failNext = false;
    const queue = new OutboundQueue({
        capacity: 100,
        deviceRatePerSecond: 10,
        deviceBurst: 5,
        replayRatePerSecond: {fast: 100, paced: 100},
        now: () => clock,
        send: async (message) => {
            if (failNext) {
                failNext = false;
                throw new Error('broker gone');
            }
            sent.push(message);
        },
        ...overrides,
    });
    const message = (topic: string, payload = 'x'): OutboundMessage => ({topic, payload, retain: true, qos: 1});
    return {
        queue,
        sent,
        message,
        advance: (ms: number) => (clock += ms),
        failNext: () => (failNext = true),
        settle: () => new Promise((resolve) => setImmediate(resolve)),
    };
}

describe('OutboundQueue', () => {
    it('keeps only the latest message per topic while the broker is away', async () => {
        const {queue, sent, message, settle} = harness();
        for (let i = 0; i < 50; i++) queue.enqueue(message('fogbridge/a/state', String(i)));
        queue.enqueue(message('fogbridge/b/state', 'b'));
        expect(queue.stats().pending).toBe(2);
        queue.setReady(true);
        await settle();
        expect(sent.map((m) => `${m.topic}=${m.payload}`)).toEqual(['fogbridge/a/state=49', 'fogbridge/b/state=b']);
    });

    it('never grows past its capacity and counts what it drops', async () => {
        const {queue, message} = harness({capacity: 10});
        for (let i = 0; i < 25; i++) queue.enqueue(message(`fogbridge/d${i}/state`));
        expect(queue.stats()).toMatchObject({pending: 10, dropped: 15});
    });

    it('keeps every event: events are not coalesced', async () => {
        const {queue, sent, message, settle} = harness();
        queue.enqueue(message('fogbridge/a/alert/event', '1'), {coalesce: false});
        queue.enqueue(message('fogbridge/a/alert/event', '2'), {coalesce: false});
        queue.setReady(true);
        await settle();
        expect(sent.map((m) => m.payload)).toEqual(['1', '2']);
    });

    it('throttles a flooding device to its rate and still delivers its latest state', async () => {
        const {queue, sent, message, advance, settle} = harness();
        queue.setReady(true);
        for (let i = 0; i < 100; i++) queue.enqueue(message('fogbridge/flood/state', String(i)), {deviceId: 'flood'});
        queue.enqueue(message('fogbridge/calm/state', 'calm'), {deviceId: 'calm'});
        await settle();
        // The burst (5) goes out, the rest coalesces into one waiting message; the calm device is unaffected.
        expect(sent.filter((m) => m.topic === 'fogbridge/flood/state')).toHaveLength(5);
        expect(sent.some((m) => m.topic === 'fogbridge/calm/state')).toBe(true);
        expect(queue.stats().throttled).toBe(95);
        expect(queue.stats().pending).toBe(1);
        advance(200);
        await new Promise((resolve) => setTimeout(resolve, 150));
        expect(sent.at(-1)).toMatchObject({topic: 'fogbridge/flood/state', payload: '99'});
        queue.close();
    });

    it('puts a message back when the broker could not take it, unless a newer one is waiting', async () => {
        const {queue, sent, message, failNext, settle} = harness();
        failNext();
        queue.setReady(true);
        queue.enqueue(message('fogbridge/a/state', 'old'));
        await settle();
        expect(queue.stats()).toMatchObject({failed: 1, pending: 1});
        queue.setReady(true);
        await settle();
        expect(sent.map((m) => m.payload)).toEqual(['old']);
    });

    it('paces each replay lane at its own rate behind live traffic', async () => {
        const {queue, sent, message, advance, settle} = harness({replayRatePerSecond: {fast: 100, paced: 20}});
        for (let i = 0; i < 10; i++) queue.enqueue(message(`homeassistant/device/d${i}/config`), {replay: 'paced'});
        for (let i = 0; i < 10; i++) queue.enqueue(message(`fogbridge/d${i}/state`), {replay: 'fast'});
        queue.enqueue(message('fogbridge/live/state'));
        queue.setReady(true);
        await settle();
        // A replay's first burst is earned: with the clock frozen only live traffic goes.
        expect(sent.map((m) => m.topic)).toEqual(['fogbridge/live/state']);
        advance(100);
        queue.enqueue(message('fogbridge/other/state'));
        await settle();
        // 100 ms earn the fast lane 10 tokens and the paced lane 2.
        const topics = sent.map((m) => m.topic);
        expect(topics.slice(0, 2)).toEqual(['fogbridge/live/state', 'fogbridge/other/state']);
        expect(topics.filter((topic) => topic.endsWith('/state')).length).toBe(12);
        expect(topics.filter((topic) => topic.endsWith('/config'))).toEqual(['homeassistant/device/d0/config', 'homeassistant/device/d1/config']);
        expect(queue.replayBacklogMs('paced')).toBe(400);
        queue.close();
    });

    it('ends the replays at a stop: only live traffic is waited for', async () => {
        const {queue, sent, message} = harness({replayRatePerSecond: {fast: 10, paced: 10}});
        for (let i = 0; i < 50; i++) queue.enqueue(message(`homeassistant/device/d${i}/config`), {replay: 'paced'});
        queue.enqueue(message('fogbridge/live/state'));
        queue.endReplays();
        expect(queue.enqueue(message('fogbridge/d1/state'), {replay: 'fast'})).toBe(false);
        queue.setReady(true);
        expect(await queue.idle(1000)).toBe(true);
        expect(sent.map((m) => m.topic)).toEqual(['fogbridge/live/state']);
        queue.close();
    });

    it('never retries an older state over a newer one that was sent meanwhile', async () => {
        let rejectFirst: (error: Error) => void = () => undefined;
        const sent: OutboundMessage[] = [];
        const {queue} = harness({
            send: (message) => {
                if (message.payload === 'old') return new Promise((_resolve, reject) => (rejectFirst = reject));
                sent.push(message);
                return Promise.resolve();
            },
        });
        queue.setReady(true);
        queue.enqueue({topic: 'fogbridge/a/state', payload: 'old', retain: true, qos: 1});
        queue.enqueue({topic: 'fogbridge/a/state', payload: 'new', retain: true, qos: 1});
        await new Promise((resolve) => setImmediate(resolve));
        rejectFirst(new Error('broker gone'));
        await new Promise((resolve) => setImmediate(resolve));
        expect(sent.map((m) => m.payload)).toEqual(['new']);
        expect(queue.stats()).toMatchObject({failed: 1, pending: 0});
        queue.close();
    });

    it('retries a failed message by itself, with nothing else enqueued', async () => {
        let failures = 1;
        const sent: OutboundMessage[] = [];
        const {queue} = harness({
            send: async (message) => {
                if (failures-- > 0) throw new Error('publish failed');
                sent.push(message);
            },
        });
        queue.setReady(true);
        queue.enqueue({topic: 'fogbridge/a/state', payload: 'only', retain: true, qos: 1});
        await waitFor(() => sent.length === 1, 5000, 'the retry');
        expect(queue.stats()).toMatchObject({failed: 1, sent: 1, pending: 0});
        queue.close();
    });

    it('refuses to queue a topic with a wildcard', () => {
        const {queue, message} = harness();
        expect(queue.enqueue(message('fogbridge/+/state'))).toBe(false);
        expect(queue.enqueue(message('fogbridge/#'))).toBe(false);
        expect(queue.stats()).toMatchObject({pending: 0, dropped: 2});
    });
});
