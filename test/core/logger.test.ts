import {afterEach, describe, expect, it} from 'vitest';

import {type LogLine, createLogger, redact, registerSecret, setLogLevel, setLogSink, subscribeToLog} from '../../src/util/logger.js';

describe('logger', () => {
    const lines: string[] = [];
    afterEach(() => {
        setLogSink(null);
        setLogLevel('info');
        setLogLevel('info', 'test');
        lines.length = 0;
    });
    const capture = (): void => setLogSink((level, namespace, message) => lines.push(`${level} [${namespace}] ${message}`));

    it('masks every registered secret, wherever it appears in a line', () => {
        capture();
        registerSecret('AbCdEfGh12345678');
        createLogger('test:secrets').warn('device 42 rejected key AbCdEfGh12345678 (AbCdEfGh12345678)');
        expect(lines).toEqual(['warn [test:secrets] device 42 rejected key *** (***)']);
    });

    it('masks the longest secret at a place, secrets sharing a beginning, and secrets among thousands', () => {
        registerSecret('Shared0001');
        registerSecret('Shared0001-longer');
        registerSecret('Shared0002');
        for (let index = 0; index < 5000; index++) registerSecret(`fleet-key-${index.toString().padStart(6, '0')}`);
        expect(redact('a Shared0001-longer b Shared0002 c Shared0001 d Shared000')).toBe('a *** b *** c *** d Shared000');
        expect(redact('fleet-key-004999fleet-key-000000 and fleet-key-0')).toBe('****** and fleet-key-0');
        expect(redact('short')).toBe('short');
        expect(redact('nothing secret here')).toBe('nothing secret here');
    });

    it('filters by level, globally and per namespace', () => {
        capture();
        const log = createLogger('test:levels');
        log.debug('hidden');
        setLogLevel('debug', 'test');
        log.debug(() => 'shown lazily');
        createLogger('other').debug('hidden too');
        expect(lines).toEqual(['debug [test:levels] shown lazily']);
    });

    it('rate-limits floods of the same line and says how many were suppressed', () => {
        capture();
        const log = createLogger('test:flood');
        for (let i = 0; i < 5; i++) log.limited('warn', 'bad-packet', `bad packet ${i}`, 0);
        for (let i = 0; i < 5; i++) log.limited('warn', 'slow', `slow ${i}`, 60_000);
        expect(lines.filter((line) => line.includes('slow'))).toEqual(['warn [test:flood] slow 0']);
        expect(lines.filter((line) => line.includes('bad packet'))).toHaveLength(5);
    });

    it('a subscriber hears every line that passes the level, masked, and a failing one harms nobody', () => {
        capture();
        registerSecret('SubscriberSecret1');
        const heard: LogLine[] = [];
        const stopFailing = subscribeToLog(() => {
            throw new Error('broken subscriber');
        });
        const stop = subscribeToLog((line) => heard.push(line));
        const log = createLogger('test:subscriber');
        log.warn('token SubscriberSecret1 refused');
        log.debug('below the level');
        stop();
        stopFailing();
        log.warn('after unsubscribing');
        expect(heard).toEqual([{time: expect.any(Number), level: 'warn', namespace: 'test:subscriber', message: 'token *** refused'}]);
        expect(lines).toEqual(['warn [test:subscriber] token *** refused', 'warn [test:subscriber] after unsubscribing']);
    });
});
