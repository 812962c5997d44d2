import {existsSync, mkdirSync, readFileSync, rmSync, statSync} from 'node:fs';
import {createRequire} from 'node:module';
import path from 'node:path';
import tls from 'node:tls';

import {type Browser, type Page, chromium} from 'playwright-core';
import * as tar from 'tar';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {deviceIdFor} from '../../src/families/icomen/adapter.js';
import {icomenFamily} from '../../src/families/icomen/index.js';
import {miioDeviceId} from '../../src/families/miio/adapter.js';
import {miioFamily} from '../../src/families/miio/index.js';
import {readClaimIndex} from '../../src/families/rainmaker/claim.js';
import {rainmakerFamily} from '../../src/families/rainmaker/index.js';
import {RAINMAKER_ALPN} from '../../src/families/rainmaker/service.js';
import {type SimulatedIcomenPlug, startIcomenPlugs} from '../../src/simulate/icomen.js';
import {type MiioSimulator, simulatedCloudKey, startMiioSimulator} from '../../src/simulate/miio.js';
import {type TestBridge, startTestBridge} from '../support/bridge.js';
import {type FakeFamily, createFakeFamily} from '../support/fake-family.js';
import {type IngressProxy, startIngressProxy} from '../support/ingress-proxy.js';
import {freePort} from '../support/net.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = path.resolve('test-artifacts/web');
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const HAS_CHROMIUM = existsSync(CHROMIUM);

