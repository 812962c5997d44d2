import type {Extension} from '../core/extension.js';
import {BridgeDevice} from './bridge-device.js';
import {CommandIntake} from './command-intake.js';
import type {HaContext} from './context.js';
import {DeviceDiscovery} from './device-discovery.js';
import {ImagePublisher} from './images.js';
import {StateAndAvailability} from './state-and-availability.js';

/**
 * The Home Assistant side, in start order. The replay comes first so that connects and HA's birth
 * are heard from the start; its parts then replay in this order too: the bridge, then per device
 * its discovery before its availability and state, so HA never reads state for an unknown entity.
 */
export function createHaExtensions(context: HaContext): Extension[] {
    const bridge = new BridgeDevice(context);
    return [
        context.replay,
        bridge,
        new DeviceDiscovery(context),
        new StateAndAvailability(context),
        new ImagePublisher(context),
        new CommandIntake(context, (featureId, payload) => bridge.onCommand(featureId, payload)),
    ];
}
