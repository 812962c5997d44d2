import {CommandError, type FeatureCommand, validateCommand} from './commands.js';
import type {Device, Family, Feature} from './device.js';
import {createLogger} from '../util/logger.js';
import type {DeviceRegistry} from './registry.js';
import {type DeviceSetup, type OnboardingAction, type OnboardingDownload, type OnboardingFiles, type SetupField, SetupRefused, checkSetupInput} from './setup.js';

const log = createLogger('core:router');

/** A validated command with the device and feature it is for, looked up once by the router. */
export interface RoutedCommand {
    device: Device;
    feature: Feature;
    command: FeatureCommand;
}

/** An adapter's side: sends the command to the device; rejects with a CommandError when it cannot. */
export type CommandHandler = (routed: RoutedCommand) => Promise<void>;

/** Builds the command from an intake's wire format once the feature it is for is known; throws CommandError. */
export type CommandDecoder = (feature: Feature) => FeatureCommand;

/**
 * Checks a command against its feature and routes it to the adapter of the device's family. The
 * adapter sends it to the device; the new state comes back from the device, never from here.
 * Every refusal and failure is logged here, once, with the device, the feature and the reason.
 * Setup input a device waits for (see setup.ts) takes the same way, to the family's DeviceSetup.
 */
export class CommandRouter {
    private readonly handlers = new Map<Family, CommandHandler>();
    private readonly setups = new Map<Family, DeviceSetup>();
    private readonly actions: {family: Family; action: OnboardingAction}[] = [];
    private readonly files: {family: Family; files: OnboardingFiles}[] = [];

    constructor(private readonly registry: DeviceRegistry) {}

    register(family: Family, handler: CommandHandler): void {
        if (this.handlers.has(family)) throw new Error(`a command handler for ${family} is already registered`);
        this.handlers.set(family, handler);
    }

    registerSetup(family: Family, setup: DeviceSetup): void {
        if (this.setups.has(family)) throw new Error(`a device setup for ${family} is already registered`);
        this.setups.set(family, setup);
    }

    /** The setup fields the device waits for; empty for an unknown device or one that needs nothing. */
    pendingSetup(deviceId: string): SetupField[] {
        const device = this.registry.get(deviceId);
        return device ? (this.setups.get(device.family)?.pending(device) ?? []) : [];
    }

    /** Rejects with SetupRefused the caller can show. The values are never logged. */
    async setUp(deviceId: string, input: unknown): Promise<void> {
        try {
            const device = this.registry.get(deviceId);
            if (!device) throw new SetupRefused(`unknown device ${deviceId}`);
            const setup = this.setups.get(device.family);
            const checked = checkSetupInput(setup?.pending(device) ?? [], input);
            await setup!.apply(device, checked);
        } catch (error) {
            log.warn(`${deviceId}: setup input ${error instanceof SetupRefused ? 'refused' : 'failed'}: ${(error as Error).message}`);
            throw error;
        }
    }

    registerOnboardingAction(family: Family, action: OnboardingAction): void {
        if (this.findOnboardingAction(family, action.id)) throw new Error(`an onboarding action ${family}/${action.id} is already registered`);
        this.actions.push({family, action});
    }

    /** The families' onboarding actions and the fields each takes. */
    onboardingActions(): {family: Family; id: string; fields: SetupField[]}[] {
        return this.actions.map(({family, action}) => ({family, id: action.id, fields: action.fields}));
    }

    /** Resolves with what was done; rejects with SetupRefused the caller can show. */
    async runOnboardingAction(family: string, actionId: string, input: unknown): Promise<string> {
        try {
            const action = this.findOnboardingAction(family, actionId);
            if (!action) throw new SetupRefused(`${family} has no onboarding action "${actionId}"`);
            const done = await action.run(checkSetupInput(action.fields, input));
            log.info(`${family}/${actionId}: ${done}`);
            return done;
        } catch (error) {
            log.warn(`${family}/${actionId}: onboarding action ${error instanceof SetupRefused ? 'refused' : 'failed'}: ${(error as Error).message}`);
            throw error;
        }
    }

    registerOnboardingFiles(family: Family, files: OnboardingFiles): void {
        if (this.findOnboardingFiles(family, files.id)) throw new Error(`onboarding files ${family}/${files.id} are already registered`);
        this.files.push({family, files});
    }

    /** The families' onboarding downloads, each with the items there are now. */
    async onboardingFiles(): Promise<{family: Family; id: string; items: string[]}[]> {
        return Promise.all(this.files.map(async ({family, files}) => ({family, id: files.id, items: await files.list()})));
    }

    /** One item's download; rejects with SetupRefused when there is no such download or item. Only the names are logged. */
    async openOnboardingFile(family: string, filesId: string, item: string): Promise<OnboardingDownload> {
        const files = this.findOnboardingFiles(family, filesId);
        const download = files ? await files.open(item) : null;
        if (!download) {
            const refusal = files ? `${family}/${filesId} has no "${item.slice(0, 64)}"` : `${family} offers no files "${filesId}"`;
            log.warn(`onboarding download refused: ${refusal}`);
            throw new SetupRefused(refusal);
        }
        log.info(`${family}/${filesId}: ${item.slice(0, 64)} downloaded`);
        return download;
    }

    private findOnboardingFiles(family: string, filesId: string): OnboardingFiles | undefined {
        return this.files.find((entry) => entry.family === family && entry.files.id === filesId)?.files;
    }

    private findOnboardingAction(family: string, actionId: string): OnboardingAction | undefined {
        return this.actions.find((entry) => entry.family === family && entry.action.id === actionId)?.action;
    }

    /** Rejects with a CommandError the caller can show; never throws synchronously. */
    async route(deviceId: string, featureId: string, command: FeatureCommand): Promise<void> {
        await this.decodeAndRoute(deviceId, featureId, () => command);
    }

    /** As `route`, for intakes whose wire format can only be read knowing the feature's kind. */
    async decodeAndRoute(deviceId: string, featureId: string, decode: CommandDecoder): Promise<void> {
        try {
            const device = this.registry.get(deviceId);
            if (!device) throw new CommandError(`unknown device ${deviceId}`);
            const feature = device.features.find((candidate) => candidate.id === featureId);
            if (!feature) throw new CommandError(`${deviceId} has no feature "${featureId}"`);
            const command = decode(feature);
            validateCommand(feature, command, device.state[feature.id] ?? null);
            const handler = this.handlers.get(device.family);
            if (!handler) throw new CommandError(`no adapter for ${device.family} is running`);
            log.debug(() => `${deviceId}/${featureId}: ${JSON.stringify(command)}`);
            await handler({device, feature, command});
        } catch (error) {
            const refused = error instanceof CommandError;
            log.warn(`${deviceId}/${featureId}: command ${refused ? 'refused' : 'failed'}: ${(error as Error).message}`);
            throw error;
        }
    }
}
