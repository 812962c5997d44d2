/**
 * Recent TLS refusals of device-facing listeners, and why, for the web UI's "problems first": a
 * device that cannot even finish its handshake never becomes a device the registry knows.
 *
 * Memory is bounded: one entry per peer address and reason (a device retrying every few seconds
 * only raises its count), at most `capacity` entries, the least recently refused evicted first.
 */

export const TLS_REFUSAL_REASONS = ['unknown-ca', 'no-sni', 'no-alpn', 'no-client-certificate', 'other'] as const;

/**
 * - `unknown-ca`: the client does not trust our certificate (it has not got our CA), or the
 *   certificate it presented is not from our CA;
 * - `no-sni`, `no-alpn`: the client named no server, or no protocol, that a route serves;
 * - `no-client-certificate`: a route that needs one got none.
 */
export type TlsRefusalReason = (typeof TLS_REFUSAL_REASONS)[number];

export interface TlsRefusal {
    /** The peer's address (no port: a device reconnects from a new one each time). */
    peer: string;
    /** The listener or route it came to, e.g. `mqtt-tls:8883`, `rainmaker-mqtt`. */
    listener: string;
    reason: TlsRefusalReason;
    /** The latest refusal's words, for whoever needs more than the reason. */
    detail: string;
    count: number;
    firstAt: number;
    lastAt: number;
}

export const DEFAULT_REFUSAL_CAPACITY = 300;

export class TlsRefusals {
    /** Insertion order is refusal order: a repeated refusal moves its entry to the end. */
    private readonly entries = new Map<string, TlsRefusal>();
    private changes = 0;

    constructor(
        private readonly capacity = DEFAULT_REFUSAL_CAPACITY,
        private readonly now: () => number = Date.now,
    ) {}

    record(peer: string, listener: string, reason: TlsRefusalReason, detail: string): void {
        const key = `${reason}|${peer}`;
        const time = this.now();
        const existing = this.entries.get(key);
        this.entries.delete(key);
        this.entries.set(key, existing ? {...existing, listener, detail, count: existing.count + 1, lastAt: time} : {peer, listener, reason, detail, count: 1, firstAt: time, lastAt: time});
        if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
        this.changes++;
    }

    /** Newest first. */
    list(): TlsRefusal[] {
        return [...this.entries.values()].reverse();
    }

    /** Grows with every refusal: whoever pushes the list on elsewhere pushes it only when it moved. */
    get version(): number {
        return this.changes;
    }
}

/** OpenSSL's alerts from a client that refused our certificate chain. */
const CLIENT_DISTRUSTS_US = new Set(['ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN', 'ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE']);

/** Why a handshake failed, from the error Node reports on the server (`tlsClientError`). */
export function classifyHandshakeError(error: Error): TlsRefusalReason {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (CLIENT_DISTRUSTS_US.has(code)) return 'unknown-ca';
    // Our ALPN callback found no route for what the client offered.
    if (code === 'ERR_SSL_NO_APPLICATION_PROTOCOL') return 'no-alpn';
    return 'other';
}

/** OpenSSL's verification codes for a chain that does not lead to our CA. */
const FOREIGN_ISSUER = new Set([
    'UNABLE_TO_GET_ISSUER_CERT',
    'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'SELF_SIGNED_CERT_IN_CHAIN',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'CERT_SIGNATURE_FAILURE',
]);

/** Why a client certificate was refused, from OpenSSL's verification code (`socket.authorizationError`). */
export function classifyCertificateProblem(code: string): TlsRefusalReason {
    return FOREIGN_ISSUER.has(code) ? 'unknown-ca' : 'other';
}

/** OpenSSL's verification code in words a user can act on. */
export function describeCertificateProblem(code: string): string {
    if (FOREIGN_ISSUER.has(code)) return `client certificate not issued by our CA (${code})`;
    if (code === 'CERT_HAS_EXPIRED') return 'client certificate expired';
    if (code === 'CERT_NOT_YET_VALID') return 'client certificate not yet valid';
    return `client certificate refused (${code})`;
}

/** A TLS socket's client certificate as a refusal: none at all, or one that does not verify. */
export function clientCertificateRefusal(socket: {authorizationError?: Error | string | null; getPeerCertificate(): object | null}): {reason: TlsRefusalReason; detail: string} {
    const certificate = socket.getPeerCertificate();
    if (!certificate || Object.keys(certificate).length === 0) return {reason: 'no-client-certificate', detail: 'no client certificate'};
    const code = String(socket.authorizationError ?? 'unverified');
    return {reason: classifyCertificateProblem(code), detail: describeCertificateProblem(code)};
}
