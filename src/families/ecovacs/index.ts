import {startEcovacsBots} from '../../simulate/ecovacs.js';
import {createLogger} from '../../util/logger.js';
import type {FamilyModule} from '../family.js';
import {ecovacsDeviceId} from './adapter.js';
import {simulateEcovacsCommand} from './cli.js';
import {homeAssistantSelfHostedNotes} from './onboarding.js';
import {EcovacsOnEdge} from './on-edge.js';
import {ecovacsRedirects} from './server-names.js';
import {ecovacsSettingsSchema} from './settings.js';

const DEMO_BOTS = 2;

/** Ecovacs Deebot / Ozmo MQTT bots: a local Ecovacs cloud (REST, helper bot, broker policy) on the device edge. */
export const ecovacsFamily = {
    id: 'ecovacs',
    settings: ecovacsSettingsSchema,
    enabled: (section) => section.enabled,
    create: (context) => new EcovacsOnEdge(context),
    simulateCommand: () => simulateEcovacsCommand,
    redirects: () => ecovacsRedirects(),
    onboardingNotes: homeAssistantSelfHostedNotes,
    async startDemo(_section, bridge) {
        const {mqttTlsPort, host} = bridge.edge;
        if (mqttTlsPort === null) return {deviceIds: [], stop: async () => {}};
        const bots = await startEcovacsBots({url: `mqtts://${host === '0.0.0.0' ? '127.0.0.1' : host}:${mqttTlsPort}`, count: DEMO_BOTS});
        createLogger('demo').info(`started ${bots.bots.length} simulated Ecovacs bots: ${bots.bots.map((bot) => bot.endpoint.id).join(', ')}`);
        return {deviceIds: bots.bots.map((bot) => ecovacsDeviceId(bot.endpoint.id)), stop: () => bots.stop()};
    },
} satisfies FamilyModule<'ecovacs', typeof ecovacsSettingsSchema>;
