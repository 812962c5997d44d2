import {randomBytes} from 'node:crypto';

/**
 * Small PEM and serial-number helpers shared by the CA and the issuers. No ASN.1 here: parsing is
 * left to Node's crypto and @peculiar/x509.
 */

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)\r?\n?-----END \1-----/g;

export interface PemBlock {
    label: string;
    /** The whole block, normalised to `\n` line ends and a final newline. */
    pem: string;
    der: Buffer;
}

/** Every well-formed PEM block in `text`, in order; anything between blocks is ignored. */
export function pemBlocks(text: string): PemBlock[] {
    const blocks: PemBlock[] = [];
    for (const match of text.matchAll(PEM_BLOCK)) {
        const label = match[1] ?? '';
        const body = (match[2] ?? '').replace(/\r?\n/g, '');
        const der = Buffer.from(body, 'base64');
        // Buffer.from silently skips junk; re-encoding must give the same text or the block was not base64.
        if (der.length === 0 || der.toString('base64') !== body) continue;
        blocks.push({label, pem: toPem(label, der), der});
    }
    return blocks;
}

export function toPem(label: string, der: Buffer): string {
    const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
    return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/**
 * A random positive 16-byte serial (RFC 5280 §4.1.2.2 allows up to 20 octets). The top bit is
 * cleared so the DER INTEGER stays positive and the first byte is never zero so it stays 16 bytes.
 */
export function randomSerialHex(): string {
    const bytes = randomBytes(16);
    bytes[0] = (bytes[0]! & 0x7f) || 0x01;
    return bytes.toString('hex');
}

/** notBefore one hour in the past, so a node or host whose clock runs a little behind still accepts it. */
export function backdatedNow(now = Date.now()): Date {
    return new Date(now - 60 * 60 * 1000);
}

export function addYears(date: Date, years: number): Date {
    const next = new Date(date.getTime());
    next.setUTCFullYear(next.getUTCFullYear() + years);
    return next;
}
