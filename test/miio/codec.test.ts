import {readFileSync} from 'node:fs';

import {describe, expect, it} from 'vitest';

import {
    decodePacket,
    decryptPayload,
    deriveKeys,
    encodePacket,
    hasValidChecksum,
    helloReply,
    isHello,
    keysFromCloudKey,
    cloudKeyProblem,
    MiioPacketError,
    parsePayload,
    readHeader,
} from '../../src/families/miio/codec.js';

interface Vector {
    id: string;
    plaintext: string | null;
    nulTerminated: boolean;
    stamp: number;
    packet: string;
}

/** shared/vectors/miio.json (protocol note §2), beside the checkout as in CI. */
const fixture = JSON.parse(readFileSync(new URL('../../../shared/vectors/miio.json', import.meta.url), 'utf8')) as {
    token: string;
    did: number;
    vectors: Vector[];
};
const keys = deriveKeys(Buffer.from(fixture.token, 'hex'));
const byId = new Map(fixture.vectors.map((vector) => [vector.id, vector]));
const packetOf = (id: string): Buffer => Buffer.from(byId.get(id)!.packet, 'hex');

describe('key derivation', () => {
    it('derives the key and iv of the protocol note', () => {
        expect(keys.key.toString('hex')).toBe('6e8311168ee16d6aa1aa48c64145003c');
        expect(keys.iv.toString('hex')).toBe('6f434fa9acd75da73e5fb999f641cda2');
    });

    it('uses a cloud key\'s ASCII bytes as the token, never hex-decoded', () => {
        const cloud = keysFromCloudKey('AbCdEfGh12345678');
        expect(cloud.token.toString('latin1')).toBe('AbCdEfGh12345678');
        expect(cloud.key).toEqual(deriveKeys(Buffer.from('AbCdEfGh12345678', 'ascii')).key);
    });

    it('refuses a 32-hex local token as a cloud key, saying why', () => {
        expect(cloudKeyProblem('00112233445566778899aabbccddeeff')).toMatch(/local token/);
        expect(cloudKeyProblem('short')).toMatch(/exactly 16/);
        expect(cloudKeyProblem('sixteen chars ok')).toMatch(/printable/);
        expect(cloudKeyProblem('AbCdEfGh12345678')).toBeNull();
        expect(() => keysFromCloudKey('00112233445566778899aabbccddeeff')).toThrow(/local token/);
    });
});

describe('every encrypted vector decodes and re-encodes byte for byte', () => {
    const encrypted = fixture.vectors.filter((vector) => vector.plaintext !== null);
    it('has the vectors of the note', () => {
        expect(encrypted.map((vector) => vector.id)).toEqual(['V6', 'V7', 'V8', 'V9', 'V9b', 'V10', 'V11', 'V12', 'V13', 'V15']);
    });

    for (const vector of encrypted) {
        it(`${vector.id}: decode`, () => {
            const packet = Buffer.from(vector.packet, 'hex');
            const decoded = decodePacket(packet, keys);
            expect(decoded.header).toEqual({length: packet.length, unknown: 0, did: fixture.did, stamp: vector.stamp});
            expect(decoded.message).toEqual(JSON.parse(vector.plaintext!));
            expect(decoded.repairs).toEqual([]);
            expect(decryptPayload(packet, keys).toString('utf8')).toBe(vector.plaintext);
        });

        it(`${vector.id}: encode`, () => {
            const packet = encodePacket(keys, vector.plaintext, {did: fixture.did, stamp: vector.stamp, nulTerminated: vector.nulTerminated});
            expect(packet.toString('hex')).toBe(vector.packet);
        });
    }
});

