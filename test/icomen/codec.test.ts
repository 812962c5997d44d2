import {describe, expect, it} from 'vitest';

import {
    bridgeParityCounters,
    changeServerData,
    Command,
    decodeFrame,
    DEFAULT_KEY,
    echoCounters,
    encodeFrame,
    formatMac,
    FrameCodec,
    FrameType,
    HEARTBEAT_ANSWER_DATA,
    IcomenCodecError,
    keyData,
    paddingFor,
    parseChangeServer,
    parseHeartbeatAnswer,
    parseKeyAnswer,
    parseRawCommand,
    parseSwitchState,
    parseTimeAnswer,
    powerData,
    renderRaw,
    timeData,
    unmapIpv4,
    VENDOR_ALDI,
    type VendorBytes,
} from '../../src/families/icomen/codec.js';
import {frameBytes, vector, vectors} from './vectors.js';

const MAC = Buffer.from('0095691a2b3c', 'hex');

function keyOf(id: string): Buffer {
    return Buffer.from(vector(id).key, 'latin1');
}

function vendorOf(plaintextHex: string): VendorBytes {
    const plain = Buffer.from(plaintextHex, 'hex');
    return {company: plain[3]!, deviceType: plain[4]!, auth: plain.readUInt16BE(5)};
}

/** The data each server frame carries, built with the message builders (not copied from the vector). */
const serverFrameData: Record<string, () => Buffer> = {
    C2: () => changeServerData('192.168.1.20', 7533),
    C2b: () => changeServerData('18.185.112.221', 7533),
    C4: () => keyData(DEFAULT_KEY),
    C4b: () => keyData(Buffer.from('lkah678t9ksq706m', 'latin1')),
    C6: () => timeData(0x638d2412),
    C8: () => HEARTBEAT_ANSWER_DATA,
    C9: () => Buffer.alloc(0),
    C12: () => powerData(true),
    C13: () => powerData(false),
    C14: () => HEARTBEAT_ANSWER_DATA,
    C15: () => changeServerData('192.168.1.20', 7533),
    C16: () => powerData(true),
};

