import {afterEach, describe, expect, it} from 'vitest';

import {stopExtensions} from '../../src/core/extension.js';
import {Command, powerData} from '../../src/families/icomen/codec.js';
import {waitFor} from '../support/net.js';
import {type Harness, RawPlug, startHarness} from './harness.js';
import {frameBytes} from './vectors.js';

const MAC = '0095691a2b3c';
let harness: Harness | null = null;
let plug: RawPlug | null = null;

afterEach(async () => {
    plug?.close();
    plug = null;
    await harness?.dispose();
    harness = null;
});

/** A plug on the session port that sent C3 and answered the state query with `on`. */
async function connectedPlug(h: Harness, on: boolean): Promise<RawPlug> {
    plug = await RawPlug.connect(h.sessionPort);
    plug.write(frameBytes('C3'));
    const query = await plug.waitForFrame(Command.query);
    plug.write(plug.codec.response(query, Command.query, powerData(on)).frame);
    await waitFor(() => h.registry.get(`icomen-${MAC}`)?.state.switch === on, 5000, 'the state query answer');
    return plug;
}

describe('icomen compat topics', () => {
    it('publishes nothing on the legacy topics unless enabled', async () => {
        harness = await startHarness();
        await connectedPlug(harness, true);
        expect(harness.topics.published).toEqual([]);
    });

    it('publishes SEND of the 02 query before RECV of the first frame, in the exact raw format', async () => {
        harness = await startHarness({compatTopics: true, advertiseAddress: '192.168.1.20'}, {counters: 'bridge-parity'});
        plug = await RawPlug.connect(harness.balancerPort);
        plug.write(frameBytes('C1'));
        await plug.waitForFrame(Command.changeServer);
        // The balancer's thread hands the frames over after it answered.
        const raw = await waitFor(() => {
            const published = harness!.topics.published.filter((entry) => entry.topic.startsWith(`icomen/raw/${MAC}/`));
            return published.length >= 3 ? published : null;
        }, 5000, 'the three raw frames');
        const port = harness.sessionPort.toString(16).padStart(4, '0');
        expect(raw.map(({topic, payload, retain}) => [topic.split('/')[3], payload, retain])).toEqual([
            ['SEND', '01 400095691a2b3c10 000100c21192dd02 0808080808080808', false], // C9
            ['RECV', '01 400095691a2b3c10 000000c21192dd41 0808080808080808', false], // C1
            ['SEND', `01 420095691a2b3c10 000100c21192dd41 c0a80114${port}0202`, false], // C15 with our session port
        ]);
    });

    it('switches with POWER ON/OFF and publishes the retained state from the plug only', async () => {
        harness = await startHarness({compatTopics: true});
        const device = await connectedPlug(harness, false);
        expect(harness.topics.on(`icomen/stat/${MAC}/POWER`)).toEqual([{topic: `icomen/stat/${MAC}/POWER`, payload: 'OFF', retain: true}]);

        const count = device.frames.length;
        harness.topics.deliver(`icomen/cmnd/${MAC}/POWER`, 'ON');
        const command = await device.waitForFrame(Command.power, count);
        expect(command.payload.subarray(0, 4).toString('hex')).toBe('0000ffff');
        expect(harness.topics.on(`icomen/stat/${MAC}/POWER`)).toHaveLength(1);

        device.write(device.codec.response(command, Command.power, powerData(true)).frame);
        await waitFor(() => harness!.topics.on(`icomen/stat/${MAC}/POWER`).at(-1)?.payload === 'ON', 5000, 'stat ON');
        expect(harness.registry.get(`icomen-${MAC}`)!.state.switch).toBe(true);

        harness.topics.deliver(`icomen/cmnd/${MAC}/POWER`, 'OFF');
        const off = await device.waitForFrame(Command.power, device.frames.indexOf(command) + 1);
        expect(off.payload.subarray(0, 4).toString('hex')).toBe('000000ff');
    });

    it('ignores POWER payloads other than exactly ON or OFF', async () => {
        harness = await startHarness({compatTopics: true});
        const device = await connectedPlug(harness, false);
        const count = device.frames.length;
        for (const payload of ['on', 'On', ' ON', 'ON\n', 'TOGGLE', '1']) harness.topics.deliver(`icomen/cmnd/${MAC}/POWER`, payload);
        // A heartbeat round trip shows the server handled everything sent before it.
        device.write(frameBytes('C7'));
        await device.waitForFrame(Command.heartbeat, count);
        expect(device.frames.slice(count).map((frame) => frame.command)).toEqual([Command.heartbeat]);
    });

    it('sends RequestRAW as a request and ResponseRAW as a response, and logs bad hex', async () => {
        harness = await startHarness({compatTopics: true});
        const device = await connectedPlug(harness, false);
        const count = device.frames.length;
        harness.topics.deliver(`icomen/cmnd/${MAC}/RequestRAW`, '010000ffff');
        const request = await device.waitForFrame(Command.power, count);
        expect(request.type).toBe(0x40);
        expect(request.plaintext.subarray(7).toString('hex')).toBe('010000ffff04040404');

        harness.topics.deliver(`icomen/cmnd/${MAC}/ResponseRAW`, '61001e');
        const response = await device.waitForFrame(Command.heartbeat, count);
        expect(response.type).toBe(0x42);
        // It echoes the counter of the last frame received: the plug's answer to the 0x02 query (1).
        expect(response.plaintext.toString('hex')).toBe('000100c21192dd61001e060606060606');
        const sent = harness.topics.on(`icomen/raw/${MAC}/SEND`).at(-1)!;
        expect(sent.payload).toBe('01 420095691a2b3c10 000100c21192dd61 001e060606060606');

        harness.topics.deliver(`icomen/cmnd/${MAC}/RequestRAW`, '01 00 00');
        await waitFor(() => harness!.logs.some((line) => line.message.includes('RequestRAW: bad payload')), 5000, 'the warning');
    });

    it('publishes UNKNOWN when data byte 2 is neither ff nor 00, and leaves the switch state alone', async () => {
        harness = await startHarness({compatTopics: true});
        const device = await connectedPlug(harness, true);
        device.write(device.codec.request(Command.report, Buffer.from('00001234', 'hex')).frame);
        await waitFor(() => harness!.topics.on(`icomen/stat/${MAC}/POWER`).at(-1)?.payload === 'UNKNOWN', 5000, 'UNKNOWN');
        expect(harness.registry.get(`icomen-${MAC}`)!.state.switch).toBe(true);
    });

    it('uses the configured base topic and logs a command for a plug that is not connected', async () => {
        harness = await startHarness({compatTopics: true, compatBaseTopic: 'plugs'});
        harness.topics.deliver('plugs/cmnd/0095691a2b3d/POWER', 'ON');
        expect(harness.logs.some((line) => line.message.includes('plugs/cmnd/0095691a2b3d/POWER: plug 0095691a2b3d is not connected'))).toBe(true);
        await connectedPlug(harness, true);
        expect(harness.topics.on(`plugs/stat/${MAC}/POWER`)).toHaveLength(1);
        expect(harness.topics.published.every((entry) => entry.topic.startsWith('plugs/'))).toBe(true);
    });

    it('as an extension, hears nothing and publishes nothing once stopped, while the plug stays connected', async () => {
        harness = await startHarness({compatTopics: true});
        const device = await connectedPlug(harness, false);
        await stopExtensions(harness.adapter.extensions);
        const published = harness.topics.published.length;
        const count = device.frames.length;
        harness.topics.deliver(`icomen/cmnd/${MAC}/POWER`, 'ON');
        // A heartbeat round trip shows the server handled everything sent before it.
        device.write(frameBytes('C7'));
        await device.waitForFrame(Command.heartbeat, count);
        expect(device.frames.slice(count).map((frame) => frame.command)).toEqual([Command.heartbeat]);
        expect(harness.topics.published.length).toBe(published);
    });
});
