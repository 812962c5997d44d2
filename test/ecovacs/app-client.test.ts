/**
 * A real third-party app-side client, npm `ecovacs-deebot` (unpatched), against the bridge: log
 * in, list the devices, start cleaning a simulated bot and read its battery.
 *
 * The library hard-codes the cloud's host names on port 443 (REST) and 8883 (MQTT), as the
 * devices do. Users point those names at fogbridge in DNS; here the test does what DNS and a port
 * forward would: every TLS connection to an Ecovacs name goes to the bridge's listeners
 * (`tls.connect` wrapped in this process), still asking for the original server name and checking
 * the certificate against the bridge's CA. Nothing of the library is changed.
 */
import {createRequire} from 'node:module';
import tls from 'node:tls';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {loadOrCreateCa} from '../../src/edge/tls/ca.js';
import {ecovacsFamily} from '../../src/families/ecovacs/index.js';
import {type EcovacsBots, startEcovacsBots} from '../../src/simulate/ecovacs.js';
import {type TestBridge, startTestBridge} from '../support/bridge.js';
import {waitFor} from '../support/net.js';

const require = createRequire(import.meta.url);

interface VacBot {
    on(event: string, handler: (value: unknown) => void): void;
    connect(): void;
    clean(): void;
    run(command: string, ...args: unknown[]): void;
    disconnectAsync(): Promise<void>;
}
interface EcovacsApi {
    uid: string;
    resource: string;
    user_access_token: string;
    connect(account: string, passwordHash: string): Promise<string>;
    devices(): Promise<Record<string, unknown>[]>;
    getVacBot(uid: string, realm: string, resource: string, token: string, vacuum: Record<string, unknown>, continent?: string): VacBot;
    getContinent(): string;
}
interface EcovacsApiClass {
    new (deviceId: string, country: string, continent?: string): EcovacsApi;
    REALM: string;
    md5(text: string): string;
    getDeviceId(machineId: string, index?: number): string;
}
const {EcoVacsAPI} = require('ecovacs-deebot') as {EcoVacsAPI: EcovacsApiClass};

const ECOVACS_DOMAINS = /(^|\.)(ecouser\.net|ecovacs\.com|ecovacs\.net)$/i;

let bridge: TestBridge;
let bots: EcovacsBots;
let originalConnect: typeof tls.connect;
const redirected: string[] = [];

beforeAll(async () => {
    bridge = await startTestBridge({families: [ecovacsFamily]});
    const caPem = (await loadOrCreateCa(bridge.dataDir)).certPem;
    const ports: Record<number, number> = {443: bridge.settings.edge.tlsPort!, 8883: bridge.settings.edge.mqttTlsPort!};
    originalConnect = tls.connect;
    // DNS and a port forward, in-process: Ecovacs names on 443/8883 reach the bridge.
    tls.connect = ((options: tls.ConnectionOptions, ...rest: unknown[]) => {
        const target = typeof options === 'object' && options !== null && typeof options.host === 'string' && ECOVACS_DOMAINS.test(options.host) ? ports[Number(options.port)] : undefined;
        if (target === undefined) return (originalConnect as (...args: unknown[]) => tls.TLSSocket)(options, ...rest);
        redirected.push(`${options.host}:${String(options.port)}`);
        return (originalConnect as (...args: unknown[]) => tls.TLSSocket)({...options, host: '127.0.0.1', port: target, servername: options.servername || options.host, ca: caPem}, ...rest);
    }) as typeof tls.connect;
    // yna5xi (OZMO 950) is a JSON bot to the library; it speaks XML to a DEEBOT 900 (ls1ok3), which the simulator does not.
    bots = await startEcovacsBots({url: `mqtts://127.0.0.1:${bridge.settings.edge.mqttTlsPort!}`, count: 1, cls: 'yna5xi', tickMs: 100});
});

afterAll(async () => {
    if (originalConnect) tls.connect = originalConnect;
    await bots?.stop();
    await bridge?.dispose();
});

describe('ecovacs-deebot (npm) as the app', () => {
    it('logs in, lists the bot, starts cleaning it and reads its battery', async () => {
        const api = new EcoVacsAPI(EcoVacsAPI.getDeviceId('fogbridge-test-machine', 0), 'DE');
        expect(await api.connect('user@example.com', EcoVacsAPI.md5('any password'))).toBe('ready');

        const bot = bots.bots[0]!;
        const devices = await api.devices();
        const listed = devices.find((device) => device.did === bot.endpoint.id);
        expect(listed).toMatchObject({did: bot.endpoint.id, class: 'yna5xi', resource: bot.endpoint.resource, company: 'eco-ng'});

        const vacbot = api.getVacBot(api.uid, EcoVacsAPI.REALM, api.resource, api.user_access_token, listed!, api.getContinent());
        const batteries: number[] = [];
        vacbot.on('BatteryInfo', (value) => batteries.push(Number(value)));
        const ready = new Promise<void>((resolve) => vacbot.on('ready', () => resolve()));
        vacbot.connect();
        await ready;
        try {
            vacbot.run('GetBatteryState');
            await waitFor(() => batteries.length > 0, 10_000, 'the battery from the library');
            expect(batteries[0]).toBeGreaterThan(0);

            vacbot.clean();
            await waitFor(() => bot.phase === 'cleaning', 10_000, 'the bot cleaning');
            expect(bot.received).toContain('clean');
        } finally {
            await vacbot.disconnectAsync();
        }
        // REST on 443 (login, device list, devmanager.do) and MQTT on 8883, all under the cloud's own names.
        expect(redirected.some((target) => target.endsWith(':443'))).toBe(true);
        expect(redirected.some((target) => target.endsWith(':8883'))).toBe(true);
    });
});