describe.skipIf(!HAS_CHROMIUM)(HAS_CHROMIUM ? 'web UI in a browser' : `web UI in a browser: skipped, ${CHROMIUM} is missing (apt-get install chromium)`, () => {
    let bridge: TestBridge;
    let proxy: IngressProxy;
    let browser: Browser;
    let page: Page;
    let fake: FakeFamily;
    let sinkId: string;
    const plugs: SimulatedIcomenPlug[] = [];
    let miioPlug: MiioSimulator | undefined;

    beforeAll(async () => {
        fake = createFakeFamily();
        const webPort = await freePort();
        bridge = await startTestBridge({
            // RainMaker's broker policy gives the edge a CA, which the onboarding page offers.
            families: [icomenFamily, miioFamily, rainmakerFamily, fake],
            // warn: the refused command below is logged, and the log page must show it.
            settings: {
                logLevel: 'warn',
                icomen: {host: '127.0.0.1'},
                miio: {host: '127.0.0.1', port: await freePort(), gslb: {enabled: false}, maps: {enabled: false}},
                web: {enabled: true, port: webPort},
            },
        });
        sinkId = fake.addDevice('sink01');
        proxy = await startIngressProxy(webPort);
        browser = await chromium.launch({executablePath: CHROMIUM});
        page = await browser.newPage();
        mkdirSync(SCREENSHOTS, {recursive: true});
    });

    afterAll(async () => {
        await browser?.close();
        for (const plug of plugs) await plug.stop();
        await miioPlug?.stop();
        await proxy?.close();
        await bridge?.dispose();
    });

    /** Serious and critical accessibility violations on the current page, with where they are. */
    async function accessibilityViolations(): Promise<string[]> {
        // Evaluated by the browser's debugger, so the page's Content-Security-Policy stays as it is.
        await page.evaluate(AXE_SOURCE);
        const violations = await page.evaluate(async () => {
            const result = await (globalThis as unknown as {axe: {run(): Promise<{violations: {id: string; impact: string; nodes: {target: string[]}[]}[]}>}}).axe.run();
            return result.violations;
        });
        return violations
            .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
            .map((violation) => `${violation.id} (${violation.impact}) at ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`);
    }

    async function checkPage(name: string): Promise<void> {
        await page.screenshot({path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true});
        expect(await accessibilityViolations(), name).toEqual([]);
    }

    it('loads under the ingress path and goes live over the WebSocket', async () => {
        await page.goto(proxy.url);
        await page.getByRole('heading', {name: 'Bridge health'}).waitFor();
        await page.getByRole('status').filter({hasText: 'Live'}).waitFor();
        expect(page.url()).toContain('/api/hassio_ingress/');
        await page.getByText(/\d+ packets dropped, \d+ devices flooding now/).waitFor();
        await page.getByText('Device hellos left unanswered (rate limit)').waitFor();
        await checkPage('home');
    });

    it('lists a refused TLS handshake among the problems, live, with its reason', async () => {
        const ca = await (await fetch(new URL('api/ca.crt', proxy.url))).text();
        const connectWithoutCertificate = (localAddress: string): Promise<void> =>
            new Promise<void>((resolve) => {
                const socket = tls.connect({host: '127.0.0.1', port: bridge.settings.edge.tlsPort!, ca, servername: bridge.settings.rainmaker.mqttHost, ALPNProtocols: [RAINMAKER_ALPN], localAddress} as tls.ConnectionOptions);
                socket.on('error', () => resolve());
                socket.on('close', () => resolve());
            });
        await connectWithoutCertificate('127.0.0.5');
        const refusal = page.locator('[data-refusal="no-client-certificate"]');
        await refusal.getByText('Client certificate missing').waitFor();
        await refusal.getByText(/from 127\.0\.0\.5 on rainmaker-mqtt, 1×, latest: /).waitFor();
        await checkPage('home-tls-refusals');
        // The page shows the newest 30 and counts the rest.
        for (let host = 10; host < 41; host++) await connectWithoutCertificate(`127.0.0.${host}`);
        await page.getByText('… and 2 older ones.').waitFor();
        expect(await refusal.count()).toBe(30);
        await expect.poll(() => refusal.first().textContent()).toContain('127.0.0.40');
    });

    it('shows a plug that connects while the page is open, without a reload', async () => {
        await page.getByRole('link', {name: 'Devices'}).click();
        await page.getByRole('heading', {name: 'Devices'}).waitFor();
        await page.evaluate(() => ((globalThis as unknown as {notReloaded: boolean}).notReloaded = true));
        plugs.push(...(await startIcomenPlugs({count: 1, host: '127.0.0.1', port: bridge.settings.icomen.balancerPort})));
        const plugId = deviceIdFor(plugs[0]!.mac);
        const row = page.locator(`tr[data-device="${plugId}"]`);
        await row.waitFor();
        await row.getByText('online').waitFor();
        expect(await page.evaluate(() => (globalThis as unknown as {notReloaded?: boolean}).notReloaded)).toBe(true);
        await checkPage('devices');
    });

    it('switches the plug from its page, and shows the state the plug reports', async () => {
        const plug = plugs[0]!;
        await page.locator(`tr[data-device="${deviceIdFor(plug.mac)}"]`).getByRole('link').click();
        const toggle = page.getByRole('switch');
        await expect.poll(() => toggle.getAttribute('aria-checked')).toBe('false');
        await toggle.click();
        await plug.waitForState(true);
        await expect.poll(() => toggle.getAttribute('aria-checked')).toBe('true');
        // The switch command went out and the plug's echo came back: both among the recent messages.
        const messages = page.getByRole('region', {name: 'Recent messages'});
        await messages.locator('tr[data-direction="out"]').first().getByText('to the device').waitFor();
        await messages.locator('tr[data-direction="in"]').first().getByText('from the device').waitFor();
        await checkPage('device-plug');
    });

    it('shows why a command was refused', async () => {
        const plug = plugs.pop()!;
        await plug.stop();
        await page.getByText('offline').first().waitFor();
        await page.getByRole('switch').click();
        await page.getByRole('alert').filter({hasText: /Not sent: .*not connected/}).waitFor();
    });

    it('every control of a device with one feature of each kind passes the accessibility check', async () => {
        await page.goto(`${proxy.url}#/device/${sinkId}`);
        await page.getByRole('heading', {name: 'Fake sink01'}).waitFor();
        await page.getByRole('button', {name: 'Start'}).click();
        await expect.poll(() => fake.commands.at(-1)).toMatchObject({deviceId: sinkId, featureId: 'vacuum', action: 'start'});
        await page.getByText('cleaning').waitFor();
        await checkPage('device-all-kinds');
    });

    it('a miIO device waiting for its cloud key turns online once the key is entered on its page', async () => {
        const did = 277_100_001;
        miioPlug = await startMiioSimulator({model: 'chuangmi.plug.m1', host: '127.0.0.1', port: bridge.settings.miio.port, didBase: did, keepaliveIntervalMs: 200});
        await page.goto(`${proxy.url}#/device/${miioDeviceId(did)}`);
        const key = page.getByLabel('Cloud key', {exact: true});
        await key.fill('0123456789abcdef0123456789abcdef');
        await page.getByRole('button', {name: 'Save'}).click();
        await page.getByRole('alert').filter({hasText: /Not taken: .*local token/}).waitFor();
        await checkPage('device-waiting-for-key');
        await key.fill(simulatedCloudKey(did));
        await page.getByRole('button', {name: 'Save'}).click();
        await page.locator('.badge.on').filter({hasText: 'online'}).waitFor();
        await key.waitFor({state: 'detached'});
        expect(bridge.registry.get(miioDeviceId(did))?.state.cloud_key).toBe('ok');
        // Its messages, decoded now that the key is known, with the local token it reports masked.
        const simulated = miioPlug.devices[0]!;
        simulated.push('_otc.info', {model: simulated.model, token: simulated.localToken});
        await page.getByRole('region', {name: 'Recent messages'}).getByText(/"method":"_otc.info".*"token":"\*\*\*"/).first().waitFor();
        await checkPage('device-messages');
        expect(await page.content()).not.toContain(simulated.localToken);
        expect(await page.content()).not.toContain(simulatedCloudKey(did));
    });

    it('sorts the devices table by signal, strongest first, unknown last', async () => {
        await page.getByRole('link', {name: 'Devices'}).click();
        const header = page.getByRole('columnheader', {name: 'Signal'});
        await header.getByRole('button').click();
        await header.getByRole('button').click();
        await expect.poll(() => header.getAttribute('aria-sort')).toBe('descending');
        const firstRow = page.locator('table.devices tbody tr').first();
        await expect.poll(() => firstRow.getAttribute('data-device')).toBe(miioDeviceId(277_100_001));
        await firstRow.getByText('-40 dBm').waitFor();
        expect(await page.locator('table.devices tbody tr').last().locator('td').last().textContent()).toBe('–');
        await checkPage('devices-by-signal');
    });

    it('the onboarding page shows the dnsmasq lines with the address the user gives', async () => {
        await page.getByRole('link', {name: 'Onboarding'}).click();
        await page.getByRole('heading', {name: 'Connect your devices'}).waitFor();
        await page.getByLabel("fogbridge's address on your network").fill('192.168.1.2');
        await page.getByLabel('DNS server').selectOption('dnsmasq');
        const icomenTab = page.getByRole('tab', {name: 'icomen plugs'});
        await icomenTab.click();
        const lines = page.getByRole('tabpanel').getByLabel('Lines to add');
        await expect.poll(() => lines.textContent()).toContain('address=/yunext.com/192.168.1.2');
        await expect.poll(() => lines.textContent()).not.toContain('mi.com');
        // Tabs as WAI-ARIA has them: the arrow keys move to the next family and show it.
        await icomenTab.press('ArrowRight');
        const miioTab = page.getByRole('tab', {name: 'Xiaomi miIO'});
        await expect.poll(() => miioTab.getAttribute('aria-selected')).toBe('true');
        await expect.poll(() => miioTab.evaluate((tab) => tab === (tab.ownerDocument as {activeElement: unknown}).activeElement)).toBe(true);
        await expect.poll(() => page.getByRole('tabpanel').getByLabel('Lines to add').textContent()).toContain('mi.com/192.168.1.2');
        await miioTab.press('ArrowLeft');
        await expect.poll(() => icomenTab.getAttribute('aria-selected')).toBe('true');
        const caLink = page.getByRole('link', {name: 'Download the CA certificate'});
        const download = await page.request.get(new URL((await caLink.getAttribute('href'))!, page.url()).href);
        expect(await download.text()).toMatch(/^-----BEGIN CERTIFICATE-----[^]*-----END CERTIFICATE-----\s*$/);
        await checkPage('onboarding');
    });

    it('approves a RainMaker MAC for self-claiming from the onboarding page, and says why not when it cannot', async () => {
        await page.getByRole('tab', {name: 'ESP RainMaker'}).click();
        const mac = page.getByLabel('MAC address', {exact: true});
        await mac.fill('7C:DF:A1');
        await page.getByRole('button', {name: 'Approve'}).click();
        await page.getByRole('alert').filter({hasText: /Not done: .*not a MAC address/}).waitFor();
        await mac.fill('7c:df:a1:b2:c3:d4');
        await page.getByRole('button', {name: 'Approve'}).click();
        await page.getByRole('status').filter({hasText: 'MAC 7CDFA1B2C3D4 may now claim itself'}).waitFor();
        expect(Object.keys((await readClaimIndex(bridge.dataDir)).approved)).toEqual(['7CDFA1B2C3D4']);
        await checkPage('onboarding-rainmaker');
    });

    it("claims a RainMaker node from its tab and downloads its factory files, the private key as on disk", async () => {
        await page.getByLabel("Node's MAC address").fill('7c:df:a1:00:00:01');
        await page.getByRole('button', {name: 'Claim'}).click();
        await page.getByRole('status').filter({hasText: 'node 7CDFA1000001 (MAC 7CDFA1000001) claimed'}).waitFor();
        const link = page.getByRole('link', {name: 'Download the factory files of 7CDFA1000001'});
        const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
        expect(download.suggestedFilename()).toBe('rainmaker-7CDFA1000001-factory.tar.gz');
        const archive = path.join(SCREENSHOTS, '..', 'factory.tar.gz');
        await download.saveAs(archive);
        const entries = new Map<string, {mode: number; body: string}>();
        await tar.list({
            file: archive,
            onReadEntry: (entry) => {
                let body = '';
                entry.on('data', (chunk: Buffer) => (body += chunk.toString()));
                entry.on('end', () => entries.set(entry.path, {mode: (entry.mode ?? 0) & 0o777, body}));
            },
        });
        rmSync(archive);
        const nodeDir = path.join(bridge.dataDir, 'rainmaker', 'nodes', '7CDFA1000001');
        expect([...entries.keys()].sort()).toEqual(['ca.crt', 'endpoint.info', 'node.crt', 'node.info', 'node.key', 'node_info.csv', 'random.info'].map((file) => `7CDFA1000001/${file}`));
        expect(entries.get('7CDFA1000001/node.key')).toEqual({mode: 0o600, body: readFileSync(path.join(nodeDir, 'node.key'), 'utf8')});
        expect(statSync(path.join(nodeDir, 'node.key')).mode & 0o777).toBe(0o600);
        expect(entries.get('7CDFA1000001/node.info')?.body).toBe('7CDFA1000001');
        await checkPage('onboarding-rainmaker-factory-files');
    });

    it('shows the log live, filtered by level and search', async () => {
        await page.getByRole('link', {name: 'Logs'}).click();
        await page.getByRole('heading', {name: 'Logs'}).waitFor();
        await page.getByLabel('Level').selectOption('warn');
        await page.getByLabel('Search').fill('refused');
        await page.getByRole('listitem').filter({hasText: /command refused: .*not connected/}).waitFor();
        await checkPage('logs');
    });
});
