/**
 * What a family tells the device broker about its clients: which ones are its own, how they
 * authenticate and which topics each may touch. The broker asks, the policy answers; the policy
 * logs its own refusals, in its own words.
 */

import type {Socket} from 'node:net';

import type {TlsRefusalReason} from '../tls/refusals.js';

/** The client certificate a device presented in the TLS handshake, as Node's TLS judged it. */
export interface ClientCertificate {
    /** It chains to our CA and is valid. */
    authorized: boolean;
    /** Why it is not authorized, in words (e.g. `not issued by our CA (…)`), or null. */
    problem: string | null;
    /** The kind of refusal a failed verification is (not issued by our CA, or something else), or null. */
    refusal: TlsRefusalReason | null;
    /** The subject CN when the certificate has exactly one. */
    commonName: string | null;
}

/** A device's MQTT connection as a policy sees it. */
export interface DeviceClient {
    /** The CONNECT client id. */
    readonly id: string;
    readonly username: string | null;
    /** Where it came in: `mqtt-tls` (the device MQTT port) or the name of the TLS route that handed it over. */
    readonly listener: string;
    /** The remote address, and address:port for log lines. */
    readonly address: string;
    readonly peer: string;
    /** The certificate it presented, or null (none, or not TLS). */
    readonly certificate: ClientCertificate | null;
}

export type Decision = {allowed: true} | {allowed: false; reason: string};

export const ALLOWED: Decision = Object.freeze({allowed: true});

export function refused(reason: string): Decision {
    return {allowed: false, reason};
}

export interface BrokerPolicy {
    /**
     * Is this client ours? Asked at CONNECT, policy by policy in registration order: the first
     * `true` owns the client; failing that, the first `'fallback'` (a client that looks like ours
     * but lacks what would make it certain, so that its refusal comes in the family's words).
     */
    claims(client: DeviceClient): boolean | 'fallback';
    /** May the client it claimed connect? A refusal answers CONNACK 5 (not authorized). */
    authenticate(client: DeviceClient, password: Buffer | null): Decision | Promise<Decision>;
    /** A refusal disconnects the client: aedes has no other answer to a refused publish in MQTT 3.1.1. */
    authorizePublish(client: DeviceClient, topic: string): Decision;
    /** A refusal answers SUBACK 0x80 and keeps the client connected. */
    authorizeSubscribe(client: DeviceClient, topic: string): boolean;
    /** A last check before a message from this family reaches the client; default yes. */
    authorizeForward?(client: DeviceClient, topic: string): boolean;
    /** Largest packet after CONNACK; default `edge.maxPacketBytes`. */
    maxPacketBytes?: number;
    /** Longest keepalive the family's clients get; default `edge.keepaliveLimitSeconds`. */
    keepaliveLimitSeconds?: number;
}

/** A family's clients as the broker reports them: only its own, only while it is registered. */
export interface FamilyBroker {
    onConnect(handler: (client: DeviceClient) => void): void;
    /** Not called for a session that a newer one with the same client id took over. */
    onDisconnect(handler: (client: DeviceClient) => void): void;
    /**
     * Subscriptions the policy granted, once they are in place: a message published from now on
     * reaches the client (unlike at `onConnect`, which comes before the client could subscribe).
     */
    onSubscribe(handler: (client: DeviceClient, topics: string[]) => void): void;
    /** Publishes the policy allowed, from this family's clients. */
    onPublish(handler: (client: DeviceClient, topic: string, payload: Buffer) => void): void;
    isConnected(clientId: string): boolean;
    /**
     * Publishes on behalf of one of this family's connected clients' sessions: only this family's
     * clients subscribed to `topic` receive it. Never retained.
     */
    publish(clientId: string, topic: string, payload: Buffer | string, options?: {qos?: 0 | 1}): Promise<void>;
    /**
     * Publishes as the family itself, for a party that lives in the bridge rather than on a
     * socket (Ecovacs' helper bot relaying app commands to bots): only this family's clients
     * subscribed to `topic` receive it, and the family's own `onPublish` does not see it. Never retained.
     */
    publishAsFamily(topic: string, payload: Buffer | string, options?: {qos?: 0 | 1}): Promise<void>;
    /** Hands over a socket a TLS route accepted, as a connection from the listener named `listener`. */
    attach(socket: Socket, listener: string): void;
    /** Disconnects the family's clients and removes its policy. */
    unregister(): Promise<void>;
}
