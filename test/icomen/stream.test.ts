import fc from 'fast-check';
import {describe, expect, it} from 'vitest';

import {DEFAULT_KEY, FrameCodec, FrameSplitter, IcomenCodecError, parseSwitchState} from '../../src/families/icomen/codec.js';
import {vectors} from './vectors.js';
import {fuzzRuns} from '../support/fuzz.js';

const defaultKeyVectors = vectors.filter((v) => v.key === '0123456789abcdef');
const C1_TO_C13 = vectors.slice(0, vectors.findIndex((v) => v.id === 'C13') + 1);

function split(chunks: Buffer[]): string[] {
    const splitter = new FrameSplitter();
    const frames: string[] = [];
    for (const chunk of chunks) splitter.push(chunk, (frame) => frames.push(frame.toString('hex')));
    expect(splitter.bufferedBytes).toBe(0);
    return frames;
}

describe('icomen stream splitter', () => {
    const expected = C1_TO_C13.map((v) => v.frame);
    const stream = Buffer.concat(expected.map((hex) => Buffer.from(hex, 'hex')));

    it('splits C1…C13 given as one buffer', () => {
        expect(C1_TO_C13.map((v) => v.id)).toEqual(['C1', 'C2', 'C2b', 'C3', 'C4', 'C4b', 'C5', 'C6', 'C7', 'C8', 'C9', 'C10', 'C11', 'C12', 'C13']);
        expect(split([stream])).toEqual(expected);
    });

    it('splits C1…C13 given one byte at a time, and every frame decrypts', () => {
        const bytes = [...stream].map((byte) => Buffer.of(byte));
        const frames = split(bytes);
        expect(frames).toEqual(expected);
        frames.forEach((hex, index) => {
            expect(new FrameCodec().decode(Buffer.from(hex, 'hex')).plaintext.toString('hex')).toBe(C1_TO_C13[index]!.plaintext);
        });
    });

    it('keeps a partial frame until the rest arrives', () => {
        const splitter = new FrameSplitter();
        const frames: Buffer[] = [];
        splitter.push(stream.subarray(0, 30), (frame) => frames.push(frame));
        expect(frames).toHaveLength(1);
        expect(splitter.bufferedBytes).toBe(5);
    });

    it('delivers the frames before a wrong start byte, then throws', () => {
        const splitter = new FrameSplitter();
        const frames: Buffer[] = [];
        const broken = Buffer.concat([stream.subarray(0, 25), Buffer.of(0x02, 0x40)]);
        expect(() => splitter.push(broken, (frame) => frames.push(frame))).toThrow(/0x02 instead of 0x01/);
        expect(frames).toHaveLength(1);
    });

    it('throws on a length byte that is not a multiple of 16, before the payload arrives', () => {
        const header = Buffer.from('01400095691a2b3c11', 'hex');
        expect(() => new FrameSplitter().push(header, () => undefined)).toThrow(/multiple of 16/);
        header[8] = 0;
        expect(() => new FrameSplitter().push(header, () => undefined)).toThrow(/multiple of 16/);
    });

    it('yields the same frames for any chunking of concatenated valid frames (property)', () => {
        const frameArbitrary = fc.constantFrom(...vectors.map((v) => v.frame));
        fc.assert(
            fc.property(fc.array(frameArbitrary, {minLength: 1, maxLength: 12}), fc.array(fc.nat(60), {maxLength: 40}), (frames, cuts) => {
                const whole = Buffer.concat(frames.map((hex) => Buffer.from(hex, 'hex')));
                const chunks: Buffer[] = [];
                let offset = 0;
                for (const cut of cuts) {
                    if (offset >= whole.length) break;
                    const end = Math.min(whole.length, offset + cut);
                    chunks.push(whole.subarray(offset, end));
                    offset = end;
                }
                if (offset < whole.length) chunks.push(whole.subarray(offset));
                expect(split(chunks)).toEqual(frames);
            }),
            {numRuns: 300},
        );
    });
});

describe('icomen codec: mutation loop', () => {
    /** Every byte flip, truncation and extension must end in frames or an IcomenCodecError, nothing else. */
    function survive(input: Buffer): void {
        try {
            const codec = new FrameCodec({key: DEFAULT_KEY});
            new FrameSplitter().push(input, (frame) => {
                const decoded = codec.decode(frame);
                parseSwitchState(decoded);
            });
        } catch (error) {
            if (!(error instanceof IcomenCodecError)) throw error;
        }
    }

    it('never throws anything but IcomenCodecError for mutated vectors', () => {
        let cases = 0;
        for (const v of defaultKeyVectors) {
            const original = Buffer.from(v.frame, 'hex');
            for (let index = 0; index < original.length; index++) {
                for (const value of [0x00, 0x01, 0x0f, 0x10, 0x20, 0x7f, 0x80, 0xff, original[index]! ^ 0x01]) {
                    const mutated = Buffer.from(original);
                    mutated[index] = value;
                    survive(mutated);
                    cases++;
                }
            }
            for (let length = 0; length <= original.length; length++) survive(original.subarray(0, length));
            survive(Buffer.concat([original, Buffer.from('0140', 'hex')]));
        }
        expect(cases).toBeGreaterThan(3000);
    });

    it('never throws anything but IcomenCodecError for random bytes (property)', () => {
        fc.assert(
            fc.property(fc.uint8Array({maxLength: 300}), (bytes) => {
                survive(Buffer.concat([Buffer.from('01400095691a2b3c', 'hex'), bytes]));
                survive(Buffer.from(bytes));
            }),
            {numRuns: fuzzRuns(1000)},
        );
    });
});
