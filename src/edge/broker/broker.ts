/**
 * The embedded aedes broker, configured rather than defaulted (performance.md §5.3, finding 10).
 *
 * Both the Home Assistant side's embedded broker and the device-facing listeners build on this.
 * Family policy (who may publish or subscribe what) arrives as hooks; this module adds the checks
 * every instance needs, runs them first, and makes sure no hook can crash the process or turn a
 * denied subscription into a disconnect.
 */

import {Aedes} from 'aedes';
import type {AedesOptions, AuthenticateError, AuthErrorCode, Client, ConnectPacket, Subscription} from 'aedes';
import aedesPersistence from 'aedes-persistence';

import {createLogger} from '../../util/logger.js';

type PreConnectHook = NonNullable<AedesOptions['preConnect']>;
type AuthenticateHook = NonNullable<AedesOptions['authenticate']>;
type AuthorizePublishHook = NonNullable<AedesOptions['authorizePublish']>;
type AuthorizeSubscribeHook = NonNullable<AedesOptions['authorizeSubscribe']>;
type AuthorizeForwardHook = NonNullable<AedesOptions['authorizeForward']>;
type PublishedHook = NonNullable<AedesOptions['published']>;

/** aedes hook signatures (docs/Aedes.md). A hook that throws is treated as a refusal. */
export interface BrokerHooks {
    preConnect?: PreConnectHook;
    authenticate?: AuthenticateHook;
    authorizePublish?: AuthorizePublishHook;
    /** Deny with `callback(null, null)` (SUBACK 0x80); an error is turned into the same. */
    authorizeSubscribe?: AuthorizeSubscribeHook;
    authorizeForward?: AuthorizeForwardHook;
    published?: PublishedHook;
}

export interface BrokerOptions {
    hooks?: BrokerHooks;
    /** Longest keepalive a client may ask for, in seconds; aedes refuses 0 and anything longer. */
    keepaliveLimit?: number;
    id?: string;
    /** Longest client id, in UTF-8 bytes. */
    maxClientIdBytes?: number;
}

export const DEFAULT_KEEPALIVE_LIMIT_SECONDS = 300;
export const DEFAULT_MAX_CLIENT_ID_BYTES = 128;

/** [MQTT-3.2.2-3] CONNACK return code 0x02. */
const IDENTIFIER_REJECTED = 2 as AuthErrorCode;
const SYS_PREFIX = '$SYS/';

const log = createLogger('broker');

/**
 * aedes-persistence is CommonJS (`module.exports = factory`) while its types declare an ES default
 * export, so TypeScript sees the factory one level deeper than Node puts it.
 */
const createMemoryPersistence = aedesPersistence as unknown as typeof aedesPersistence.default;

/**
 * Settings from performance.md §5.3: deep topics would otherwise reach qlobber's limit of 100,
 * a QoS 2 flood fills the inbound store, and one frozen subscriber holds `concurrency` slots for
 * the default 60 s.
 */
const HARDENED_SETTINGS = {
    maxTopicLevels: 16,
    maxInflightInbound: 100,
    drainTimeout: 10_000,
    connectTimeout: 10_000,
} as const satisfies AedesOptions;

