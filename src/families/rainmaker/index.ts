import type {FamilyModule} from '../family.js';
import {RainmakerService} from './service.js';

/** ESP RainMaker nodes: a local mutual-TLS MQTT "cloud" with per-node ACLs, claiming and OTA. */
export const rainmakerFamily: FamilyModule = {
    family: 'rainmaker',
    enabled: (settings) => settings.rainmaker.enabled,
    create: (context) => new RainmakerService(context),
};
