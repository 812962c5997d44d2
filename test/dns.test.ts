import {spawnSync} from 'node:child_process';

import {describe, expect, it} from 'vitest';

import {type FamilyRedirects, renderRedirects} from '../src/dns.js';

const ENTRIES: FamilyRedirects[] = [
    {family: 'wildcard', redirects: {names: [{domain: 'vendor.example', hosts: ['a.vendor.example', 'b.vendor.example']}], fixedAddresses: []}},
    {
        family: 'exact',
        redirects: {
            names: [{hosts: ['broker.lan']}],
            fixedAddresses: [
                {address: '203.0.113.7', port: 'tcp/80', to: 'bridge', why: 'asked directly'},
                {address: '203.0.113.53', port: 'udp/53', to: 'dns', why: 'a built-in DNS server'},
            ],
        },
    },
];

function lines(text: string, comment = '#'): string[] {
    return text.split('\n').filter((line) => line && !line.startsWith(comment));
}

describe('DNS redirects', () => {
    it('renders each DNS server\'s syntax: subdomains where it can, exact names where not', () => {
        expect(lines(renderRedirects('dnsmasq', '192.168.1.2', ENTRIES))).toEqual(['address=/vendor.example/192.168.1.2', 'host-record=broker.lan,192.168.1.2']);
        expect(lines(renderRedirects('pihole', '192.168.1.2', ENTRIES))).toEqual(['address=/vendor.example/192.168.1.2', 'host-record=broker.lan,192.168.1.2']);
        expect(lines(renderRedirects('adguard', '192.168.1.2', ENTRIES), '!')).toEqual(['||vendor.example^$dnsrewrite=192.168.1.2', '|broker.lan^$dnsrewrite=192.168.1.2']);
        expect(lines(renderRedirects('hosts', '192.168.1.2', ENTRIES))).toEqual(['192.168.1.2 a.vendor.example', '192.168.1.2 b.vendor.example', '192.168.1.2 broker.lan']);
    });

    it('lists the NAT rules for devices that ignore DNS, to the bridge or to the user\'s DNS server', () => {
        const text = renderRedirects('dnsmasq', '192.168.1.2', ENTRIES);
        expect(text).toContain('#   exact: 203.0.113.7 tcp/80 -> 192.168.1.2 (asked directly)');
        expect(text).toContain('#   exact: 203.0.113.53 udp/53 -> your DNS server (a built-in DNS server)');
        expect(renderRedirects('pihole', '192.168.1.2', ENTRIES)).toMatch(/misc\.etc_dnsmasq_d/);
    });

    it('fogbridge dns prints the redirects of the families, with the address given', () => {
        const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'dns', ...args], {encoding: 'utf8'});
        const all = run('--format', 'dnsmasq', '--address', '10.0.0.5');
        expect(all.status).toBe(0);
        expect(all.stdout).toContain('address=/yunext.com/10.0.0.5');
        expect(all.stdout).toContain('address=/ot.io.mi.com/10.0.0.5');
        expect(all.stdout).toContain('host-record=fogbridge.local,10.0.0.5');
        expect(all.stdout).toMatch(/110\.43\.0\.83 tcp\/80 -> 10\.0\.0\.5/);
        const icomen = run('--format', 'hosts', '--family', 'icomen', '--address', '10.0.0.5');
        expect(icomen.stdout).toContain('10.0.0.5 smart2connect.yunext.com');
        expect(icomen.stdout).not.toContain('mi.com');
        const bad = run('--address', 'fogbridge.lan');
        expect(bad.status).toBe(2);
        expect(bad.stderr).toMatch(/--address must be an IPv4 address/);
        expect(run('--family', 'nobody', '--address', '10.0.0.5').stderr).toMatch(/unknown family "nobody"/);
    });
});
