/**
 * The normalised device: what every family adapter turns its vendor's devices into, and the only
 * thing the Home Assistant side ever sees.
 */

export const FEATURE_KINDS = [
    'vacuum',
    'switch',
    'light',
    'fan',
    'sensor',
    'binary_sensor',
    'button',
    'select',
    'number',
    'update',
    'event',
    'image',
] as const;
export type FeatureKind = (typeof FEATURE_KINDS)[number];

/** A family's id (`icomen`, `miio`, …): a plain string, so that the core names no family. */
export type Family = string;

/** `diagnostic` for read-only facts, `config` only for settable ones. */
export type EntityCategory = 'config' | 'diagnostic';

/**
 * An entity's name without the device's name. `key`: a name fogbridge gives, which whoever shows
 * it looks up in the configured language (`entity.<key>` in `translations/`), so the families and
 * the core stay free of language; `text`: a name the device gave itself (a RainMaker parameter),
 * shown as it is.
 */
export type FeatureName = {key: string} | {text: string};

interface FeatureBase {
    /** Stable within the device: `[a-z0-9_]+`. Part of the HA unique_id, so never rename one. */
    id: string;
    /** `null` marks the device's main feature, which takes the device's name. */
    name: FeatureName | null;
    entityCategory?: EntityCategory;
    icon?: string;
    enabledByDefault?: boolean;
    /**
     * Shown while the device's link is down: a diagnostic that explains why it is down (a wrong
     * cloud key) is useless behind the device's own availability.
     */
    availableWhileOffline?: boolean;
}

export const VACUUM_ACTIONS = ['start', 'stop', 'pause', 'return_to_base', 'locate', 'clean_spot'] as const;
export type VacuumAction = (typeof VACUUM_ACTIONS)[number];
export type VacuumActivity = 'cleaning' | 'docked' | 'paused' | 'idle' | 'returning' | 'error';

export interface VacuumFeature extends FeatureBase {
    kind: 'vacuum';
    commands: VacuumAction[];
    fanSpeeds?: string[];
    /**
     * The vacuum cleans single rooms ("segments"). Which rooms there are is state, not a
     * declaration (`VacuumState.segments`): the robot's map changes them at any time.
     */
    segments?: boolean;
}

export interface SwitchFeature extends FeatureBase {
    kind: 'switch';
    deviceClass?: 'outlet' | 'switch';
}

export type ColorMode = 'onoff' | 'brightness' | 'color_temp' | 'hs';

export interface LightFeature extends FeatureBase {
    kind: 'light';
    colorModes: ColorMode[];
    minKelvin?: number;
    maxKelvin?: number;
}

/**
 * Speeds are percentages (0–100) in both state and commands; the adapter maps its device's own
 * steps onto them. (HA's `speed_range_*` would make it send and expect the device's step numbers.)
 */
export interface FanFeature extends FeatureBase {
    kind: 'fan';
    presetModes?: string[];
    direction?: boolean;
    oscillation?: boolean;
}

export interface SensorFeature extends FeatureBase {
    kind: 'sensor';
    deviceClass?: string;
    stateClass?: 'measurement' | 'total' | 'total_increasing';
    unit?: string;
    /** Only with deviceClass `enum`. */
    options?: string[];
    precision?: number;
}

export interface BinarySensorFeature extends FeatureBase {
    kind: 'binary_sensor';
    deviceClass?: string;
}

export interface ButtonFeature extends FeatureBase {
    kind: 'button';
    deviceClass?: 'identify' | 'restart' | 'update';
}

export interface SelectFeature extends FeatureBase {
    kind: 'select';
    options: string[];
}

export interface NumberFeature extends FeatureBase {
    kind: 'number';
    min: number;
    max: number;
    step?: number;
    unit?: string;
    deviceClass?: string;
    mode?: 'auto' | 'box' | 'slider';
}

export interface UpdateFeature extends FeatureBase {
    kind: 'update';
    /** Whether HA may ask us to install the latest version. */
    installable: boolean;
}

export interface EventFeature extends FeatureBase {
    kind: 'event';
    eventTypes: string[];
    deviceClass?: 'button' | 'doorbell' | 'motion';
}

