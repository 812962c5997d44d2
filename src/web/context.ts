/** What the web UI is handed by the composition root. */
import type {Readable} from 'node:stream';

import type {WebSettings} from '../config/schema.js';
import type {EventBus} from '../core/bus.js';
import type {DeviceImages} from '../core/images.js';
import type {DeviceRegistry} from '../core/registry.js';
import type {CommandRouter} from '../core/router.js';
import type {Language} from '../util/translations.js';

/** What the UI may do with the registry: read, rename, remove. */
export type DeviceDirectory = Pick<DeviceRegistry, 'get' | 'list' | 'rename' | 'remove'>;

/** The bridge's own state, as the composition root gathers it from the Home Assistant side. */
export interface BridgeHealth {
    version: string;
    startedAt: number;
    homeAssistant: {connected: boolean; broker: string};
    queue: {pending: number; sent: number; dropped: number; throttled: number; failed: number};
    /** Packets dropped from devices over their budget, and how many devices are flooding now. */
    flood: {dropped: number; flooding: number};
    /** Hellos (a device asking to be let in) left unanswered for a rate limit: devices retry, so only a growing count is news. */
    hellosUnanswered: number;
}

/** The onboarding page's redirects, rendered by the composition root from what the families declare. */
export interface Onboarding {
    /** The address devices are likely to reach the bridge at, or null when none was found. */
    address: string | null;
    families: readonly string[];
    formats: readonly string[];
    /** The lines for one DNS server (`format`), for every family or one. */
    redirects(format: string, address: string, family?: string): string;
    /** What the families ask the user to enter elsewhere (Home Assistant's own integration), for every family or one. */
    notes(address: string, family?: string): OnboardingNote[];
}

/** One value to enter elsewhere: `label` is a UI string's key, `value` shown as is (a boolean as on / off). */
export interface OnboardingNote {
    family: string;
    label: string;
    value: string | boolean;
}

/** A device-facing TLS listener's refusal, as the edge records it (edge/tls/refusals.ts). */
export interface TlsRefusal {
    peer: string;
    listener: string;
    reason: 'unknown-ca' | 'no-sni' | 'no-alpn' | 'no-client-certificate' | 'other';
    detail: string;
    count: number;
    firstAt: number;
    lastAt: number;
}

/** The edge's bounded record of recent TLS refusals; `version` moves with every refusal. */
export interface TlsRefusalLog {
    readonly version: number;
    list(): readonly TlsRefusal[];
}

export interface WebContext {
    settings: WebSettings;
    /** The language of the UI's strings (the top-level `language` setting). */
    language: Language;
    registry: DeviceDirectory;
    bus: EventBus;
    images: Pick<DeviceImages, 'get'>;
    router: CommandRouter;
    health(): BridgeHealth;
    onboarding: Onboarding;
    tlsRefusals: TlsRefusalLog;
    /** The devices' CA certificate (PEM, public part only), or null while the edge has none. */
    caCertificate(): string | null;
    /** The data directory as one archive (core/backup.ts), with the registry's pending changes written first. */
    backup(): Promise<Readable>;
}
