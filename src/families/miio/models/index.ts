import {ChuangmiPlug, isChuangmiPlug} from './chuangmi-plug.js';
import {isRoborockVacuum, RoborockVacuum} from './roborock-vacuum.js';
import type {MiioModel} from './types.js';

/** The model implementation for a miIO model string, or null when we do not know it. */
export function createModel(model: string, firmware?: string): MiioModel | null {
    if (isRoborockVacuum(model)) return new RoborockVacuum(model, firmware);
    if (isChuangmiPlug(model)) return new ChuangmiPlug(model);
    return null;
}

export type {MiioCall, MiioModel, ModelEvent, PushOutcome} from './types.js';
