import {startRainmakerNodes} from '../../simulate/rainmaker.js';
import {loadOrCreateCa} from '../../tls/ca.js';
import {createLogger} from '../../util/logger.js';
import type {RunningDemo} from '../family.js';
import {RainmakerAdapter} from './adapter.js';
import {claimNode} from './claim.js';
import type {RainmakerSettings} from './settings.js';

/** `--demo`: one lightbulb node, claimed from this bridge's CA, on its mutual-TLS port. */
export async function startRainmakerDemo(settings: RainmakerSettings, dataDir: string): Promise<RunningDemo> {
    const port = settings.mqttPort;
    if (!port) return {deviceIds: [], stop: async () => {}};
    const ca = await loadOrCreateCa(dataDir);
    const nodes = await startRainmakerNodes({
        type: 'lightbulb',
        count: 1,
        host: settings.host === '0.0.0.0' ? '127.0.0.1' : settings.host,
        port,
        servername: settings.mqttHost,
        macBase: '7CDFA1DE0000',
        claim: (mac) => claimNode(dataDir, ca, {mac, mqttHost: settings.mqttHost}),
        otaFetchDelayMs: null,
    });
    createLogger('demo').info(`started a simulated RainMaker lightbulb: node ${nodes.nodes.map((node) => node.nodeId).join(', ')}`);
    return {deviceIds: nodes.nodes.map((node) => RainmakerAdapter.deviceId(node.nodeId)), stop: () => nodes.stop()};
}
