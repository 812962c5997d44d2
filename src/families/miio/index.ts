import {DEMO_MIIO_DEVICES, simulatedCloudKey, startMiioDemo} from '../../simulate/miio.js';
import type {FamilyModule} from '../family.js';
import {MiioService, miioDeviceId} from './adapter.js';
import {miioCommand, simulateMiioCommand} from './cli.js';
import {miioSettingsSchema} from './settings.js';

/** Xiaomi miIO devices (Roborock/Xiaomi vacuums, chuangmi plugs) over the UDP 8053 cloud link. */
export const miioFamily = {
    id: 'miio',
    settings: miioSettingsSchema,
    enabled: (section) => section.enabled,
    create: (context) => new MiioService(context),
    cliCommands: (cli) => [miioCommand(cli)],
    simulateCommand: () => simulateMiioCommand,
    // The simulated devices' keys derive from their dids: the bridge is told them like configured ones.
    withDemoDevices: (section) => ({
        ...section,
        devices: [...section.devices, ...DEMO_MIIO_DEVICES.map(({did, model, name}) => ({did, model, name, key: simulatedCloudKey(did)}))],
    }),
    async startDemo(section) {
        const simulators = await startMiioDemo(section);
        return {deviceIds: DEMO_MIIO_DEVICES.map(({did}) => miioDeviceId(did)), stop: () => simulators.stop()};
    },
} satisfies FamilyModule<'miio', typeof miioSettingsSchema>;
