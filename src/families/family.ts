/**
 * The family contract: everything a family brings, in one module. The bridge, the settings, the
 * CLI and the demo all take what they need from here, so adding a family is one folder and one
 * line in the registration list (`families/index.ts`).
 */
import type {CommandModule} from 'yargs';
import type {z} from 'zod';

import type {Extension} from '../core/extension.js';
import type {DeviceImages} from '../core/images.js';
import type {DeviceRegistry} from '../core/registry.js';
import type {CommandRouter} from '../core/router.js';
import type {OnboardingAction, OnboardingFiles} from '../core/setup.js';
import type {EdgeSettings} from '../config/schema.js';
import type {EdgePorts, FamilyEdge} from '../edge/index.js';

/**
 * Raw topics on the Home Assistant side's broker, for families that keep a legacy MQTT API of their
 * own (icomen-mqtt-bridge's `icomen/…` topics). Knows nothing of discovery.
 */
export interface TopicPort {
    publish(topic: string, payload: string, options?: {retain?: boolean}): void;
    /**
     * `handler` sees only non-retained messages: a retained command would replay at every connect.
     * Returns the unsubscribe, for the extension that subscribed to call when it stops.
     */
    subscribe(filter: string, handler: (topic: string, payload: Buffer) => void): () => void;
}

/** What the bridge hands a family when it starts it. */
export interface FamilyContext<Section> {
    /** The family's own settings section, validated and defaulted. */
    settings: Section;
    /** The data directory (registry, CA, family files). */
    dataDir: string;
    registry: DeviceRegistry;
    /** Where a family puts the pictures of its devices' image features (a vacuum's map). */
    images: Pick<DeviceImages, 'publish'>;
    router: CommandRouter;
    topics: TopicPort;
    /**
     * The shared device-facing parts: broker policy, TLS routes, HTTP routes, server names and
     * the CA. Register in `create`/`start`; the certificate is there from `start`.
     */
    edge: FamilyEdge;
}

export interface FamilyService {
    start(): Promise<void>;
    stop(): Promise<void>;
    /**
     * What the family adds beside the Home Assistant side (icomen's legacy topics). The bridge
     * starts them with the other extensions once the family is created, and stops them before it.
     */
    readonly extensions?: readonly Extension[];
}

/** What the CLI hands a family's commands: the settings as `fogbridge run` would read them. */
export interface FamilyCli<Section> {
    /** Settings file, environment and `--data-dir`, as for `run`. */
    loadSettings(options: {config?: string | undefined; dataDir?: string | undefined}): {dataDir: string; section: Section; edge: EdgeSettings};
}

/** A yargs command of any arguments: each family types its own (yargs' types are invariant in them). */
export type CliCommand = CommandModule<any, any>;

/** Simulated devices started by `--demo`, pointed at this bridge's own listeners. */
export interface RunningDemo {
    /** The registry ids of the simulated devices: they are removed when the demo ends. */
    readonly deviceIds: readonly string[];
    stop(): Promise<void>;
}

/**
 * How a family's devices reach their vendor's cloud, so that they can be pointed at the bridge:
 * what `fogbridge dns` and the onboarding page tell the user to add to their DNS server and router.
 */
export interface CloudRedirects {
    /**
     * Names to answer with the bridge's address. `domain` covers its subdomains where the DNS
     * server can; `hosts` are the exact names known, for servers (and /etc/hosts) that cannot.
     */
    names: {domain?: string; hosts: string[]}[];
    /** Addresses devices use without asking DNS: only a NAT rule on the router catches them. */
    fixedAddresses: {
        address: string;
        /** `tcp/80`, `udp/53`: what to redirect. */
        port: string;
        /** `bridge`: redirect to fogbridge; `dns`: a hard-coded DNS server, redirect to the user's own. */
        to: 'bridge' | 'dns';
        why: string;
    }[];
}

/**
 * A value the user enters in another program to use the family's devices through the bridge (the
 * settings of Home Assistant's own integration), shown on the family's onboarding tab.
 */
export interface OnboardingNote {
    /** A UI string's key in `translations/` (`onboarding.note.<family>.<what>`): the web UI shows it translated. */
    label: string;
    /** Shown as is; a boolean as the UI's on / off. */
    value: string | boolean;
}

export interface FamilyModule<Id extends string = string, Schema extends z.ZodType = z.ZodType> {
    /** The family id: the settings section's key, the device id prefix, the CLI verb. */
    readonly id: Id;
    /** The family's settings section, with every default (`.prefault({})`). */
    readonly settings: Schema;
    /** Keys of the section that moved, e.g. `{mqttPort: 'edge.mqttTlsPort'}`: read with a deprecation warning. */
    readonly renamedKeys?: Readonly<Record<string, string>>;
    enabled(section: z.output<Schema>): boolean;
    create(context: FamilyContext<z.output<Schema>>): FamilyService;
    /** Top-level CLI verbs, e.g. `fogbridge miio add`. */
    cliCommands?(cli: FamilyCli<z.output<Schema>>): CliCommand[];
    /** `fogbridge simulate <id>`. */
    simulateCommand?(cli: FamilyCli<z.output<Schema>>): CliCommand;
    /**
     * `--demo`: the section as the bridge must run it for the demo devices (keys they will use),
     * applied before the bridge starts.
     */
    withDemoDevices?(section: z.output<Schema>): z.output<Schema>;
    /** The redirects its devices need (`fogbridge dns`, the onboarding page). */
    redirects?(section: z.output<Schema>): CloudRedirects;
    /**
     * What the user enters elsewhere, with `address` (the bridge's, as the devices reach it) and the
     * ports the edge has bound (none before it listens) filled in.
     */
    onboardingNotes?(section: z.output<Schema>, bridge: {ports: EdgePorts; address: string}): OnboardingNote[];
    /** What the user may do once for the family from the onboarding page; the bridge registers them with the router. */
    onboardingActions?(section: z.output<Schema>, bridge: {dataDir: string}): OnboardingAction[];
    /** Downloads on the family's onboarding tab (a RainMaker node's factory files), registered with the router by the bridge. */
    onboardingFiles?(section: z.output<Schema>, bridge: {dataDir: string}): OnboardingFiles[];
    /** `--demo`: starts the simulated devices once the bridge listens. */
    startDemo?(section: z.output<Schema>, bridge: {dataDir: string; edge: EdgeSettings}): Promise<RunningDemo>;
}
