import {createLogger} from '../util/logger.js';

const log = createLogger('core:extensions');

/**
 * A consumer of the normalised devices (a part of the Home Assistant side, the web UI). Extensions
 * listen on the bus and talk to the router; the families never know they exist.
 */
export interface Extension {
    readonly name: string;
    start(): void | Promise<void>;
    stop(): void | Promise<void>;
}

/**
 * Starts extensions in list order, so a later one can rely on an earlier one. If one fails, those
 * already started are stopped again before the error is passed on.
 */
export async function startExtensions(extensions: readonly Extension[]): Promise<void> {
    const started: Extension[] = [];
    for (const extension of extensions) {
        try {
            await extension.start();
        } catch (error) {
            await stopExtensions(started);
            throw new Error(`extension ${extension.name} could not start: ${(error as Error).message}`, {cause: error});
        }
        started.push(extension);
    }
}

/** Stops extensions in reverse list order; one failing to stop does not keep the others running. */
export async function stopExtensions(extensions: readonly Extension[]): Promise<void> {
    for (const extension of [...extensions].reverse()) {
        try {
            await extension.stop();
        } catch (error) {
            log.error(`stopping extension ${extension.name}: ${(error as Error).message}`);
        }
    }
}
