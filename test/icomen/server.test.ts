import {execFileSync} from 'node:child_process';
import net from 'node:net';

import {afterEach, describe, expect, it, vi} from 'vitest';

import {settingsSchema} from '../../src/settings.js';
import {CommandError, type SwitchCommand} from '../../src/core/commands.js';
import {FloodGuards} from '../../src/edge/flood-guard.js';
import {Command, FrameCodec, FrameSplitter, type IcomenFrame, parseSwitchState, powerData} from '../../src/families/icomen/codec.js';
import {IcomenServer} from '../../src/families/icomen/server.js';
import {type SimulatedIcomenPlug, startIcomenPlugs} from '../../src/simulate/icomen.js';
import {freePort, waitFor} from '../support/net.js';
import {type Harness, quietLogger, RawPlug, startHarness} from './harness.js';
import {frameBytes, vector} from './vectors.js';

let harness: Harness | null = null;
let plugs: SimulatedIcomenPlug[] = [];
const raws: RawPlug[] = [];

afterEach(async () => {
    await Promise.all(plugs.map((plug) => plug.stop()));
    plugs = [];
    for (const raw of raws.splice(0)) raw.close();
    await harness?.dispose();
    harness = null;
});

async function start(icomen: Record<string, unknown> = {}): Promise<Harness> {
    harness = await startHarness(icomen);
    return harness;
}

async function raw(port: number): Promise<RawPlug> {
    const plug = await RawPlug.connect(port);
    raws.push(plug);
    return plug;
}

