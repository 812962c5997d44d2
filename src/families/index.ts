import {ecovacsFamily} from './ecovacs/index.js';
import {icomenFamily} from './icomen/index.js';
import {miioFamily} from './miio/index.js';
import {rainmakerFamily} from './rainmaker/index.js';

/** Every family the bridge runs, in start order: adding a family is one line here. */
export const ALL_FAMILIES = [icomenFamily, miioFamily, rainmakerFamily, ecovacsFamily] as const;
