import {startIcomenPlugs} from '../../simulate/icomen.js';
import {createLogger} from '../../util/logger.js';
import type {FamilyModule} from '../family.js';
import {IcomenAdapter, deviceIdFor} from './adapter.js';
import {simulateIcomenCommand} from './cli.js';
import {icomenSettingsSchema} from './settings.js';

const DEMO_PLUGS = 3;

/** ALDI/Lidl smart2connect plugs: the 7531 load balancer and the session port. */
export const icomenFamily = {
    id: 'icomen',
    settings: icomenSettingsSchema,
    enabled: (section) => section.enabled,
    create: (context) => new IcomenAdapter(context),
    simulateCommand: () => simulateIcomenCommand,
    // icomen.md: the plug asks for smart2connect.yunext.com; plugs with a static IP ask OpenDNS, whatever is configured.
    redirects: () => ({
        names: [{domain: 'yunext.com', hosts: ['smart2connect.yunext.com']}],
        fixedAddresses: [
            {address: '18.185.112.221', port: 'tcp/7531', to: 'bridge', why: 'the address smart2connect.yunext.com had; plugs that kept it connect there directly'},
            {address: '208.67.222.222', port: 'udp/53', to: 'dns', why: 'plugs set up with a static IP ask this DNS server (OpenDNS) and ignore yours'},
        ],
    }),
    async startDemo(section) {
        const plugs = await startIcomenPlugs({count: DEMO_PLUGS, host: '127.0.0.1', port: section.balancerPort});
        createLogger('demo').info(`started ${plugs.length} simulated icomen plugs: ${plugs.map((plug) => plug.mac).join(', ')}`);
        return {deviceIds: plugs.map((plug) => deviceIdFor(plug.mac)), stop: async () => void (await Promise.all(plugs.map((plug) => plug.stop())))};
    },
} satisfies FamilyModule<'icomen', typeof icomenSettingsSchema>;
