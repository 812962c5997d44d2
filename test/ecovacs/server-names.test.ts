/** The certificate's names cover every Ecovacs host a bot or app is known to ask for (a wildcard covers one label). */
import tls, {type PeerCertificate} from 'node:tls';

import {describe, expect, it} from 'vitest';

import {ECOVACS_CERTIFICATE_NAMES, ecovacsRedirects} from '../../src/families/ecovacs/server-names.js';

const certificate = {subject: {}, subjectaltname: ECOVACS_CERTIFICATE_NAMES.map((name) => `DNS:${name}`).join(', ')} as unknown as PeerCertificate;

describe('Ecovacs certificate names', () => {
    it('cover the hosts of ecovacs.md §1.1, the redirect list and the .cn names', () => {
        const hosts = [
            ...ecovacsRedirects().names.flatMap((entry) => entry.hosts),
            'mq.ecouser.net',
            'jmq-ngiot-eu.dc.robotww.ecouser.net',
            'api-app.ww.ecouser.net',
            'gl-us-api.ecovacs.com',
            'lb-de.ecovacs.net',
            'gl-cn-api.ecovacs.cn',
            'portal.ecouser.net',
        ];
        expect(hosts.filter((host) => tls.checkServerIdentity(host, certificate) !== undefined)).toEqual([]);
    });

    it('are unique', () => {
        expect(new Set(ECOVACS_CERTIFICATE_NAMES).size).toBe(ECOVACS_CERTIFICATE_NAMES.length);
    });
});
