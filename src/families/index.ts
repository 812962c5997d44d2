import type {CommandModule} from 'yargs';

import type {FamilyModule} from './family.js';

/** Every family the bridge runs, in start order. */
export const ALL_FAMILIES: readonly FamilyModule[] = [];

/** `fogbridge simulate <family>` subcommands. */
export const SIMULATE_COMMANDS: readonly CommandModule[] = [];

/** Top-level family commands (`miio add`, `rainmaker claim`, `certs export`). */
export const FAMILY_COMMANDS: readonly CommandModule[] = [];
