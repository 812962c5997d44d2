import type {EdgeSettings} from '../../config/schema.js';
import {loadOrCreateCa} from '../../edge/tls/ca.js';
import {startRainmakerNodes} from '../../simulate/rainmaker.js';
import {createLogger} from '../../util/logger.js';
import type {RunningDemo} from '../family.js';
import {RainmakerAdapter} from './adapter.js';
import {claimNode} from './claim.js';
import type {RainmakerSettings} from './settings.js';

/** `--demo`: one lightbulb node, claimed from this bridge's CA, on the edge's device MQTT port. */
export async function startRainmakerDemo(settings: RainmakerSettings, bridge: {dataDir: string; edge: EdgeSettings}): Promise<RunningDemo> {
    const {dataDir, edge} = bridge;
    const port = edge.mqttTlsPort;
    if (!port) return {deviceIds: [], stop: async () => {}};
    const ca = await loadOrCreateCa(dataDir);
    const nodes = await startRainmakerNodes({
        type: 'lightbulb',
        count: 1,
        host: edge.host === '0.0.0.0' ? '127.0.0.1' : edge.host,
        port,
        servername: settings.mqttHost,
        macBase: '7CDFA1DE0000',
        claim: (mac) => claimNode(dataDir, ca, {mac, mqttHost: settings.mqttHost}),
        otaFetchDelayMs: null,
    });
    createLogger('demo').info(`started a simulated RainMaker lightbulb: node ${nodes.nodes.map((node) => node.nodeId).join(', ')}`);
    return {deviceIds: nodes.nodes.map((node) => RainmakerAdapter.deviceId(node.nodeId)), stop: () => nodes.stop()};
}
