import type {DeviceCommand, Family} from './device.js';
import {createLogger} from '../util/logger.js';
import type {DeviceRegistry} from './registry.js';

const log = createLogger('core:router');

export type CommandHandler = (command: DeviceCommand) => Promise<void>;

export class CommandError extends Error {}

/**
 * Routes a command to the adapter of the device's family. The adapter sends it to the device; the
 * new state comes back from the device, never from here.
 */
export class CommandRouter {
    private readonly handlers = new Map<Family, CommandHandler>();

    constructor(private readonly registry: DeviceRegistry) {}

    register(family: Family, handler: CommandHandler): void {
        if (this.handlers.has(family)) throw new Error(`a command handler for ${family} is already registered`);
        this.handlers.set(family, handler);
    }

    /** Rejects with a CommandError the caller can show; never throws synchronously. */
    async route(command: DeviceCommand): Promise<void> {
        const device = this.registry.get(command.deviceId);
        if (!device) throw new CommandError(`unknown device ${command.deviceId}`);
        const feature = device.features.find((candidate) => candidate.id === command.featureId);
        if (!feature) throw new CommandError(`${command.deviceId} has no feature "${command.featureId}"`);
        const handler = this.handlers.get(device.family);
        if (!handler) throw new CommandError(`no adapter for ${device.family} is running`);
        log.debug(() => `${command.deviceId}/${command.featureId}: ${command.action} ${JSON.stringify(command.value ?? null)}`);
        await handler(command);
    }
}
