/**
 * The bridge does not stop a service whose start failed, so a RainMaker start that fails half way
 * must release what it had already opened itself.
 */
import {mkdtempSync, rmSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';

import {afterEach, describe, expect, it} from 'vitest';

import {loadSettings} from '../../src/settings.js';
import {EventBus} from '../../src/core/bus.js';
import {DeviceRegistry} from '../../src/core/registry.js';
import {CommandRouter} from '../../src/core/router.js';
import {DeviceEdge} from '../../src/edge/index.js';
import {RainmakerService} from '../../src/families/rainmaker/service.js';
import {startOnEdge} from '../support/edge.js';
import {freePort} from '../support/net.js';
import {MQTT_HOST} from './harness.js';

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function listen(port: number): Promise<net.Server> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => resolve(server));
    });
}

function close(server: net.Server): Promise<void> {
    return new Promise((resolve) => server.close(() => resolve()));
}

describe('RainMaker service start failure', () => {
    it('closes the OTA and MQTT listeners it opened before a port that was taken', async () => {
        const dataDir = mkdtempSync(path.join(tmpdir(), 'fogbridge-rainmaker-start-'));
        cleanups.push(() => rmSync(dataDir, {recursive: true, force: true}));
        const [mqttPort, alpnPort, otaPort] = [await freePort(), await freePort(), await freePort()];
        const taken = await listen(alpnPort);
        cleanups.push(() => close(taken));
        const settings = loadSettings({
            flags: {dataDir, edge: {host: '127.0.0.1', mqttTlsPort: mqttPort, tlsPort: alpnPort, tlsFallbackPort: null}, rainmaker: {host: '127.0.0.1', mqttHost: MQTT_HOST, otaPort, claimPort: null}},
        });
        const registry = new DeviceRegistry({file: path.join(dataDir, 'registry.json'), bus: new EventBus()});
        await registry.load();
        cleanups.push(() => registry.close());
        const edge = new DeviceEdge(settings.edge, dataDir);
        const start = startOnEdge(edge, 'rainmaker', (familyEdge) => new RainmakerService({settings: settings.rainmaker, dataDir, registry, images: {publish: () => {}}, router: new CommandRouter(registry), topics: {publish: () => {}, subscribe: () => () => {}}, edge: familyEdge}));

        await expect(start).rejects.toThrow(/EADDRINUSE/);

        // Both ports it had bound are free again.
        for (const port of [otaPort, mqttPort]) await close(await listen(port));
        // The MQTT listener had been bound before the failure: the test did reach the taken port.
        expect(edge.ports.mqttTls).toBe(mqttPort);
    });
});
