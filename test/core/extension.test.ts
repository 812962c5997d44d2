import {describe, expect, it} from 'vitest';

import {type Extension, startExtensions, stopExtensions} from '../../src/core/extension.js';

function recorder(): {calls: string[]; extension(name: string, fail?: 'start' | 'stop'): Extension} {
    const calls: string[] = [];
    return {
        calls,
        extension: (name, fail) => ({
            name,
            start: async () => {
                calls.push(`start ${name}`);
                if (fail === 'start') throw new Error('no port');
            },
            stop: () => {
                calls.push(`stop ${name}`);
                if (fail === 'stop') throw new Error('stuck');
            },
        }),
    };
}

describe('extensions', () => {
    it('start in list order and stop in reverse, each stop running even when one before it fails', async () => {
        const {calls, extension} = recorder();
        const list = [extension('a'), extension('b', 'stop'), extension('c')];
        await startExtensions(list);
        await stopExtensions(list);
        expect(calls).toEqual(['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
    });

    it('stop the ones already started when one cannot start, and name the one that failed', async () => {
        const {calls, extension} = recorder();
        await expect(startExtensions([extension('a'), extension('b'), extension('c', 'start'), extension('d')])).rejects.toThrow('extension c could not start: no port');
        expect(calls).toEqual(['start a', 'start b', 'start c', 'stop b', 'stop a']);
    });
});
