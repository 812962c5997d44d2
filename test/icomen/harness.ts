/** A running icomen adapter on free ports, with a real registry, router and a fake TopicPort. */
import {mkdtempSync, rmSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';

import {settingsSchema} from '../../src/settings.js';
import {EventBus} from '../../src/core/bus.js';
import {type Logger, type LogLevel, setLogSink} from '../../src/util/logger.js';
import {startExtensions, stopExtensions} from '../../src/core/extension.js';
import {DeviceRegistry} from '../../src/core/registry.js';
import {CommandRouter} from '../../src/core/router.js';
import {FloodGuards, type FloodStats} from '../../src/edge/flood-guard.js';
import {IcomenAdapter, type IcomenAdapterOptions} from '../../src/families/icomen/adapter.js';
import {FrameCodec, FrameSplitter, type IcomenFrame} from '../../src/families/icomen/codec.js';
import type {TopicPort} from '../../src/families/family.js';
import {topicMatches} from '../../src/util/mqtt-topic.js';
import {freePort, waitFor} from '../support/net.js';

export interface Published {
    topic: string;
    payload: string;
    retain: boolean;
}

/** Records publications; `deliver` plays a message from the broker to matching subscriptions. */
export class FakeTopicPort implements TopicPort {
    readonly published: Published[] = [];
    private readonly subscriptions: {filter: string; handler: (topic: string, payload: Buffer) => void}[] = [];

    publish(topic: string, payload: string, options: {retain?: boolean} = {}): void {
        this.published.push({topic, payload, retain: options.retain ?? false});
    }

    subscribe(filter: string, handler: (topic: string, payload: Buffer) => void): () => void {
        const subscription = {filter, handler};
        this.subscriptions.push(subscription);
        return () => this.subscriptions.splice(this.subscriptions.indexOf(subscription), 1);
    }

    deliver(topic: string, payload: string): void {
        for (const {filter, handler} of this.subscriptions) if (topicMatches(filter, topic)) handler(topic, Buffer.from(payload));
    }

    on(topic: string): Published[] {
        return this.published.filter((entry) => entry.topic === topic);
    }
}


export interface Harness {
    adapter: IcomenAdapter;
    bus: EventBus;
    registry: DeviceRegistry;
    router: CommandRouter;
    topics: FakeTopicPort;
    /** The adapter's flood guard lives here (the bridge's edge holds it in production). */
    floodGuards: FloodGuards;
    balancerPort: number;
    sessionPort: number;
    logs: {level: LogLevel; namespace: string; message: string}[];
    dispose(): Promise<void>;
}

export async function startHarness(icomen: Record<string, unknown> = {}, options: IcomenAdapterOptions = {}): Promise<Harness> {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'fogbridge-icomen-'));
    const settings = settingsSchema.parse({
        dataDir,
        icomen: {host: '127.0.0.1', balancerPort: await freePort(), sessionPort: await freePort(), ...icomen},
    });
    const logs: Harness['logs'] = [];
    setLogSink((level, namespace, message) => logs.push({level, namespace, message}));
    const bus = new EventBus();
    const registry = new DeviceRegistry({file: path.join(dataDir, 'registry.json'), bus});
    const router = new CommandRouter(registry);
    const topics = new FakeTopicPort();
    const floodGuards = new FloodGuards();
    const floodReports: (() => void)[] = [];
    const edge = {
        floodGuard: floodGuards.create.bind(floodGuards),
        reportFloodStats: (read: () => FloodStats) => void floodReports.push(floodGuards.report(read)),
        release: async () => {
            for (const remove of floodReports.splice(0)) remove();
        },
    };
    const adapter = new IcomenAdapter({settings: settings.icomen, dataDir, registry, images: {publish: () => {}}, router, topics, edge}, options);
    try {
        // As the bridge does: the family's extensions (the compat topics) start once it is created, before it starts.
        await startExtensions(adapter.extensions);
        await adapter.start();
    } catch (error) {
        await stopExtensions(adapter.extensions);
        setLogSink(null);
        rmSync(dataDir, {recursive: true, force: true});
        throw error;
    }
    return {
        adapter,
        bus,
        registry,
        router,
        topics,
        floodGuards,
        balancerPort: settings.icomen.balancerPort,
        sessionPort: settings.icomen.sessionPort,
        logs,
        async dispose() {
            await stopExtensions(adapter.extensions);
            await adapter.stop();
            await registry.close();
            setLogSink(null);
            rmSync(dataDir, {recursive: true, force: true});
        },
    };
}

/** A hand-driven plug connection for the cases the simulator must never produce. */
export class RawPlug {
    readonly frames: IcomenFrame[] = [];
    readonly codec = new FrameCodec();
    private readonly splitter = new FrameSplitter();
    closed = false;
    /** As the server sees it: the plug's address in log lines before its MAC is known. */
    readonly remote: string;

    private constructor(readonly socket: net.Socket) {
        this.remote = `127.0.0.1:${socket.localPort}`;
        socket.on('data', (chunk: Buffer) => this.splitter.push(chunk, (frame) => this.frames.push(this.codec.decode(frame))));
        socket.on('close', () => (this.closed = true));
        socket.on('error', () => undefined);
    }

    static async connect(port: number): Promise<RawPlug> {
        const socket = net.connect(port, '127.0.0.1');
        socket.setNoDelay(true);
        await new Promise<void>((resolve, reject) => {
            socket.once('connect', resolve);
            socket.once('error', reject);
        });
        return new RawPlug(socket);
    }

    write(bytes: Buffer | string): void {
        this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'hex') : bytes);
    }

    async waitForFrame(command: number, after = 0): Promise<IcomenFrame> {
        return waitFor(() => this.frames.slice(after).find((frame) => frame.command === command), 5000, `a 0x${command.toString(16)} frame`);
    }

    async waitClosed(timeoutMs = 5000): Promise<void> {
        await waitFor(() => this.closed, timeoutMs, 'the server to close the connection');
    }

    close(): void {
        this.socket.destroy();
    }
}

/** For simulated plugs in tests: their chatter would only bury the server's lines. */
export function quietLogger(): Logger {
    return {
        namespace: 'test',
        error: () => undefined,
        warn: () => undefined,
        info: () => undefined,
        debug: () => undefined,
        limited: () => undefined,
        child: () => quietLogger(),
    };
}
