import type {FamilyModule} from '../family.js';
import {IcomenAdapter} from './adapter.js';

/** ALDI/Lidl smart2connect plugs: the 7531 load balancer and the session port. */
export const icomenFamily: FamilyModule = {
    family: 'icomen',
    enabled: (settings) => settings.icomen.enabled,
    create: (context) => new IcomenAdapter(context),
};
