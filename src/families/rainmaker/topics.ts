/**
 * RainMaker topic forms and the per-node access rules (rainmaker.md §3, §5.2).
 *
 * Default firmware publishes to AWS Basic-Ingest topics `$aws/rules/<rule>/node/<id>/<suffix>` and
 * subscribes to plain `node/<id>/<suffix>`; older or rebuilt firmware publishes the plain form.
 * Both are normalised to (node id, suffix) here and nowhere else.
 */

export interface NodeTopic {
    nodeId: string;
    /** What follows `node/<id>/`, e.g. `params/local/init`. */
    suffix: string;
    /** The Basic-Ingest rule name, or null for the plain form. */
    rule: string | null;
}

/** AWS rule names are letters, digits and underscores. */
const RULE = /^[A-Za-z0-9_]{1,128}$/;

/** A single topic level: no wildcards, no empty level. */
function isLevel(value: string | undefined): value is string {
    return value !== undefined && value.length > 0 && !value.includes('+') && !value.includes('#');
}

/**
 * A node id (certificate CN) that is one plain topic level. The ACL builds prefixes from it, so a
 * CN of `+` would otherwise grant `node/+/…`, every node's topics.
 */
function isNodeIdLevel(nodeId: string): boolean {
    return isLevel(nodeId) && !nodeId.includes('/');
}

/** Splits either topic form into (node id, suffix); null for anything else. */
export function parseNodeTopic(topic: string): NodeTopic | null {
    const levels = topic.split('/');
    let offset = 0;
    let rule: string | null = null;
    if (levels[0] === '$aws' && levels[1] === 'rules') {
        if (!levels[2] || !RULE.test(levels[2])) return null;
        rule = levels[2];
        offset = 3;
    }
    if (levels[offset] !== 'node' || !isLevel(levels[offset + 1])) return null;
    const suffixLevels = levels.slice(offset + 2);
    if (suffixLevels.length === 0 || suffixLevels.some((level) => level.length === 0)) return null;
    return {nodeId: levels[offset + 1]!, suffix: suffixLevels.join('/'), rule};
}

/** The plain topic the bridge publishes on (never retained, QoS 1). */
export function nodeTopic(nodeId: string, suffix: 'params/remote' | 'otaurl' | 'to-node'): string {
    return `node/${nodeId}/${suffix}`;
}

/**
 * Node N may publish under `node/N/…`, `$aws/rules/<rule>/node/N/…` and `$aws/things/N/…` (MQTT
 * OTA streams). These are never refused: aedes disconnects on a refused publish, and the node's
 * mapping and OTA state machines wait for the PUBACK (performance.md §5.2).
 */
export function mayPublish(nodeId: string, topic: string): boolean {
    if (!isNodeIdLevel(nodeId)) return false;
    const parsed = parseNodeTopic(topic);
    if (parsed) return parsed.nodeId === nodeId;
    return topic.startsWith(`$aws/things/${nodeId}/`) && topic.length > `$aws/things/${nodeId}/`.length;
}

/**
 * Node N may subscribe only inside its own namespace: wildcards are allowed after the
 * `node/N/` prefix (they cannot reach another node's topics), never in or before it. `#`,
 * `node/+/…` and other nodes' prefixes are refused with SUBACK 0x80.
 */
export function maySubscribe(nodeId: string, filter: string): boolean {
    if (!isNodeIdLevel(nodeId)) return false;
    for (const prefix of [`node/${nodeId}/`, `$aws/things/${nodeId}/`]) {
        if (filter.startsWith(prefix) && filter.length > prefix.length) return true;
    }
    const levels = filter.split('/');
    if (levels[0] === '$aws' && levels[1] === 'rules' && levels[2] && RULE.test(levels[2])) {
        return filter.startsWith(`$aws/rules/${levels[2]}/node/${nodeId}/`) && levels.length > 5;
    }
    return false;
}

/** Suffixes a node publishes (rainmaker.md §3), as the adapter routes them. */
export type NodeMessageKind =
    | 'config'
    | 'params/local/init'
    | 'params/local'
    | 'tsdata'
    | 'simple_tsdata'
    | 'alert'
    | 'user/mapping'
    | 'otafetch'
    | 'otastatus'
    | 'from-node'
    | 'other';

export function messageKind(suffix: string): NodeMessageKind {
    switch (suffix) {
        case 'config':
        case 'params/local/init':
        case 'params/local':
        case 'tsdata':
        case 'simple_tsdata':
        case 'alert':
        case 'user/mapping':
        case 'otafetch':
        case 'otastatus':
        case 'from-node':
            return suffix;
        // Firmware from 2021 names time series `params/ts_data` (rainmaker.md [FW21]).
        case 'params/ts_data':
            return 'tsdata';
        default:
            // `params/local/<group id>` carries the same report as `params/local`.
            return suffix.startsWith('params/local/') ? 'params/local' : 'other';
    }
}
