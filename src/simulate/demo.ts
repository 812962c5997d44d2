import type {Settings} from '../config/schema.js';
import {createLogger} from '../util/logger.js';
import {startIcomenPlugs} from './icomen.js';
import {startMiioDemo} from './miio.js';
import {startRainmakerDemo} from './rainmaker.js';

const log = createLogger('demo');

interface Running {
    stop(): Promise<void>;
}

/**
 * `--demo`: simulated devices pointed at this bridge's own listeners, so a newcomer sees devices
 * appear in MQTT at once. They speak the real protocols; nothing is faked inside the bridge.
 */
export async function startDemo(settings: Settings): Promise<Running> {
    const running: Running[] = [];
    if (settings.icomen.enabled) {
        const plugs = await startIcomenPlugs({count: 3, host: '127.0.0.1', port: settings.icomen.balancerPort});
        log.info(`started ${plugs.length} simulated icomen plugs: ${plugs.map((plug) => plug.mac).join(', ')}`);
        running.push({stop: async () => void (await Promise.all(plugs.map((plug) => plug.stop())))});
    }
    if (settings.miio.enabled) running.push(await startMiioDemo(settings.miio));
    if (settings.rainmaker.enabled) running.push(await startRainmakerDemo(settings));
    return {
        async stop() {
            for (const entry of running) await entry.stop();
        },
    };
}
