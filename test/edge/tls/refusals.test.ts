import {describe, expect, it} from 'vitest';

import {describeTlsError} from '../../../src/edge/tls/server-sockets.js';
import {TlsRefusals, classifyCertificateProblem, classifyHandshakeError, clientCertificateRefusal} from '../../../src/edge/tls/refusals.js';

function opensslError(code: string): Error {
    return Object.assign(new Error(`error:0A000418:SSL routines::${code.toLowerCase()}`), {code});
}

describe('TLS refusals', () => {
    it('keeps one entry per peer and reason, counting repeats, newest first', () => {
        let now = 1000;
        const refusals = new TlsRefusals(10, () => now);
        refusals.record('10.0.0.5', 'mqtt-tls:8883', 'no-client-certificate', 'no client certificate');
        now = 2000;
        refusals.record('10.0.0.6', 'tls:443', 'unknown-ca', 'tlsv1 alert unknown ca');
        now = 3000;
        refusals.record('10.0.0.5', 'rainmaker-mqtt', 'no-client-certificate', 'no client certificate');
        expect(refusals.list()).toEqual([
            {peer: '10.0.0.5', listener: 'rainmaker-mqtt', reason: 'no-client-certificate', detail: 'no client certificate', count: 2, firstAt: 1000, lastAt: 3000},
            {peer: '10.0.0.6', listener: 'tls:443', reason: 'unknown-ca', detail: 'tlsv1 alert unknown ca', count: 1, firstAt: 2000, lastAt: 2000},
        ]);
        expect(refusals.version).toBe(3);
    });

    it('a second reason from the same peer is a second entry', () => {
        const refusals = new TlsRefusals();
        refusals.record('10.0.0.5', 'tls:443', 'no-alpn', 'no application protocol');
        refusals.record('10.0.0.5', 'tls:443', 'no-sni', 'no route for ALPN none, SNI none');
        expect(refusals.list().map((refusal) => refusal.reason)).toEqual(['no-sni', 'no-alpn']);
    });

    it('holds at most its capacity, evicting the peer refused longest ago', () => {
        const refusals = new TlsRefusals(3);
        for (const peer of ['a', 'b', 'c']) refusals.record(peer, 'tls:443', 'other', 'x');
        refusals.record('a', 'tls:443', 'other', 'again');
        refusals.record('d', 'tls:443', 'other', 'x');
        expect(refusals.list().map((refusal) => refusal.peer)).toEqual(['d', 'a', 'c']);
        for (let index = 0; index < 1000; index++) refusals.record(`10.1.${index >> 8}.${index & 255}`, 'tls:443', 'other', 'x');
        expect(refusals.list()).toHaveLength(3);
    });

    it('classifies handshake errors: the client distrusts our CA, no protocol matched, anything else', () => {
        expect(classifyHandshakeError(opensslError('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA'))).toBe('unknown-ca');
        expect(classifyHandshakeError(opensslError('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE'))).toBe('unknown-ca');
        expect(classifyHandshakeError(opensslError('ERR_SSL_NO_APPLICATION_PROTOCOL'))).toBe('no-alpn');
        expect(classifyHandshakeError(Object.assign(new Error('socket hang up'), {code: 'ECONNRESET'}))).toBe('other');
        expect(classifyHandshakeError(new Error('no code at all'))).toBe('other');
    });

    it("says OpenSSL's reason, not the file and line it came from", () => {
        const alert = Object.assign(new Error('80EC287A637F0000:error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1605:SSL alert number 48'), {code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA'});
        expect(describeTlsError(alert)).toBe('tlsv1 alert unknown ca');
        expect(describeTlsError(opensslError('ERR_SSL_NO_APPLICATION_PROTOCOL'))).toBe('err_ssl_no_application_protocol');
        expect(describeTlsError(new Error('something else'))).toBe('something else');
        expect(describeTlsError(Object.assign(new Error('socket hang up'), {code: 'ECONNRESET'}))).toMatch(/^the client hung up during the handshake/);
    });

    it('classifies client certificates: none, not from our CA, refused for another reason', () => {
        expect(clientCertificateRefusal({getPeerCertificate: () => ({})})).toEqual({reason: 'no-client-certificate', detail: 'no client certificate'});
        expect(clientCertificateRefusal({getPeerCertificate: () => null})).toMatchObject({reason: 'no-client-certificate'});
        expect(clientCertificateRefusal({getPeerCertificate: () => ({subject: {CN: 'x'}}), authorizationError: 'UNABLE_TO_GET_ISSUER_CERT'})).toEqual({
            reason: 'unknown-ca',
            detail: 'client certificate not issued by our CA (UNABLE_TO_GET_ISSUER_CERT)',
        });
        expect(clientCertificateRefusal({getPeerCertificate: () => ({subject: {CN: 'x'}}), authorizationError: 'CERT_HAS_EXPIRED'})).toEqual({reason: 'other', detail: 'client certificate expired'});
        expect(classifyCertificateProblem('SELF_SIGNED_CERT_IN_CHAIN')).toBe('unknown-ca');
    });
});
