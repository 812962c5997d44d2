/**
 * Who a RainMaker node is and what it may touch (rainmaker.md §5.2, performance.md §5.2): the
 * family's broker policy on the device edge.
 *
 * Node's TLS has already judged the client certificate against our CA; here the identity is its
 * subject CN, which must equal the CONNECT client id, and each node is fenced into its own
 * `node/<id>/…` namespace (both topic forms).
 */

import {ALLOWED, type BrokerPolicy, type DeviceClient, type TlsRefusalReason, refused} from '../../edge/index.js';
import {clip} from '../../util/clip.js';
import type {Logger} from '../../util/logger.js';
import {NODE_ID} from './claim.js';
import {mayPublish, maySubscribe, parseNodeTopic} from './topics.js';

export interface PolicyOptions {
    log: Logger;
    /** The TLS route on the shared port whose clients are RainMaker nodes by their ALPN. */
    route: string;
    maxPacketBytes: number;
    keepaliveLimitSeconds: number;
    /** Told about every refusal of a known client id, so the device's link health can count it. */
    onRefusal?: (nodeId: string, reason: string) => void;
    /** Told about every client refused for its certificate, which reads as a refused handshake. */
    onTlsRefusal?: (client: DeviceClient, reason: TlsRefusalReason, detail: string) => void;
}

export function rainmakerPolicy(options: PolicyOptions): BrokerPolicy {
    const {log} = options;
    const refuse = (nodeId: string, reason: string): void => {
        log.limited('warn', `acl:${nodeId}:${reason.slice(0, 20)}`, `node ${nodeId}: ${reason}`);
        options.onRefusal?.(nodeId, reason);
    };
    /** The certificate was judged in the handshake: its refusal reads as the handshake's. */
    const refuseHandshake = (client: DeviceClient, reason: TlsRefusalReason, problem: string): ReturnType<BrokerPolicy['authenticate']> => {
        log.limited('warn', `${client.listener}:tls:${client.address}`, `${client.listener} TLS handshake from ${client.address} refused: ${problem}`);
        options.onTlsRefusal?.(client, reason, problem);
        return refused(problem);
    };

    return {
        maxPacketBytes: options.maxPacketBytes,
        keepaliveLimitSeconds: options.keepaliveLimitSeconds,

        // A certificate (ours or not) or our ALPN route makes a node; a node-shaped id without a
        // certificate is most likely a node missing its own, unless another family knows it.
        claims: (client) => client.listener === options.route || client.certificate !== null || (NODE_ID.test(client.id) ? 'fallback' : false),

        authenticate(client) {
            // The username is an AWS telemetry string and there is no password (rainmaker.md §2).
            const certificate = client.certificate;
            if (!certificate) return refuseHandshake(client, 'no-client-certificate', 'no client certificate');
            if (!certificate.authorized) return refuseHandshake(client, certificate.refusal ?? 'other', certificate.problem ?? 'client certificate not verified');
            if (certificate.commonName === null) {
                log.limited('warn', `auth:${clip(client.id, 24)}`, `client "${clip(client.id)}" refused: the client certificate has no single common name`);
                return refused('the client certificate has no single common name');
            }
            if (certificate.commonName !== client.id) {
                const reason = `client id "${clip(client.id)}" does not match its certificate CN "${clip(certificate.commonName)}"`;
                refuse(certificate.commonName, `CONNECT refused: ${reason}`);
                return refused(reason);
            }
            return ALLOWED;
        },

        // After authentication the client id is the certificate CN: the node id.
        authorizePublish(client, topic) {
            if (mayPublish(client.id, topic)) return ALLOWED;
            // A refusal disconnects the client: right for a node writing into another's namespace.
            const reason = `publish to "${clip(topic, 80)}" refused: outside node/${client.id}/`;
            refuse(client.id, reason);
            return refused(reason);
        },

        authorizeSubscribe(client, topic) {
            if (maySubscribe(client.id, topic)) return true;
            refuse(client.id, `subscription to "${clip(topic, 80)}" refused (SUBACK 0x80)`);
            return false;
        },

        // Subscriptions are already fenced; this keeps a future broker-side publish from leaking.
        authorizeForward(client, topic) {
            const target = parseNodeTopic(topic);
            return (target !== null && target.nodeId === client.id) || topic.startsWith(`$aws/things/${client.id}/`);
        },
    };
}
