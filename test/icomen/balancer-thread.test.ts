import type {Worker} from 'node:worker_threads';

import {afterEach, describe, expect, it} from 'vitest';

import {Command} from '../../src/families/icomen/codec.js';
import type {BalancerThread} from '../../src/families/icomen/balancer-thread.js';
import {setLogLevel} from '../../src/util/logger.js';
import {waitFor} from '../support/net.js';
import {type Harness, RawPlug, startHarness} from './harness.js';
import {frameBytes} from './vectors.js';

let harness: Harness | null = null;
const raws: RawPlug[] = [];

afterEach(async () => {
    for (const plug of raws.splice(0)) plug.close();
    await harness?.dispose();
    harness = null;
});

async function raw(port: number): Promise<RawPlug> {
    const plug = await RawPlug.connect(port);
    raws.push(plug);
    return plug;
}

/** The adapter's balancer thread, to end it as a crash would. */
function balancerWorker(current: Harness): Worker {
    const thread = (current.adapter as unknown as {balancer: BalancerThread}).balancer;
    const worker = (thread as unknown as {worker: Worker | null}).worker;
    if (!worker) throw new Error('the balancer thread is not running');
    return worker;
}

describe('icomen balancer thread', () => {
    it('starts again after it ended unexpectedly, on the same port', async () => {
        harness = await startHarness();
        await balancerWorker(harness).terminate();
        await waitFor(() => harness!.logs.some((line) => line.level === 'error' && line.message.includes('the balancer thread ended unexpectedly')), 5000, 'the error line');
        await waitFor(() => harness!.logs.some((line) => line.message.includes(`the balancer thread listens again on port ${harness!.balancerPort}`)), 5000, 'the restart');
        const plug = await raw(harness.balancerPort);
        plug.write(frameBytes('C1'));
        await plug.waitForFrame(Command.changeServer);
    });

    it('follows a log level changed while it runs', async () => {
        harness = await startHarness();
        const linesOf = (what: string): number => harness!.logs.filter((line) => line.namespace === 'icomen:balancer' && line.message.includes(what)).length;
        const redirect = async (): Promise<void> => {
            const plug = await raw(harness!.balancerPort);
            plug.write(frameBytes('C1'));
            await plug.waitForFrame(Command.changeServer);
        };
        await redirect();
        // Its info line and its debug line would come over together.
        await waitFor(() => linesOf('connected from') === 1, 5000, 'the first redirect logged');
        expect(linesOf('redirecting to')).toBe(0);
        setLogLevel('debug');
        try {
            // The new level and the next plug race to the thread: a redirect after it arrived is logged.
            for (let attempt = 0; attempt < 20 && linesOf('redirecting to') === 0; attempt++) {
                await redirect();
                await waitFor(() => linesOf('connected from') === attempt + 2, 5000, 'the redirect logged');
            }
            expect(linesOf('redirecting to')).toBeGreaterThan(0);
        } finally {
            setLogLevel('info');
        }
    });

    it("counts a plug flooding the balancer in the edge's flood counters, and closes its connection", async () => {
        harness = await startHarness({flood: {packetsPerSecond: 5, burst: 5, cutOffAfterDrops: 50, backoffSeconds: 30}});
        const plug = await raw(harness.balancerPort);
        plug.write(Buffer.concat([frameBytes('C1'), ...Array.from({length: 200}, () => frameBytes('C7'))]));
        await plug.waitClosed();
        await waitFor(() => harness!.floodGuards.totals().dropped >= 50, 5000, 'the drops reported by the thread');
        expect(harness.floodGuards.totals().cutOffs).toBe(1);
        await waitFor(() => harness!.logs.some((line) => line.namespace === 'icomen:balancer' && line.message.includes('plug 0095691a2b3c keeps flooding')), 5000, 'the warning');
    });

    it("hands a storm's batch to the hooks in slices, so that other traffic runs between them", async () => {
        harness = await startHarness();
        const worker = balancerWorker(harness);
        const batch = Array.from({length: 1000}, (_, index) => ({
            hook: 'plugConnected',
            plug: {mac: `00956a${index.toString(16).padStart(6, '0')}`, vendor: {company: 0xc2, deviceType: 0x11, auth: 0x92dd}, address: '127.0.0.1', listener: 'balancer'},
        }));
        const known = (): number => harness!.registry.count('icomen');
        worker.emit('message', {kind: 'events', events: batch});
        await new Promise((resolve) => setImmediate(resolve));
        const afterOneTurn = known();
        expect(afterOneTurn).toBeGreaterThan(0);
        expect(afterOneTurn).toBeLessThan(1000);
        await waitFor(() => known() === 1000, 5000, 'the whole batch registered');
    });

    it('stops with the adapter, and its counters leave the totals', async () => {
        harness = await startHarness({flood: {packetsPerSecond: 5, burst: 5, cutOffAfterDrops: 50, backoffSeconds: 30}});
        const worker = balancerWorker(harness);
        const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
        const plug = await raw(harness.balancerPort);
        plug.write(Buffer.concat([frameBytes('C1'), ...Array.from({length: 100}, () => frameBytes('C7'))]));
        await waitFor(() => harness!.floodGuards.totals().dropped > 0, 5000, 'the drops reported by the thread');
        await harness.adapter.stop();
        await exited;
        await plug.waitClosed();
        expect(harness.floodGuards.totals().dropped).toBe(0);
        expect(harness.logs.some((line) => line.message.includes('ended unexpectedly'))).toBe(false);
    });
});
