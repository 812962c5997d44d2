import {ALLOWED, type BrokerPolicy, refused} from '../../edge/index.js';
import {clip} from '../../util/clip.js';
import type {Logger} from '../../util/logger.js';
import {MESSAGE_LIMITS} from './codec.js';
import {parseClientId} from './topics.js';

/** Every Ecovacs topic (p2p, atr, cfg, ota, …) lives under this prefix. */
const ECOVACS_TOPIC_PREFIX = 'iot/';
/** A message at the codec's limit, plus room for its topic and the MQTT header. */
const MAX_PACKET_BYTES = MESSAGE_LIMITS.maxBytes + 1024;

/**
 * Ecovacs clients on the device broker (ecovacs.md §2.5, §8.6): bots (`did@class/resource`) and
 * apps (`uid@ecouser/resource`), with any user name and password (the bots' passwords are opaque
 * and the real cloud's accounts are not ours to check), and no ACLs between them: apps read the
 * bots' broadcasts and each other's requests. Only topics outside Ecovacs' own are refused.
 */
export function ecovacsPolicy(log: Logger): BrokerPolicy {
    return {
        claims: (client) => parseClientId(client.id) !== null,
        authenticate: () => ALLOWED,
        authorizePublish: (client, topic) => {
            if (topic.startsWith(ECOVACS_TOPIC_PREFIX)) return ALLOWED;
            const reason = `publish to "${clip(topic, 80)}" refused: not an Ecovacs topic`;
            log.limited('warn', `acl:${client.address}`, `${clip(client.id)} from ${client.peer}: ${reason}; disconnected`);
            return refused(reason);
        },
        authorizeSubscribe: (client, topic) => {
            if (topic.startsWith(ECOVACS_TOPIC_PREFIX)) return true;
            log.limited('warn', `acl:${client.address}`, `${clip(client.id)} from ${client.peer}: subscription to "${clip(topic, 80)}" refused: not an Ecovacs topic`);
            return false;
        },
        maxPacketBytes: MAX_PACKET_BYTES,
    };
}
