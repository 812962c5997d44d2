import {readFileSync} from 'node:fs';

import fc from 'fast-check';
import {describe, expect, it} from 'vitest';

import {decodePacket, deriveKeys, encodePacket, MiioPacketError} from '../../src/families/miio/codec.js';
import {fuzzRuns} from '../support/fuzz.js';

const fixture = JSON.parse(readFileSync(new URL('../../../shared/vectors/miio.json', import.meta.url), 'utf8')) as {token: string; vectors: {packet: string}[]};
const keys = deriveKeys(Buffer.from(fixture.token, 'hex'));
const packets = fixture.vectors.map((vector) => Buffer.from(vector.packet, 'hex'));

/** Decoding either succeeds or fails with a MiioPacketError: nothing else may escape. */
function decodeOrReason(datagram: Buffer): string {
    try {
        decodePacket(datagram, keys);
        return 'ok';
    } catch (error) {
        if (!(error instanceof MiioPacketError)) throw error;
        return error.reason;
    }
}

describe('codec under mutation', () => {
    it('any single-byte change to a signed vector is rejected', () => {
        fc.assert(
            fc.property(fc.integer({min: 5, max: packets.length - 1}), fc.nat(), fc.integer({min: 1, max: 255}), (which, offset, flip) => {
                const packet = Buffer.from(packets[which]!);
                const index = offset % packet.length;
                packet[index]! ^= flip;
                expect(decodeOrReason(packet)).not.toBe('ok');
            }),
            {numRuns: fuzzRuns(2000)},
        );
    });

    it('mutated, truncated and random datagrams only ever give a reason', () => {
        fc.assert(
            fc.property(
                fc.oneof(
                    fc.uint8Array({maxLength: 400}).map((bytes) => Buffer.from(bytes)),
                    fc.tuple(fc.nat(), fc.nat()).map(([which, cut]) => {
                        const packet = packets[which % packets.length]!;
                        return packet.subarray(0, cut % (packet.length + 1));
                    }),
                ),
                (datagram) => {
                    expect(typeof decodeOrReason(datagram)).toBe('string');
                },
            ),
            {numRuns: fuzzRuns(5000)},
        );
    });

    it('round-trips any JSON object', () => {
        fc.assert(
            fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.boolean(), fc.nat(), (message, nul, stamp) => {
                const packet = encodePacket(keys, JSON.stringify(message), {did: 42, stamp, nulTerminated: nul});
                expect(JSON.stringify(decodePacket(packet, keys).message)).toBe(JSON.stringify(message));
            }),
            {numRuns: 500},
        );
    });
});