describe('icomen codec: vectors', () => {
    it.each(vectors.map((v) => [v.id, v] as const))('%s decrypts to its plaintext', (_id, v) => {
        const decoded = decodeFrame(Buffer.from(v.frame, 'hex'), Buffer.from(v.key, 'latin1'));
        expect(decoded.plaintext.toString('hex')).toBe(v.plaintext);
        expect(decoded.type).toBe(Number.parseInt(v.type, 16));
        expect(decoded.mac.toString('hex')).toBe(v.mac);
        expect(decoded.frame.subarray(0, 9).toString('hex')).toBe(v.header);
        expect(decoded.vendor).toEqual(VENDOR_ALDI);
    });

    it.each(Object.keys(serverFrameData))('%s is built byte for byte from its fields', (id) => {
        const v = vector(id);
        const plain = Buffer.from(v.plaintext, 'hex');
        const encoded = encodeFrame(
            {
                type: Number.parseInt(v.type, 16),
                mac: Buffer.from(v.mac, 'hex'),
                counter: plain.readUInt16LE(1),
                vendor: vendorOf(v.plaintext),
                command: plain[7]!,
                data: serverFrameData[id]!(),
            },
            keyOf(id),
        );
        expect(encoded.plaintext.toString('hex')).toBe(v.plaintext);
        expect(encoded.frame.toString('hex')).toBe(v.frame);
    });

    it('re-encrypts every vector, plug frames included, from its plaintext', () => {
        for (const v of vectors) {
            const plain = Buffer.from(v.plaintext, 'hex');
            const decoded = decodeFrame(Buffer.from(v.frame, 'hex'), keyOf(v.id));
            // The plug frames have no data: the rest of the payload is padding, so the data is empty.
            const data = serverFrameData[v.id]?.() ?? decoded.payload.subarray(0, decoded.payload.length - decoded.payload.at(-1)!);
            const encoded = encodeFrame(
                {type: decoded.type, mac: decoded.mac, counter: decoded.counter, vendor: decoded.vendor, command: plain[7]!, data},
                keyOf(v.id),
            );
            expect(encoded.frame.toString('hex'), v.id).toBe(v.frame);
        }
    });

    it('renders C1 as the raw MQTT payload of the note', () => {
        const decoded = decodeFrame(frameBytes('C1'), DEFAULT_KEY);
        expect(renderRaw(decoded.frame, decoded.plaintext)).toBe('01 400095691a2b3c10 000000c21192dd41 0808080808080808');
        const c4 = decodeFrame(frameBytes('C4'), DEFAULT_KEY);
        expect(renderRaw(c4.frame, c4.plaintext)).toBe(
            '01 420095691a2b3c20 000000c21192dd42 1030313233343536 3738396162636465 6607070707070707',
        );
    });

    it('reaches [BR] parity: C1 in, then C9, C15 and C16 out', () => {
        const codec = new FrameCodec({counters: bridgeParityCounters()});
        const request = codec.decode(frameBytes('C1'));
        expect(request.command).toBe(Command.changeServer);
        expect(codec.request(Command.query).frame.toString('hex')).toBe(vector('C9').frame);
        expect(codec.response(request, Command.changeServer, changeServerData('192.168.1.20', 7533)).frame.toString('hex')).toBe(
            vector('C15').frame,
        );
        expect(codec.request(Command.power, powerData(true)).frame.toString('hex')).toBe(vector('C16').frame);
    });

    it('echoes the request counter by default: C1 answered with C2, then C12 and C13 from a fresh plug', () => {
        const codec = new FrameCodec();
        const request = codec.decode(frameBytes('C1'));
        expect(codec.response(request, Command.changeServer, changeServerData('192.168.1.20', 7533)).frame.toString('hex')).toBe(
            vector('C2').frame,
        );
        expect(codec.request(Command.power, powerData(true)).frame.toString('hex')).toBe(vector('C12').frame);
        expect(codec.request(Command.power, powerData(false)).frame.toString('hex')).toBe(vector('C13').frame);
    });

    it('answers C11 (counter 2) echoing its counter, and never rejects a frame for its counter', () => {
        const codec = new FrameCodec({counters: echoCounters()});
        codec.decode(frameBytes('C10'));
        const report = codec.decode(frameBytes('C11'));
        codec.decode(frameBytes('C10')); // counter goes back to 0: still fine
        expect(report.counter).toBe(2);
        expect(codec.response(report, Command.report).plaintext.readUInt16LE(1)).toBe(2);
    });

    it('uses the new key after a key change (C14)', () => {
        const codec = new FrameCodec();
        const heartbeat = codec.decode(frameBytes('C7'));
        codec.setKey(Buffer.from('lkah678t9ksq706m', 'latin1'));
        expect(codec.response(heartbeat, Command.heartbeat, HEARTBEAT_ANSWER_DATA).frame.toString('hex')).toBe(vector('C14').frame);
    });
});