describe('icomen server with simulated plugs', () => {
    it('runs the full sequence: balancer redirect, session, key, time, state query, heartbeats', async () => {
        const {registry, bus, balancerPort} = await start();
        const onlineChanges: boolean[] = [];
        bus.on('link', ({deviceId, link}) => deviceId === 'icomen-009569000000' && onlineChanges.push(link.online));
        plugs = await startIcomenPlugs({count: 2, port: balancerPort, heartbeatMs: 100, logger: quietLogger()});
        const [aldi, lidl] = plugs as [SimulatedIcomenPlug, SimulatedIcomenPlug];
        expect(aldi.mac).toBe('009569000000');
        expect(lidl.mac).toBe('accf23000001');

        await waitFor(() => registry.get('icomen-009569000000')?.state.switch === false, 5000, 'the state query answer');
        const device = registry.get('icomen-009569000000')!;
        expect(device.facts).toEqual({
            manufacturer: 'Easy Home',
            model: 'smart2connect Wi-Fi plug (C2 11 92DD)',
            name: 'Plug 000000',
            mac: '00:95:69:00:00:00',
            ip: '127.0.0.1',
        });
        expect(device.features).toEqual([{id: 'switch', kind: 'switch', name: null, deviceClass: 'outlet'}]);
        expect(device.extra.vendor).toEqual({company: 0xc2, deviceType: 0x11, auth: 0x92dd});
        expect(device.link.online).toBe(true);
        const lidlDevice = await waitFor(() => registry.get('icomen-accf23000001'));
        expect(lidlDevice.facts.manufacturer).toBe('Silvercrest');
        expect(lidlDevice.extra.vendor).toEqual({company: 0xc1, deviceType: 0x11, auth: 0x7150});

        // Heartbeats keep arriving and are counted.
        const before = device.link.packetsIn;
        await waitFor(() => registry.get('icomen-009569000000')!.link.packetsIn >= before + 3, 5000, 'heartbeats');
        expect(aldi.sessions).toBe(1);
        // The passage through the balancer neither brought the plug online nor offline: no flapping.
        expect(onlineChanges).toEqual([true]);
    });

    it('refuses a new plug once icomen.maxPlugs are known, and keeps the known ones working', async () => {
        const {registry, balancerPort, sessionPort} = await start({maxPlugs: 1});
        plugs = await startIcomenPlugs({count: 1, port: balancerPort, logger: quietLogger()});
        await waitFor(() => registry.get('icomen-009569000000')?.link.online, 5000, 'the first plug online');
        const refused = (): string[] =>
            harness!.logs.filter((line) => line.level === 'warn' && line.message.includes('plug 0095691a2b3c') && line.message.includes('icomen.maxPlugs')).map((line) => line.message);
        // The balancer's thread redirects every plug and cannot wait for the registry: the main thread refuses it there.
        const passing = await raw(balancerPort);
        passing.write(frameBytes('C1'));
        await passing.waitForFrame(Command.changeServer);
        await waitFor(() => refused().length > 0, 5000, 'the refusal on the balancer port');
        expect(refused()[0]).toContain('refused on the balancer port');
        // At the session port, the refused plug gets nothing and its connection is closed.
        const stranger = await raw(sessionPort);
        stranger.write(frameBytes('C1'));
        await stranger.waitClosed();
        expect(stranger.frames).toEqual([]);
        expect(registry.has('icomen-0095691a2b3c')).toBe(false);
        // One warning per burst of refusals, not one per connection.
        expect(refused()).toHaveLength(1);
        await harness!.router.route('icomen-009569000000', 'switch', {kind: 'switch', on: true});
        await plugs[0]!.waitForState(true);
    });

    it('does not count a plug that only reached the balancer as online', async () => {
        const {registry, balancerPort} = await start();
        const plug = await raw(balancerPort);
        plug.write(frameBytes('C1'));
        await plug.waitForFrame(Command.changeServer);
        const device = await waitFor(() => registry.get('icomen-0095691a2b3c'), 5000, 'the plug registered from the balancer thread');
        expect(device.link.online).toBe(false);
        await waitFor(() => harness!.logs.some((line) => line.message.includes('plug 0095691a2b3c connected from') && line.message.includes('balancer port')), 5000, 'the balancer thread\'s log line');
    });

    it('switches a plug from a command, and the state follows the plug echo', async () => {
        const {registry, router, balancerPort} = await start();
        plugs = await startIcomenPlugs({count: 1, port: balancerPort, logger: quietLogger()});
        const plug = plugs[0]!;
        const id = `icomen-${plug.mac}`;
        await waitFor(() => registry.get(id)?.state.switch === false);

        await router.route(id, 'switch', {kind: 'switch', on: true});
        await plug.waitForState(true);
        await waitFor(() => registry.get(id)?.state.switch === true, 5000, 'the echo to update the state');

        await router.route(id, 'switch', {kind: 'switch', on: false});
        await plug.waitForState(false);
        await waitFor(() => registry.get(id)?.state.switch === false, 5000, 'the echo to update the state');
    });

    it('never assumes the state from a command: it changes only when the plug echoes', async () => {
        const {registry, router, sessionPort} = await start();
        const plug = await raw(sessionPort);
        plug.write(frameBytes('C3'));
        const query = await plug.waitForFrame(Command.query);
        plug.write(plug.codec.response(query, Command.query, powerData(false)).frame);
        const id = 'icomen-0095691a2b3c';
        await waitFor(() => registry.get(id)?.state.switch === false);

        const count = plug.frames.length;
        await router.route(id, 'switch', {kind: 'switch', on: true});
        const command = await plug.waitForFrame(Command.power, count);
        expect(parseSwitchState(command)).toBe(true);
        // A heartbeat round trip after the command: the server has handled everything before it.
        plug.write(frameBytes('C7'));
        await plug.waitForFrame(Command.heartbeat);
        expect(registry.get(id)!.state.switch).toBe(false);

        plug.write(plug.codec.response(command, Command.power, powerData(true)).frame);
        await waitFor(() => registry.get(id)?.state.switch === true, 5000, 'the echo');
    });

    it('reports a local button press (0x06)', async () => {
        const {registry, balancerPort} = await start();
        plugs = await startIcomenPlugs({count: 1, port: balancerPort, logger: quietLogger()});
        const plug = plugs[0]!;
        const id = `icomen-${plug.mac}`;
        await waitFor(() => registry.get(id)?.state.switch === false);
        plug.press();
        await waitFor(() => registry.get(id)?.state.switch === true, 5000, 'the 0x06 report');
    });

    it('rejects commands that cannot be sent, with the reason', async () => {
        const {registry, router, balancerPort} = await start();
        plugs = await startIcomenPlugs({count: 1, port: balancerPort, logger: quietLogger()});
        const plug = plugs[0]!;
        const id = `icomen-${plug.mac}`;
        await waitFor(() => registry.get(id)?.link.online);

        // As an intake might build it from JSON it did not check.
        await expect(router.route(id, 'switch', {kind: 'switch', on: 'ON'} as unknown as SwitchCommand)).rejects.toThrow(/takes true or false/);
        await expect(router.route(id, 'switch', {kind: 'button', action: 'press'})).rejects.toThrow(/takes switch commands, not button/);

        await plug.stop();
        await waitFor(() => registry.get(id)?.link.online === false, 5000, 'the plug to go offline');
        const rejection = router.route(id, 'switch', {kind: 'switch', on: true});
        await expect(rejection).rejects.toThrow(CommandError);
        await expect(rejection).rejects.toThrow(`${id} is not connected`);
    });

    it('marks a silent plug offline, and the plug comes back straight to the session port', async () => {
        const {registry, balancerPort} = await start({offlineAfterSeconds: 1});
        plugs = await startIcomenPlugs({count: 1, port: balancerPort, heartbeatMs: 60_000, reconnectDelayMs: 50, logger: quietLogger()});
        const plug = plugs[0]!;
        const id = `icomen-${plug.mac}`;
        await waitFor(() => registry.get(id)?.link.online);
        await waitFor(() => registry.get(id)?.link.online === false, 5000, 'silence to mark the plug offline');
        expect(registry.get(id)!.link.timeouts).toBe(1);
        expect(harness!.logs.some((line) => line.message.includes(`plug ${plug.mac}`) && line.message.includes('silent for longer than 1 s'))).toBe(true);

        await waitFor(() => plug.sessions === 2 && registry.get(id)?.link.online, 5000, 'the plug to reconnect');
        // One redirect in the logs: the reconnect did not go through the balancer.
        expect(harness!.logs.filter((line) => line.message.includes(`plug ${plug.mac} connected`) && line.message.includes('balancer port'))).toHaveLength(1);
    });

    it('reconnects to the session address after a dropped link, and the switch still works', async () => {
        const {registry, router, balancerPort} = await start();
        plugs = await startIcomenPlugs({count: 1, port: balancerPort, reconnectDelayMs: 50, logger: quietLogger()});
        const plug = plugs[0]!;
        const id = `icomen-${plug.mac}`;
        await waitFor(() => registry.get(id)?.link.online);
        plug.dropConnection();
        await waitFor(() => plug.sessions === 2 && plug.connected, 5000, 'the reconnect');
        await waitFor(() => registry.get(id)?.link.online);
        await router.route(id, 'switch', {kind: 'switch', on: true});
        await waitFor(() => registry.get(id)?.state.switch === true, 5000, 'the echo');
    });

    it('lets a newer connection for the same MAC replace the old one', async () => {
        const {registry, router, sessionPort} = await start();
        const old = await raw(sessionPort);
        old.write(frameBytes('C3'));
        await old.waitForFrame(Command.key);
        const newer = await raw(sessionPort);
        newer.write(frameBytes('C5'));
        await newer.waitForFrame(Command.time);
        await old.waitClosed();
        expect(newer.closed).toBe(false);

        const id = 'icomen-0095691a2b3c';
        expect(registry.get(id)!.link.online).toBe(true);
        await router.route(id, 'switch', {kind: 'switch', on: true});
        await newer.waitForFrame(Command.power);
    });

    it('answers 0x41 with the advertised address when one is set', async () => {
        const {balancerPort, sessionPort} = await start({advertiseAddress: '192.168.1.20'});
        const plug = await raw(balancerPort);
        plug.write(frameBytes('C1'));
        const answer = await plug.waitForFrame(Command.changeServer);
        expect(answer.payload.subarray(0, 6).toString('hex')).toBe(`c0a80114${sessionPort.toString(16).padStart(4, '0')}`);
        // The state query went out first, as the reference bridge does.
        expect(plug.frames[0]!.command).toBe(Command.query);
    });

    it('redirects a plug while the main thread is blocked: the balancer has a thread of its own', async () => {
        const {balancerPort, sessionPort} = await start();
        // The plug runs in a child process that this thread waits for synchronously: nothing on
        // this thread's event loop can answer it meanwhile.
        const expectedBytes = frameBytes('C9').length + frameBytes('C15').length;
        const script = `
            const socket = require('node:net').connect(${balancerPort}, '127.0.0.1', () => socket.write(Buffer.from('${vector('C1').frame}', 'hex')));
            const chunks = [];
            const give = (code) => { process.stdout.write(Buffer.concat(chunks).toString('hex')); process.exit(code); };
            socket.on('data', (chunk) => { chunks.push(chunk); if (Buffer.concat(chunks).length >= ${expectedBytes}) give(0); });
            socket.on('error', () => give(2));
            setTimeout(() => give(1), 10000);`;
        const answered = Buffer.from(execFileSync(process.execPath, ['-e', script], {encoding: 'utf8'}), 'hex');
        const plug = new FrameCodec();
        const frames: IcomenFrame[] = [];
        new FrameSplitter().push(answered, (frame) => frames.push(plug.decode(frame)));
        expect(frames.map((frame) => frame.command)).toEqual([Command.query, Command.changeServer]);
        expect(frames[1]!.payload.subarray(0, 6).toString('hex')).toBe(`7f000001${sessionPort.toString(16).padStart(4, '0')}`);
    });

    it('advertises the local IPv4 address of a dual-stack listener, unmapped from ::ffff:', async (context) => {
        try {
            await start({host: '::'});
        } catch (error) {
            context.skip(`no IPv6 on this machine: ${(error as Error).message}`);
        }
        const plug = await raw(harness!.balancerPort);
        plug.write(frameBytes('C1'));
        const answer = await plug.waitForFrame(Command.changeServer);
        expect(answer.payload.subarray(0, 6).toString('hex')).toBe(`7f000001${harness!.sessionPort.toString(16).padStart(4, '0')}`);
    });

    it('refuses connections beyond maxConnections, and keeps the ones it has', async () => {
        const {sessionPort} = await start({maxConnections: 1});
        const first = await raw(sessionPort);
        first.write(frameBytes('C3'));
        await first.waitForFrame(Command.key);
        const second = await raw(sessionPort);
        await second.waitClosed();
        first.write(frameBytes('C7'));
        await first.waitForFrame(Command.heartbeat);
        expect(first.closed).toBe(false);
    });

    it('fails to start with the reason when a port is taken, and releases the other', async () => {
        const blocker = net.createServer();
        await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
        const taken = (blocker.address() as net.AddressInfo).port;
        const balancerPort = await freePort();
        try {
            await expect(startHarness({balancerPort, sessionPort: taken})).rejects.toThrow(/cannot listen on 127.0.0.1: .*EADDRINUSE/);
            const again = net.createServer();
            await new Promise<void>((resolve, reject) => again.once('error', reject).listen(balancerPort, '127.0.0.1', resolve));
            await new Promise<void>((resolve) => again.close(() => resolve()));
        } finally {
            await new Promise<void>((resolve) => blocker.close(() => resolve()));
        }
    });

    it('refuses to run the balancer and the session on one port', async () => {
        const port = await freePort();
        await expect(startHarness({balancerPort: port, sessionPort: port})).rejects.toThrow(/must differ/);
    });

    it('answers the key, time and heartbeat requests byte for byte as C4, C6 and C8', async () => {
        harness = await startHarness({}, {clock: () => 0x638d2412});
        const plug = await raw(harness.sessionPort);
        plug.write(Buffer.concat([frameBytes('C3'), frameBytes('C5'), frameBytes('C11'), frameBytes('C7')]));
        const key = await plug.waitForFrame(Command.key);
        expect(key.frame.toString('hex')).toBe(vector('C4').frame);
        const time = await plug.waitForFrame(Command.time);
        expect(time.frame.toString('hex')).toBe(vector('C6').frame);
        const heartbeat = await plug.waitForFrame(Command.heartbeat);
        expect(heartbeat.frame.toString('hex')).toBe(vector('C8').frame);
        // Only the state query went out besides: the 0x06 report (C11) gets no answer.
        expect(plug.frames.map((frame) => frame.command)).toEqual([Command.query, Command.key, Command.time, Command.heartbeat]);
    });

    it('answers the frames of one chunk in one write', async () => {
        harness = await startHarness();
        const sessionPort = harness.sessionPort;
        const plug = await raw(sessionPort);
        const writes = vi.spyOn(net.Socket.prototype, 'write');
        try {
            plug.write(Buffer.concat([frameBytes('C3'), frameBytes('C5'), frameBytes('C7')]));
            await plug.waitForFrame(Command.heartbeat);
            // The query, key, time and heartbeat answers: one buffer in one write, not one each.
            const bridgeWrites = writes.mock.contexts.filter((socket) => (socket as net.Socket).localPort === sessionPort);
            expect(bridgeWrites).toHaveLength(1);
            expect(plug.frames.map((frame) => frame.command)).toEqual([Command.query, Command.key, Command.time, Command.heartbeat]);
        } finally {
            writes.mockRestore();
        }
    });
});

