/**
 * Ecovacs relay round trip: an app's `POST /api/iot/devmanager.do` (getBattery) on the REST port
 * → the helper bot → the device broker → a simulated bot → its reply → the HTTP answer; next to
 * the plain round trip through the same broker in the same run: an app-like MQTT client publishes
 * the same request straight to the bot and waits for its reply.
 *
 * `npm run bench -- ecovacs-relay [--requests 1000]` prints one JSON line; times in ms. The bridge,
 * the bot and both clients share this process (one event loop), so the numbers compare the two
 * paths rather than measure a deployment.
 */
import mqtt from 'mqtt';

import {loadOrCreateCa} from '../src/edge/tls/ca.js';
import {buildRequest} from '../src/families/ecovacs/codec.js';
import {ecovacsFamily} from '../src/families/ecovacs/index.js';
import {type Endpoint, formatClientId, p2pTopic, parseP2pTopic, replySubscription} from '../src/families/ecovacs/topics.js';
import {startEcovacsBots} from '../src/simulate/ecovacs.js';
import {startTestBridge} from '../test/support/bridge.js';
import {devmanager, ecovacsLogin} from '../test/support/ecovacs-rest.js';
import {percentile, printResult} from './stats.js';

const requestsArg = process.argv.indexOf('--requests');
const REQUESTS = requestsArg > 0 ? Number(process.argv[requestsArg + 1]) : 1000;
const WARMUP = 200;
const APP: Endpoint = {id: 'benchapp', cls: 'ecouser', resource: 'bench1'};

function summarise(samplesNs: bigint[]): {p50: number; p99: number; max: number} {
    const ms = samplesNs.map((ns) => Number(ns) / 1e6).sort((a, b) => a - b);
    const round = (value: number): number => Number(value.toFixed(3));
    return {p50: round(percentile(ms, 50)), p99: round(percentile(ms, 99)), max: round(ms.at(-1)!)};
}

async function timed(count: number, once: (i: number) => Promise<void>): Promise<bigint[]> {
    const samples: bigint[] = [];
    for (let i = 0; i < count + WARMUP; i++) {
        const start = process.hrtime.bigint();
        await once(i);
        if (i >= WARMUP) samples.push(process.hrtime.bigint() - start);
    }
    return samples;
}

const bridge = await startTestBridge({families: [ecovacsFamily], settings: {logLevel: 'warn'}});
try {
    const mqttUrl = `mqtts://127.0.0.1:${bridge.settings.edge.mqttTlsPort!}`;
    const ca = (await loadOrCreateCa(bridge.dataDir)).certPem;
    // A minute per tick: the bot sends no atr pushes of its own during the run.
    const bots = await startEcovacsBots({url: mqttUrl, count: 1, tickMs: 3_600_000});
    const bot = bots.bots[0]!.endpoint;
    const restPort = bridge.settings.ecovacs.restPort!;
    const auth = await ecovacsLogin(restPort);
    const app = await mqtt.connectAsync(mqttUrl, {clientId: formatClientId(APP), username: APP.id, password: 'bench', ca, servername: 'mq-eu.ecouser.net', reconnectPeriod: 0});
    try {
        // Wait until the bot answers relayed commands (it is read once it has subscribed).
        for (;;) if ((await devmanager(restPort, auth, bot, 'getBattery')).json.ret === 'ok') break;

        const relay = await timed(REQUESTS, async () => {
            const answer = await devmanager(restPort, auth, bot, 'getBattery');
            if (answer.json.ret !== 'ok') throw new Error(`devmanager.do failed: ${JSON.stringify(answer.json)}`);
        });

        await app.subscribeAsync(replySubscription(APP), {qos: 0});
        let waiting: {requestId: string; resolve: () => void} | null = null;
        app.on('message', (topic) => {
            const reply = parseP2pTopic(topic);
            if (waiting && reply?.requestId === waiting.requestId) waiting.resolve();
        });
        const direct = await timed(REQUESTS, async (i) => {
            const requestId = `b${i.toString(36).padStart(3, '0')}`;
            const replied = new Promise<void>((resolve) => (waiting = {requestId, resolve}));
            app.publish(p2pTopic({command: 'getBattery', from: APP, to: bot, direction: 'q', requestId, format: 'j'}), JSON.stringify(buildRequest(undefined, Date.now())), {qos: 0});
            await replied;
        });

        const relaySummary = summarise(relay);
        const directSummary = summarise(direct);
        printResult({
            bench: 'ecovacs-relay',
            requests: REQUESTS,
            devmanagerMs: relaySummary,
            directPublishReplyMs: directSummary,
            ratioP50: Number((relaySummary.p50 / directSummary.p50).toFixed(2)),
            ratioP99: Number((relaySummary.p99 / directSummary.p99).toFixed(2)),
        });
    } finally {
        await app.endAsync(true);
        await bots.stop();
    }
} finally {
    await bridge.dispose();
}
