import {DEMO_MIIO_DEVICES, simulatedCloudKey, startMiioDemo} from '../../simulate/miio.js';
import type {FamilyModule} from '../family.js';
import {MiioService, miioDeviceId} from './adapter.js';
import {miioCommand, simulateMiioCommand} from './cli.js';
import {miioSettingsSchema} from './settings.js';

const MI_REGIONS = ['us', 'sg', 'st', 'de', 'ru', 'in', 'tw', 'ea', 'pv'];

/** Xiaomi miIO devices (Roborock/Xiaomi vacuums, chuangmi plugs) over the UDP 8053 cloud link. */
export const miioFamily = {
    id: 'miio',
    settings: miioSettingsSchema,
    enabled: (section) => section.enabled,
    create: (context) => new MiioService(context),
    cliCommands: (cli) => [miioCommand(cli)],
    simulateCommand: () => simulateMiioCommand,
    // miio.md §3.7: the cloud link's names with their regional variants, and what DNS cannot catch.
    redirects: () => ({
        names: ['ot', 'ott'].map((service) => ({
            domain: `${service}.io.mi.com`,
            hosts: [`${service}.io.mi.com`, ...MI_REGIONS.map((region) => `${region}.${service}.io.mi.com`)],
        })),
        fixedAddresses: [
            {address: '110.43.0.83', port: 'tcp/80', to: 'bridge', why: 'HTTP-DNS (/gslb) that newer miio_client builds ask directly'},
            {address: '110.43.0.85', port: 'tcp/80', to: 'bridge', why: 'HTTP-DNS (/gslb) that newer miio_client builds ask directly'},
            {address: '114.114.114.114', port: 'udp/53', to: 'dns', why: 'a DNS server some firmware has built in'},
        ],
    }),
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