/**
 * A picture the device's family renders (a vacuum's map): PNG bytes that travel through the core's
 * image store (`core/images.ts`), never through the state or the registry file.
 */
export interface ImageFeature extends FeatureBase {
    kind: 'image';
}

export type Feature =
    | VacuumFeature
    | SwitchFeature
    | LightFeature
    | FanFeature
    | SensorFeature
    | BinarySensorFeature
    | ButtonFeature
    | SelectFeature
    | NumberFeature
    | UpdateFeature
    | EventFeature
    | ImageFeature;

/** Feature state values, one shape per kind. Buttons, events and images carry no state. */
export interface VacuumState {
    activity: VacuumActivity | null;
    fanSpeed?: string;
    /** Segment id → room name, for a vacuum with `segments`; ids are strings, as HA sends them back. */
    segments?: Record<string, string>;
}
export interface LightState {
    on: boolean;
    brightness?: number;
    colorMode?: ColorMode;
    hs?: {h: number; s: number};
    colorTempKelvin?: number;
}
export interface FanState {
    on: boolean;
    percentage?: number;
    presetMode?: string;
    direction?: 'forward' | 'reverse';
    oscillating?: boolean;
}
export interface UpdateState {
    installedVersion: string | null;
    latestVersion: string | null;
    inProgress?: boolean;
    /** 0–100 while an update runs. */
    progress?: number | null;
    releaseSummary?: string;
}
export type FeatureValue =
    | VacuumState
    | LightState
    | FanState
    | UpdateState
    | boolean
    | number
    | string
    | null;

/** One JSON object keyed by feature id. */
export type DeviceState = Record<string, FeatureValue>;

export interface DeviceFacts {
    manufacturer: string;
    model: string;
    name: string;
    firmware?: string;
    /** Hardware revision, where the device tells it (HA's `hw_version`). */
    hardwareVersion?: string;
    /** Serial number, where the device tells it (HA's `serial_number`). */
    serialNumber?: string;
    mac?: string;
    ip?: string;
}

export interface LinkHealth {
    online: boolean;
    /** ms since epoch, or null if never heard from. */
    lastSeen: number | null;
    lastError: string | null;
    packetsIn: number;
    packetsOut: number;
    badPackets: number;
    timeouts: number;
    /** The Wi-Fi signal the device last reported (RSSI, dBm); null where its family does not know it. */
    signalDbm: number | null;
}

export interface Device {
    /** `<family>-<hardware id>`, e.g. `icomen-0095691a2b3c`. */
    id: string;
    family: Family;
    facts: DeviceFacts;
    link: LinkHealth;
    features: Feature[];
    state: DeviceState;
    /**
     * Family-private, non-secret details the adapter wants to survive a restart (vendor bytes,
     * the node config, mapping state). Never published.
     */
    extra: Record<string, unknown>;
    /** Tokens, cloud keys: persisted in the 0600 registry file, never logged, never published. */
    secrets: Record<string, string>;
    /** The user renamed the device: `facts.name` is theirs from then on, not the adapter's. */
    namedByUser?: true;
}

/** What the Home Assistant side and the web UI may see: everything but secrets. */
export type PublicDevice = Omit<Device, 'secrets' | 'extra'>;

export function newLinkHealth(): LinkHealth {
    return {online: false, lastSeen: null, lastError: null, packetsIn: 0, packetsOut: 0, badPackets: 0, timeouts: 0, signalDbm: null};
}

export function toPublic(device: Device): PublicDevice {
    const {secrets: _secrets, extra: _extra, ...rest} = device;
    return structuredClone(rest);
}

const DEVICE_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const FEATURE_ID = /^[a-z0-9_]{1,48}$/;

export function isValidDeviceId(id: string): boolean {
    return DEVICE_ID.test(id);
}

export function isValidFeatureId(id: string): boolean {
    return FEATURE_ID.test(id);
}

/** `icomen-0095691a2b3c`: lower case, only characters HA accepts in discovery topics. */
export function makeDeviceId(family: Family, hardwareId: string): string {
    const id = `${family}-${hardwareId.toLowerCase().replace(/[^a-z0-9_-]/g, '')}`;
    if (!isValidDeviceId(id)) throw new Error(`cannot build a device id from ${family} hardware id "${hardwareId}"`);
    return id;
}
