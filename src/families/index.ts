import type {CommandModule} from 'yargs';

import type {FamilyModule} from './family.js';
import {simulateIcomenCommand} from './icomen/cli.js';
import {icomenFamily} from './icomen/index.js';
import {miioCommand, simulateMiioCommand} from './miio/cli.js';
import {miioFamily} from './miio/index.js';
import {certsCommand} from './rainmaker/claim-cli.js';
import {rainmakerCommand, simulateRainmakerCommand} from './rainmaker/cli.js';
import {rainmakerFamily} from './rainmaker/index.js';

/** Every family the bridge runs, in start order. */
export const ALL_FAMILIES: readonly FamilyModule[] = [icomenFamily, miioFamily, rainmakerFamily];

/** `fogbridge simulate <family>` subcommands. */
export const SIMULATE_COMMANDS: readonly CommandModule[] = [
    simulateIcomenCommand as CommandModule,
    simulateMiioCommand as CommandModule,
    simulateRainmakerCommand as CommandModule,
];

/** Top-level family commands: `miio add`, `rainmaker claim|approve|firmware add`, `certs export`. */
export const FAMILY_COMMANDS: readonly CommandModule[] = [miioCommand, rainmakerCommand, certsCommand];
