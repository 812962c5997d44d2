import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';

import {miioFamily} from '../../src/families/miio/index.js';
import {type Settings, type SettingsInput, settingsSchema} from '../../src/settings.js';
import {EventBus} from '../../src/core/bus.js';
import {DeviceImages} from '../../src/core/images.js';
import {DeviceRegistry} from '../../src/core/registry.js';
import {CommandRouter} from '../../src/core/router.js';
import {MiioService} from '../../src/families/miio/adapter.js';
import {DeviceEdge} from '../../src/edge/index.js';
import {startOnEdge} from '../support/edge.js';
import {freePort} from '../support/net.js';

export interface MiioHarness {
    settings: Settings;
    service: MiioService;
    edge: DeviceEdge;
    registry: DeviceRegistry;
    router: CommandRouter;
    bus: EventBus;
    images: DeviceImages;
    port: number;
    dir: string;
    stop(): Promise<void>;
}

/** A running miIO service on loopback with a throw-away registry; gslb off unless asked for. */
export async function startMiioService(miio: SettingsInput['miio'] = {}, top: {demo?: boolean} = {}): Promise<MiioHarness> {
    const dir = mkdtempSync(path.join(tmpdir(), 'fogbridge-miio-'));
    const port = await freePort();
    const settings = settingsSchema.parse({...top, dataDir: dir, miio: {host: '127.0.0.1', port, gslb: {enabled: false}, maps: {host: '127.0.0.1', port: await freePort()}, ...miio}});
    const bus = new EventBus();
    const registry = new DeviceRegistry({file: path.join(dir, 'registry.json'), bus, stateSaveDelayMs: 50});
    await registry.load();
    const router = new CommandRouter(registry);
    const images = new DeviceImages(registry, bus);
    // As `run --demo` does: the demo devices' keys reach the adapter through its settings section.
    const section = settings.demo ? miioFamily.withDemoDevices(settings.miio) : settings.miio;
    const {edge, service, stop} = await startOnEdge(new DeviceEdge(settings.edge, dir), 'miio', (edge) => new MiioService({settings: section, registry, images, router, edge}));
    return {
        settings,
        service,
        edge,
        registry,
        router,
        bus,
        images,
        port: service.server.port,
        dir,
        async stop() {
            await stop();
            await registry.close();
            rmSync(dir, {recursive: true, force: true});
        },
    };
}