describe('icomen codec: messages', () => {
    it('parses the answers the simulator reads', () => {
        expect(parseChangeServer(decodeFrame(frameBytes('C2b'), DEFAULT_KEY))).toEqual({address: '18.185.112.221', port: 7533});
        expect(parseKeyAnswer(decodeFrame(frameBytes('C4b'), DEFAULT_KEY)).toString('latin1')).toBe('lkah678t9ksq706m');
        expect(parseTimeAnswer(decodeFrame(frameBytes('C6'), DEFAULT_KEY))).toBe(0x638d2412);
        expect(parseHeartbeatAnswer(decodeFrame(frameBytes('C8'), DEFAULT_KEY))).toBe(30);
    });

    it('reads the switch state from data byte 2', () => {
        expect(parseSwitchState(decodeFrame(frameBytes('C10'), DEFAULT_KEY))).toBe(true);
        expect(parseSwitchState(decodeFrame(frameBytes('C11'), DEFAULT_KEY))).toBe(false);
        expect(parseSwitchState(decodeFrame(frameBytes('C12'), DEFAULT_KEY))).toBe(true);
        expect(parseSwitchState(decodeFrame(frameBytes('C13'), DEFAULT_KEY))).toBe(false);
        // The 0x02 query carries only padding (08): neither on nor off.
        expect(parseSwitchState(decodeFrame(frameBytes('C9'), DEFAULT_KEY))).toBeNull();
    });

    it('pads to the next block and not at all when aligned', () => {
        expect(paddingFor(8)).toBe(8);
        expect(paddingFor(25)).toBe(7);
        expect(paddingFor(16)).toBe(0);
        expect(paddingFor(32)).toBe(0);
        const codec = new FrameCodec({mac: MAC, vendor: VENDOR_ALDI});
        const aligned = codec.request(0x03, Buffer.alloc(8, 0xaa));
        expect(aligned.plaintext.length).toBe(16);
        expect(aligned.frame[8]).toBe(16);
        expect(aligned.plaintext.subarray(8).equals(Buffer.alloc(8, 0xaa))).toBe(true);
    });

    it('handles IPv4-mapped addresses and refuses IPv6 and bad ports', () => {
        expect(unmapIpv4('::ffff:10.0.0.2')).toBe('10.0.0.2');
        expect(unmapIpv4('10.0.0.2')).toBe('10.0.0.2');
        expect(unmapIpv4('::1')).toBeNull();
        expect(changeServerData('::ffff:192.168.1.20', 7533).toString('hex')).toBe('c0a801141d6d');
        expect(() => changeServerData('::1', 7533)).toThrow(IcomenCodecError);
        expect(() => changeServerData('1.2.3.4', 0)).toThrow(IcomenCodecError);
    });

    it('parses raw commands and refuses bad hex or oversize data', () => {
        expect(parseRawCommand('010000ffff')).toEqual({command: 1, data: Buffer.from('0000ffff', 'hex')});
        expect(() => parseRawCommand('01 00')).toThrow(IcomenCodecError);
        expect(() => parseRawCommand('0')).toThrow(IcomenCodecError);
        expect(() => parseRawCommand('')).toThrow(IcomenCodecError);
        expect(() => parseRawCommand('01'.repeat(240))).toThrow(IcomenCodecError);
    });

    it('formats MACs', () => {
        expect(formatMac(MAC)).toBe('00:95:69:1a:2b:3c');
    });
});

describe('icomen codec: bad frames', () => {
    it('refuses a ciphertext length that is not a multiple of 16', () => {
        const frame = Buffer.concat([frameBytes('C1').subarray(0, 9), Buffer.alloc(15)]);
        frame[8] = 15;
        expect(() => decodeFrame(frame, DEFAULT_KEY)).toThrow(/multiple of 16/);
    });

    it('refuses a frame whose length byte disagrees with its size', () => {
        const frame = frameBytes('C4').subarray(0, 9 + 16);
        expect(() => decodeFrame(frame, DEFAULT_KEY)).toThrow(/announces 32/);
    });

    it('refuses a wrong start byte', () => {
        const frame = frameBytes('C1');
        frame[0] = 0x02;
        expect(() => decodeFrame(frame, DEFAULT_KEY)).toThrow(/0x02 instead of 0x01/);
    });

    it('refuses garbage after decryption (wrong key)', () => {
        expect(() => decodeFrame(frameBytes('C1'), Buffer.from('lkah678t9ksq706m', 'latin1'))).toThrow(IcomenCodecError);
    });

    it('refuses a frame whose vendor bytes differ from the plug', () => {
        const lidl = {company: 0xc1, deviceType: 0x11, auth: 0x7150};
        expect(() => decodeFrame(frameBytes('C1'), DEFAULT_KEY, lidl)).toThrow(/vendor bytes c2 11 92dd differ from the plug's c1 11 7150/);
    });

    it('refuses a different MAC mid-connection', () => {
        const codec = new FrameCodec();
        codec.decode(frameBytes('C1'));
        const other = frameBytes('C3');
        other[7] = 0x3d;
        expect(() => codec.decode(other)).toThrow(/MAC changed mid-connection from 0095691a2b3c to 0095691a2b3d/);
    });

    it('cannot send before the plug identified itself', () => {
        expect(() => new FrameCodec().request(Command.query)).toThrow(IcomenCodecError);
    });

    it('refuses keys that are not 16 bytes', () => {
        expect(() => new FrameCodec({key: Buffer.alloc(15)})).toThrow(IcomenCodecError);
        expect(() => decodeFrame(frameBytes('C1'), Buffer.alloc(8))).toThrow(IcomenCodecError);
    });

    it('types requests and responses', () => {
        const codec = new FrameCodec({mac: MAC, vendor: VENDOR_ALDI});
        expect(codec.request(Command.query).frame[1]).toBe(FrameType.request);
        expect(codec.response({counter: 7}, Command.heartbeat).frame[1]).toBe(FrameType.response);
    });
});
