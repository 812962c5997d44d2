import type {FamilyModule} from '../family.js';
import {ecovacsSettingsSchema} from './settings.js';

/**
 * Ecovacs Deebot / Ozmo MQTT bots (a local Ecovacs cloud). Not in ALL_FAMILIES yet: bots reach it
 * only through the device edge (broker policy, SNI routes on 443, HTTP routes on 443 and 8007),
 * which this build lacks. Registering it then means building EcovacsService (service.ts) with the
 * edge's broker port and registering its hooks.
 */
export const ecovacsFamily = {
    id: 'ecovacs',
    settings: ecovacsSettingsSchema,
    enabled: (section) => section.enabled,
    create: () => {
        throw new Error('the ecovacs family needs the device edge (src/edge/) to reach its bots; this build has none');
    },
} satisfies FamilyModule<'ecovacs', typeof ecovacsSettingsSchema>;