export async function createBroker(options: BrokerOptions = {}): Promise<Aedes> {
    const hooks = options.hooks ?? {};
    const maxClientIdBytes = options.maxClientIdBytes ?? DEFAULT_MAX_CLIENT_ID_BYTES;
    /**
     * preConnect sees the CONNECT packet but can only drop the socket; authenticate can answer with
     * a CONNACK return code but no longer sees the raw client id (aedes has already replaced an
     * empty one). So preConnect decides and authenticate delivers the CONNACK 0x02.
     */
    const identifierRefusals = new WeakMap<Client, string>();

    const keepaliveLimit = options.keepaliveLimit ?? DEFAULT_KEEPALIVE_LIMIT_SECONDS;
    const preConnect: PreConnectHook = (client, packet, callback) => {
        // aedes would refuse keepalive 0 or one above the limit with CONNACK 6, a code MQTT 3.1.1
        // reserves; accepting and clamping still reaps a silent client after 1.5 × the limit.
        if (keepaliveLimit > 0 && (!packet.keepalive || packet.keepalive > keepaliveLimit)) packet.keepalive = keepaliveLimit;
        const refusal = clientIdRefusal(packet, maxClientIdBytes);
        if (refusal) {
            identifierRefusals.set(client, refusal);
            callback(null, true);
            return;
        }
        if (!hooks.preConnect) {
            callback(null, true);
            return;
        }
        callSafely('preConnect', () => hooks.preConnect!(client, packet, callback), (error) => callback(error, false));
    };

    const authenticate: AuthenticateHook = (client, username, password, callback) => {
        const refusal = identifierRefusals.get(client);
        if (refusal) {
            identifierRefusals.delete(client);
            callback(Object.assign(new Error(refusal), {returnCode: IDENTIFIER_REJECTED}), null);
            return;
        }
        if (!hooks.authenticate) {
            callback(null, true);
            return;
        }
        callSafely('authenticate', () => hooks.authenticate!(client, username, password, callback), (error) =>
            callback(error as AuthenticateError, null),
        );
    };

    // aedes' own default, which any custom authorizePublish would otherwise replace.
    const authorizePublish: AuthorizePublishHook = (client, packet, callback) => {
        if (packet.topic.startsWith(SYS_PREFIX)) {
            callback(new Error(`${SYS_PREFIX} topics are reserved for the broker`));
            return;
        }
        if (!hooks.authorizePublish) {
            callback(null);
            return;
        }
        callSafely('authorizePublish', () => hooks.authorizePublish!(client, packet, callback), callback);
    };

    const authorizeSubscribe: AuthorizeSubscribeHook = (client, subscription, callback) => {
        if (!hooks.authorizeSubscribe) {
            callback(null, subscription);
            return;
        }
        // An error here would disconnect the client; MQTT 3.1.1 §3.9.3 wants 0x80 in the SUBACK.
        const grantOrRefuse = (error: Error | null, granted?: Subscription | null): void => {
            callback(null, error ? null : granted);
        };
        callSafely('authorizeSubscribe', () => hooks.authorizeSubscribe!(client, subscription, grantOrRefuse), () => callback(null, null));
    };

    const authorizeForward: AuthorizeForwardHook | undefined = hooks.authorizeForward
        ? (client, packet) => {
              try {
                  return hooks.authorizeForward!(client, packet);
              } catch (error) {
                  logHookFailure('authorizeForward', error);
                  return null;
              }
          }
        : undefined;

    const published: PublishedHook | undefined = hooks.published
        ? (packet, client, callback) => callSafely('published', () => hooks.published!(packet, client, callback), () => callback(null))
        : undefined;

    return Aedes.createBroker({
        ...HARDENED_SETTINGS,
        ...(options.id === undefined ? {} : {id: options.id}),
        keepaliveLimit,
        // aedes applies this to MQTT 3.1 ("MQIsdp") only, where the spec says 23; our byte cap in
        // preConnect covers every version, so 3.1 clients get the same room as 3.1.1 ones.
        maxClientsIdLength: maxClientIdBytes,
        persistence: createMemoryPersistence(),
        preConnect,
        authenticate,
        authorizePublish,
        authorizeSubscribe,
        ...(authorizeForward ? {authorizeForward} : {}),
        ...(published ? {published} : {}),
    });
}

/** Why a CONNECT's client id must be refused with CONNACK 0x02, or null when it is acceptable. */
function clientIdRefusal(packet: ConnectPacket, maxClientIdBytes: number): string | null {
    const clientId = packet.clientId ?? '';
    // [MQTT-3.1.3-8]: an empty id is only allowed for a clean session, which has nothing to resume.
    if (clientId === '' && packet.clean === false) return 'empty client id with clean session off';
    const bytes = Buffer.byteLength(clientId, 'utf8');
    if (bytes > maxClientIdBytes) return `client id of ${bytes} bytes exceeds ${maxClientIdBytes}`;
    return null;
}

/** Runs a caller hook; a synchronous throw would otherwise escape through aedes' parser callback. */
function callSafely(hookName: string, run: () => void, refuse: (error: Error) => void): void {
    try {
        run();
    } catch (error) {
        logHookFailure(hookName, error);
        refuse(error instanceof Error ? error : new Error(String(error)));
    }
}

function logHookFailure(hookName: string, error: unknown): void {
    log.limited('error', `hook:${hookName}`, `${hookName} hook threw, treated as a refusal: ${error instanceof Error ? error.message : String(error)}`);
}