describe('icomen server hooks', () => {
    it('survives a throwing hook run from a socket close or a bad frame, and logs it', async () => {
        const errors: string[] = [];
        const logger = {...quietLogger(), limited: (level: string, _key: string, message: string) => level === 'error' && errors.push(message)};
        const settings = settingsSchema.parse({icomen: {host: '127.0.0.1', balancerPort: await freePort(), sessionPort: await freePort()}}).icomen;
        const fail = (): never => {
            throw new Error('hook bug');
        };
        const server = new IcomenServer({settings, listener: 'session', logger, floodGuard: (...guard) => new FloodGuards().create(...guard), hooks: {plugDisconnected: fail, badInput: fail}});
        const sessionPort = await server.start();
        try {
            const identified = await raw(sessionPort);
            identified.write(frameBytes('C3'));
            await identified.waitForFrame(Command.query);
            identified.close();
            await waitFor(() => errors.some((line) => line.includes('plugDisconnected hook failed')), 5000, 'the plugDisconnected failure');
            const garbage = await raw(sessionPort);
            garbage.write(Buffer.alloc(20, 0xff));
            await garbage.waitClosed();
            expect(errors.some((line) => line.includes('badInput hook failed'))).toBe(true);
        } finally {
            await server.stop();
        }
    });
});
