/**
 * The topic layout of the Home Assistant side, in one place:
 *
 * | topic                                   | retained | content                         |
 * |-----------------------------------------|----------|---------------------------------|
 * | <base>/bridge/state                     | yes      | online / offline (last will)    |
 * | <base>/bridge/devices                   | yes      | JSON list of devices            |
 * | <base>/bridge/log_level[/set]           | yes (no) | the bridge's log level          |
 * | <base>/bridge/diagnostics               | yes      | JSON drop and flood counters    |
 * | <base>/<device>/availability            | yes      | online / offline                |
 * | <base>/<device>/state                   | yes      | JSON state of all features      |
 * | <base>/<device>/<feature>/state         | yes      | JSON state of a vacuum or light |
 * | <base>/<device>/<feature>/event         | no       | {"event_type": …}               |
 * | <base>/<device>/<feature>/image         | yes      | base64 of the latest PNG        |
 * | <base>/<device>/<feature>[/<attr>]/set  | no       | command                         |
 * | <prefix>/device/<device>/config         | yes      | device-based discovery          |
 */
/** `<base>/<device>/<vacuum>/clean_segments/set`: where HA sends the room ids to clean. */
export const CLEAN_SEGMENTS_ATTRIBUTE = 'clean_segments';

/** Command topics `<base>/bridge/<feature>/set` address the bridge itself. */
export const BRIDGE_DEVICE_ID = 'bridge';

export class TopicLayout {
    constructor(
        readonly base: string,
        readonly discoveryPrefix: string,
    ) {}

    get bridgeState(): string {
        return `${this.base}/bridge/state`;
    }

    get bridgeDevices(): string {
        return `${this.base}/bridge/devices`;
    }

    get bridgeDiagnostics(): string {
        return `${this.base}/bridge/diagnostics`;
    }

    get bridgeLogLevel(): string {
        return `${this.base}/bridge/log_level`;
    }

    /** The bridge's own device in HA: its id can never clash with a device's (`<family>-…`). */
    get bridgeDiscovery(): string {
        return `${this.discoveryPrefix}/device/${this.identifier(BRIDGE_DEVICE_ID)}/config`;
    }

    availability(deviceId: string): string {
        return `${this.base}/${deviceId}/availability`;
    }

    deviceState(deviceId: string): string {
        return `${this.base}/${deviceId}/state`;
    }

    featureState(deviceId: string, featureId: string): string {
        return `${this.base}/${deviceId}/${featureId}/state`;
    }

    featureEvent(deviceId: string, featureId: string): string {
        return `${this.base}/${deviceId}/${featureId}/event`;
    }

    featureImage(deviceId: string, featureId: string): string {
        return `${this.base}/${deviceId}/${featureId}/image`;
    }

    command(deviceId: string, featureId: string, attribute?: string): string {
        return attribute ? `${this.base}/${deviceId}/${featureId}/${attribute}/set` : `${this.base}/${deviceId}/${featureId}/set`;
    }

    /** Filters that cover every command topic. */
    get commandFilters(): string[] {
        return [`${this.base}/+/+/set`, `${this.base}/+/+/+/set`];
    }

    parseCommand(topic: string): {deviceId: string; featureId: string; attribute: string | null} | null {
        if (!topic.startsWith(`${this.base}/`) || !topic.endsWith('/set')) return null;
        const parts = topic.slice(this.base.length + 1, -'/set'.length).split('/');
        if (parts.length === 2) return {deviceId: parts[0]!, featureId: parts[1]!, attribute: null};
        if (parts.length === 3) return {deviceId: parts[0]!, featureId: parts[1]!, attribute: parts[2]!};
        return null;
    }

    discovery(deviceId: string): string {
        return `${this.discoveryPrefix}/device/${deviceId}/config`;
    }

    get discoveryFilter(): string {
        return `${this.discoveryPrefix}/device/+/config`;
    }

    deviceIdFromDiscovery(topic: string): string | null {
        const match = /^(.+)\/device\/([^/]+)\/config$/.exec(topic);
        return match && match[1] === this.discoveryPrefix ? match[2]! : null;
    }

    /** Unique across HA: includes the base topic so two fogbridge instances cannot collide. */
    uniqueId(deviceId: string, featureId: string): string {
        return `${this.identifier(deviceId)}_${featureId}`;
    }

    identifier(deviceId: string): string {
        return `${this.base.replace(/\//g, '_')}_${deviceId}`;
    }
}
