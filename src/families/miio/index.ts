import type {FamilyModule} from '../family.js';
import {MiioService} from './adapter.js';

/** Xiaomi miIO devices (Roborock/Xiaomi vacuums, chuangmi plugs) over the UDP 8053 cloud link. */
export const miioFamily: FamilyModule = {
    family: 'miio',
    enabled: (settings) => settings.miio.enabled,
    create: (context) => new MiioService(context),
};
