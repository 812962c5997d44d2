/**
 * Who a RainMaker node is and what it may touch (rainmaker.md §5.2, performance.md §5.2).
 *
 * Node's TLS has already verified the client certificate against our CA; here the identity is
 * its subject CN, which must equal the CONNECT client id, and each node is fenced into its own
 * `node/<id>/…` namespace (both topic forms).
 */

import {TLSSocket} from 'node:tls';

import type {AuthErrorCode, Client} from 'aedes';

import type {BrokerHooks} from '../../edge/broker/broker.js';
import {socketOf} from '../../edge/broker/framing-guard.js';
import type {Logger} from '../../util/logger.js';
import {clip} from './node-config.js';
import {mayPublish, maySubscribe, parseNodeTopic} from './topics.js';

/** CONNACK 0x05. */
const NOT_AUTHORIZED = 5 as AuthErrorCode;

export interface AuthOptions {
    log: Logger;
    /** Told about every refusal of a known client id, so the device's link health can count it. */
    onRefusal?: (nodeId: string, reason: string) => void;
}

/** The subject CN of a verified client certificate on an aedes connection, or why there is none. */
export function certificateIdentity(client: Client): {nodeId: string} | {error: string} {
    const socket = socketOf(client.conn as never);
    if (!(socket instanceof TLSSocket)) return {error: 'not a TLS connection'};
    if (!socket.authorized) return {error: `client certificate not verified (${String(socket.authorizationError ?? 'none presented')})`};
    const cert = socket.getPeerCertificate();
    const commonName = cert?.subject?.CN;
    // A certificate with several CNs has no single identity.
    if (typeof commonName !== 'string' || commonName.length === 0) return {error: 'the client certificate has no single common name'};
    return {nodeId: commonName};
}

export function rainmakerHooks(options: AuthOptions): BrokerHooks {
    const {log} = options;
    /** Node id per authenticated client: the ACL never trusts anything but the certificate. */
    const identities = new WeakMap<Client, string>();
    const refuse = (nodeId: string, reason: string): void => {
        log.limited('warn', `acl:${nodeId}:${reason.slice(0, 20)}`, `node ${nodeId}: ${reason}`);
        options.onRefusal?.(nodeId, reason);
    };

    return {
        authenticate(client, _username, _password, done) {
            // The username is an AWS telemetry string and there is no password (rainmaker.md §2).
            const identity = certificateIdentity(client);
            if ('error' in identity) {
                log.limited('warn', `auth:${clip(client.id, 24)}`, `client "${clip(client.id)}" refused: ${identity.error}`);
                done(Object.assign(new Error(identity.error), {returnCode: NOT_AUTHORIZED}), false);
                return;
            }
            if (identity.nodeId !== client.id) {
                const reason = `client id "${clip(client.id)}" does not match its certificate CN "${clip(identity.nodeId)}"`;
                refuse(identity.nodeId, `CONNECT refused: ${reason}`);
                done(Object.assign(new Error(reason), {returnCode: NOT_AUTHORIZED}), false);
                return;
            }
            identities.set(client, identity.nodeId);
            done(null, true);
        },

        authorizePublish(client, packet, callback) {
            // aedes publishes an orphaned will with no client: nobody vouches for it.
            const nodeId = client ? identities.get(client) : undefined;
            if (!nodeId) {
                log.limited('warn', 'acl:unauthenticated', `publish to "${clip(packet.topic, 80)}" refused: no authenticated node`);
                callback(new Error('publish without an authenticated node'));
                return;
            }
            if (mayPublish(nodeId, packet.topic)) {
                callback(null);
                return;
            }
            // An error disconnects the client: right for a node writing into another's namespace.
            const reason = `publish to "${clip(packet.topic, 80)}" refused: outside node/${nodeId}/`;
            refuse(nodeId, reason);
            callback(new Error(reason));
        },

        authorizeSubscribe(client, subscription, callback) {
            const nodeId = identities.get(client);
            if (nodeId && maySubscribe(nodeId, subscription.topic)) {
                callback(null, subscription);
                return;
            }
            const reason = `subscription to "${clip(subscription.topic, 80)}" refused (SUBACK 0x80)`;
            // aedes can hand over a SUBSCRIBE that arrived before CONNACK: no identity yet, no trust.
            if (nodeId) refuse(nodeId, reason);
            else log.limited('warn', 'acl:unauthenticated', `unauthenticated client: ${reason}`);
            callback(null, null);
        },

        authorizeForward(client, packet) {
            // Subscriptions are already fenced; this keeps a future broker-side publish from leaking.
            const nodeId = identities.get(client);
            const target = parseNodeTopic(packet.topic);
            if (nodeId && ((target && target.nodeId === nodeId) || packet.topic.startsWith(`$aws/things/${nodeId}/`))) return packet;
            return null;
        },
    };
}
