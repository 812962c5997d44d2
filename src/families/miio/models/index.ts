import {ChuangmiPlug, isChuangmiPlug} from './chuangmi-plug.js';
import {isRoborockVacuum, RoborockVacuum, type RoomNameLookup} from './roborock-vacuum.js';
import type {MiioModel} from './types.js';

/** The model implementation for a miIO model string, or null when we do not know it. */
export function createModel(model: string, firmware?: string, roomName?: RoomNameLookup): MiioModel | null {
    if (isRoborockVacuum(model)) return new RoborockVacuum(model, firmware, roomName);
    if (isChuangmiPlug(model)) return new ChuangmiPlug(model);
    return null;
}

export type {MiioCall, MiioModel, ModelEvent, PushOutcome} from './types.js';
