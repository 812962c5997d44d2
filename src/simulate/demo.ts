import type {Settings} from '../config/schema.js';

/** Simulated devices started by `--demo`, pointed at this bridge's own listeners. */
export async function startDemo(_settings: Settings): Promise<{stop(): Promise<void>}> {
    return {stop: async () => {}};
}
