import type {FamilyModule} from '../family.js';
import {certsCommand} from './claim-cli.js';
import {rainmakerCommand, simulateRainmakerCommand} from './cli.js';
import {startRainmakerDemo} from './demo.js';
import {approveMacAction, claimNodeAction, factoryFilesDownload} from './onboarding.js';
import {RainmakerService} from './service.js';
import {rainmakerSettingsSchema} from './settings.js';

/** ESP RainMaker nodes: a local mutual-TLS MQTT "cloud" with per-node ACLs, claiming and OTA. */
export const rainmakerFamily = {
    id: 'rainmaker',
    settings: rainmakerSettingsSchema,
    // The device-facing listeners and the certificate's names moved to the edge, shared by every family.
    renamedKeys: {
        mqttPort: 'edge.mqttTlsPort',
        mqttFallbackPort: 'edge.mqttTlsFallbackPort',
        alpnPort: 'edge.tlsPort',
        alpnFallbackPort: 'edge.tlsFallbackPort',
        serverCertHosts: 'edge.serverCertHosts',
        serverCertIps: 'edge.serverCertIps',
        maxConnections: 'edge.maxConnections',
    },
    enabled: (section) => section.enabled,
    create: (context) => new RainmakerService(context),
    cliCommands: (cli) => [rainmakerCommand(cli), certsCommand(cli)],
    simulateCommand: (cli) => simulateRainmakerCommand(cli),
    // Claimed nodes connect to the name we gave them (rainmaker.md §14): it must resolve to the bridge.
    redirects: (section) => ({names: [{hosts: [section.mqttHost]}], fixedAddresses: []}),
    onboardingActions: (section, bridge) => [approveMacAction(section, bridge), claimNodeAction(section, bridge)],
    onboardingFiles: (_section, bridge) => [factoryFilesDownload(bridge)],
    startDemo: (section, bridge) => startRainmakerDemo(section, bridge),
} satisfies FamilyModule<'rainmaker', typeof rainmakerSettingsSchema>;
