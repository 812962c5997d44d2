/**
 * The DNS redirects that point devices at the bridge, per family and in the syntax of the DNS
 * server the user runs: `fogbridge dns` prints them, the web UI's onboarding page shows them, with
 * the values the families ask the user to enter elsewhere (their onboarding notes).
 */
import {networkInterfaces} from 'node:os';

import {type CoreSettings, settingsSection} from './config/schema.js';
import type {EdgePorts} from './edge/index.js';
import type {CloudRedirects, FamilyModule} from './families/family.js';
import type {Onboarding} from './web/context.js';

export const DNS_FORMATS = ['dnsmasq', 'adguard', 'pihole', 'hosts'] as const;
export type DnsFormat = (typeof DNS_FORMATS)[number];

export interface FamilyRedirects {
    family: string;
    redirects: CloudRedirects;
}

/** The redirects of every enabled family that has any (or of `only`). */
export function familyRedirects(settings: CoreSettings & Record<string, unknown>, families: readonly FamilyModule[], only?: string): FamilyRedirects[] {
    return families
        .filter((family) => (only ? family.id === only : family.enabled(settingsSection(settings, family.id))))
        .flatMap((family) => (family.redirects ? [{family: family.id, redirects: family.redirects(settingsSection(settings, family.id))}] : []));
}

/**
 * What the web UI's onboarding page offers: the same redirects as `fogbridge dns`, and the families'
 * onboarding notes with the ports the edge has bound (`ports`, read at each request).
 */
export function dnsOnboarding(settings: CoreSettings & Record<string, unknown>, families: readonly FamilyModule[], ports: EdgePorts): Onboarding {
    return {
        address: guessLanAddress(),
        families: families.filter((family) => family.redirects || family.onboardingNotes).map((family) => family.id),
        formats: DNS_FORMATS,
        redirects: (format, address, family) => renderRedirects(format as DnsFormat, address, familyRedirects(settings, families, family)),
        notes: (address, only) =>
            families
                .filter((family) => (only ? family.id === only : family.enabled(settingsSection(settings, family.id))))
                .flatMap((family) => (family.onboardingNotes?.(settingsSection(settings, family.id), {ports, address}) ?? []).map((note) => ({family: family.id, ...note}))),
    };
}

/** This machine's first LAN IPv4 address: what devices must reach, unless the user says otherwise. */
export function guessLanAddress(): string | null {
    for (const addresses of Object.values(networkInterfaces())) {
        for (const address of addresses ?? []) if (address.family === 'IPv4' && !address.internal) return address.address;
    }
    return null;
}

export function renderRedirects(format: DnsFormat, address: string, entries: readonly FamilyRedirects[]): string {
    // AdGuard's rules take `!` for comments; the others `#`.
    const comment = format === 'adguard' ? '!' : '#';
    const lines = [`${comment} fogbridge: answer these names with ${address}. ${WHERE[format]}`];
    for (const {family, redirects} of entries) {
        if (!redirects.names.length) continue;
        lines.push(`${comment} ${family}`);
        for (const name of redirects.names) lines.push(...NAME_LINES[format](name, address));
    }
    const fixed = entries.flatMap(({family, redirects}) => redirects.fixedAddresses.map((entry) => ({family, ...entry})));
    if (fixed.length) {
        lines.push(comment, `${comment} Devices that do not ask your DNS server: add these NAT (DNAT) rules on your router.`);
        for (const entry of fixed) {
            const target = entry.to === 'bridge' ? address : 'your DNS server';
            lines.push(`${comment}   ${entry.family}: ${entry.address} ${entry.port} -> ${target} (${entry.why})`);
        }
    }
    return `${lines.join('\n')}\n`;
}

const WHERE: Record<DnsFormat, string> = {
    dnsmasq: 'Add to dnsmasq.conf, or a file in /etc/dnsmasq.d/.',
    adguard: 'AdGuard Home: Filters > Custom filtering rules.',
    pihole:
        'Pi-hole v6: Settings > All settings > Miscellaneous > misc.dnsmasq_lines, one line each (v6 reads /etc/dnsmasq.d/ only with misc.etc_dnsmasq_d enabled, and Local DNS Records cannot cover subdomains).',
    hosts: 'Lines for /etc/hosts: no wildcards, so only the names known.',
};

type Name = CloudRedirects['names'][number];

const NAME_LINES: Record<DnsFormat, (name: Name, address: string) => string[]> = {
    dnsmasq: dnsmasqLines,
    pihole: dnsmasqLines,
    adguard: (name, address) =>
        name.domain ? [`||${name.domain}^$dnsrewrite=${address}`] : name.hosts.map((host) => `|${host}^$dnsrewrite=${address}`),
    hosts: (name, address) => name.hosts.map((host) => `${address} ${host}`),
};

/** `address=/d/` covers d and every subdomain; `host-record` only the exact name. */
function dnsmasqLines(name: Name, address: string): string[] {
    return name.domain ? [`address=/${name.domain}/${address}`] : name.hosts.map((host) => `host-record=${host},${address}`);
}
