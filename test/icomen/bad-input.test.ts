import {afterEach, beforeEach, describe, expect, it} from 'vitest';

import {decryptFrame, DEFAULT_KEY} from '../../src/families/icomen/codec.js';
import {type SimulatedIcomenPlug, startIcomenPlugs} from '../../src/simulate/icomen.js';
import {waitFor} from '../support/net.js';
import {type Harness, quietLogger, RawPlug, startHarness} from './harness.js';
import {frameBytes} from './vectors.js';

/**
 * Each case: one well-behaved simulated plug stays connected while a second connection misbehaves.
 * The bad connection must be closed with one log line naming it and the reason, and the good plug
 * must keep switching meanwhile.
 */
let harness: Harness;
let good: SimulatedIcomenPlug;
let bad: RawPlug | null = null;

beforeEach(async () => {
    harness = await startHarness({frameTimeoutSeconds: 1});
    [good] = (await startIcomenPlugs({count: 1, port: harness.balancerPort, logger: quietLogger()})) as [SimulatedIcomenPlug];
    await waitFor(() => harness.registry.get(goodId())?.state.switch === false);
});

afterEach(async () => {
    bad?.close();
    bad = null;
    await good.stop();
    await harness.dispose();
});

function goodId(): string {
    return `icomen-${good.mac}`;
}

async function connectBad(): Promise<RawPlug> {
    bad = await RawPlug.connect(harness.sessionPort);
    return bad;
}

function warnings(): string[] {
    return harness.logs.filter((line) => line.level === 'warn' && line.namespace === 'icomen:server').map((line) => line.message);
}

/** The good plug is still connected and obeys a command while (or after) the bad one was dealt with. */
async function goodPlugStillWorks(): Promise<void> {
    const next = !good.on;
    await harness.router.route(goodId(), 'switch', {kind: 'switch', on: next});
    await waitFor(() => harness.registry.get(goodId())?.state.switch === next, 5000, 'the good plug to switch');
    expect(harness.registry.get(goodId())!.link.online).toBe(true);
    expect(good.sessions).toBe(1);
}

function expectOneLine(who: string, reason: RegExp): void {
    const lines = warnings().filter((line) => line.includes(who));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(reason);
    expect(lines[0]).toMatch(/closing the connection/);
}

describe('icomen server: bad input closes only that connection', () => {
    it('wrong start byte', async () => {
        const plug = await connectBad();
        const frame = frameBytes('C3');
        frame[0] = 0x02;
        plug.write(frame);
        await plug.waitClosed();
        expectOneLine(`connection from ${plug.remote}`, /frame starts with 0x02 instead of 0x01/);
        await goodPlugStillWorks();
    });

    it('a length past the buffer: waits, then times out', async () => {
        const plug = await connectBad();
        plug.write(frameBytes('C4').subarray(0, 9 + 16)); // announces 32 bytes, carries 16
        // The reason shows it waited for the rest (a rejection would name the frame) until the timeout.
        await goodPlugStillWorks();
        await plug.waitClosed();
        expectOneLine(plug.remote, /incomplete frame \(25 bytes\) for longer than 1 s/);
    });

    it('a ciphertext length that is not a multiple of 16', async () => {
        const plug = await connectBad();
        plug.write(Buffer.concat([Buffer.from('01400095691a2b3c11', 'hex'), Buffer.alloc(17)]));
        await plug.waitClosed();
        expectOneLine(plug.remote, /ciphertext length 17 is not a positive multiple of 16/);
        await goodPlugStillWorks();
    });

    it('garbage after decryption', async () => {
        const frame = Buffer.concat([Buffer.from('01400095691a2b3c10', 'hex'), Buffer.alloc(16, 0x5a)]);
        expect(decryptFrame(frame, DEFAULT_KEY)[0]).not.toBe(0); // the case really is garbage
        const plug = await connectBad();
        plug.write(frame);
        await plug.waitClosed();
        expectOneLine(plug.remote, /not 0x00: wrong key or garbage/);
        await goodPlugStillWorks();
    });

    it('a different MAC mid-connection, counted against the plug', async () => {
        const plug = await connectBad();
        plug.write(frameBytes('C3'));
        await waitFor(() => harness.registry.get('icomen-0095691a2b3c')?.link.online);
        const other = frameBytes('C7');
        other[7] = 0x3d;
        plug.write(other);
        await plug.waitClosed();
        expectOneLine('plug 0095691a2b3c', /MAC changed mid-connection from 0095691a2b3c to 0095691a2b3d/);
        const device = harness.registry.get('icomen-0095691a2b3c')!;
        expect(device.link.badPackets).toBe(1);
        expect(device.link.lastError).toMatch(/MAC changed/);
        expect(device.link.online).toBe(false);
        await goodPlugStillWorks();
    });

    it('a plug that connects and says nothing is closed after the frame timeout', async () => {
        const plug = await connectBad();
        await goodPlugStillWorks();
        await plug.waitClosed();
        expectOneLine(plug.remote, /no frame within 1 s of connecting/);
    });

    it('a plug sending one byte at a time never completes a frame and is closed at the timeout', async () => {
        const plug = await connectBad();
        const frame = frameBytes('C3');
        let sent = 0;
        const trickle = setInterval(() => {
            if (sent < frame.length && !plug.closed) plug.write(frame.subarray(sent, ++sent));
        }, 200);
        try {
            await goodPlugStillWorks();
            await plug.waitClosed();
        } finally {
            clearInterval(trickle);
        }
        expect(sent).toBeLessThan(frame.length);
        expectOneLine(plug.remote, /incomplete frame \(\d+ bytes\) for longer than 1 s/);
        expect(harness.registry.has('icomen-0095691a2b3c')).toBe(false);
    });
});