describe('long-lived AES contexts', () => {
    it('one key object gives the bytes fresh ones give, whatever was encoded or decoded before', () => {
        const shared = deriveKeys(Buffer.from(fixture.token, 'hex'));
        const texts = ['{"id":1}', '{"id":2,"result":["ok"]}', 'x'.repeat(100), '{"a":"' + 'b'.repeat(40) + '"}'];
        for (let round = 0; round < 3; round++) {
            for (const text of texts) {
                const fresh = deriveKeys(Buffer.from(fixture.token, 'hex'));
                const packet = encodePacket(shared, text, {did: 7, stamp: round + 1});
                expect(packet).toEqual(encodePacket(fresh, text, {did: 7, stamp: round + 1}));
                expect(decryptPayload(packet, shared).toString()).toBe(text);
                expect(decodePacket(packetOf('V11'), shared).message).toEqual(JSON.parse(byId.get('V11')!.plaintext!));
            }
        }
    });
});

describe('empty packets', () => {
    it('V2 is a cloud hello and V3 is its answer', () => {
        const hello = readHeader(packetOf('V2'));
        expect(isHello(hello)).toBe(true);
        expect(hello.did).toBe(0xffffffff);
        expect(helloReply(byId.get('V3')!.stamp).toString('hex')).toBe(byId.get('V3')!.packet);
    });

    it('V4 keepalive verifies, decodes empty and re-encodes byte for byte', () => {
        const decoded = decodePacket(packetOf('V4'), keys);
        expect(decoded.message).toBeNull();
        expect(decoded.header.stamp).toBe(0x5f000000);
        expect(isHello(decoded.header)).toBe(false);
        expect(encodePacket(keys, null, {did: fixture.did, stamp: 0x5f000000}).toString('hex')).toBe(byId.get('V4')!.packet);
    });

    it('V1 (local hello) parses but is neither a cloud hello nor a signed packet', () => {
        const header = readHeader(packetOf('V1'));
        expect(header.stamp).toBe(0xffffffff);
        expect(isHello(header)).toBe(false);
        expect(hasValidChecksum(packetOf('V1'), keys)).toBe(false);
    });

    it('V5 carries the token in the checksum field: on the cloud side that is a bad checksum, never a new token', () => {
        const packet = packetOf('V5');
        expect(packet.subarray(16).toString('hex')).toBe(fixture.token);
        expect(() => decodePacket(packet, keys)).toThrow(expect.objectContaining({reason: 'bad_checksum'}));
    });
});

describe('tolerant JSON', () => {
    it('repairs the ,,"otu_stat" quirk and says so', () => {
        const parsed = parsePayload(Buffer.from('{"id":3,"result":{"life":1,,"otu_stat":[1,2]}}'));
        expect(parsed.message).toEqual({id: 3, result: {life: 1, otu_stat: [1, 2]}});
        expect(parsed.repairs).toEqual(['doubled comma (e.g. ,,"otu_stat")']);
    });

    it('cuts text after an embedded NUL', () => {
        const parsed = parsePayload(Buffer.from('{"id":4,"result":["ok"]}\0garbage'));
        expect(parsed.message).toEqual({id: 4, result: ['ok']});
        expect(parsed.repairs).toEqual(['text after an embedded NUL']);
    });

    it('repairs "value":00 and an empty result member', () => {
        expect(parsePayload(Buffer.from('{"id":5,"value":00}')).message).toEqual({id: 5, value: 0});
        expect(parsePayload(Buffer.from('{"id":6,"result":,"x":1}')).message).toEqual({id: 6, x: 1});
    });

    it('strips trailing NULs before parsing (decrypt step)', () => {
        const packet = encodePacket(keys, '{"id":7,"result":"ok"}\0\0\0', {did: 1, stamp: 2});
        expect(decodePacket(packet, keys).message).toEqual({id: 7, result: 'ok'});
    });

    it('refuses text it cannot repair and JSON that is not an object', () => {
        expect(() => parsePayload(Buffer.from('{"id":'))).toThrow(MiioPacketError);
        expect(() => parsePayload(Buffer.from('[1,2]'))).toThrow(expect.objectContaining({reason: 'not_object'}));
    });
});
