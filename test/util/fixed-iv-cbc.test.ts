import {createCipheriv, createDecipheriv, randomBytes} from 'node:crypto';

import {describe, expect, it} from 'vitest';

import {FixedIvCbc} from '../../src/util/fixed-iv-cbc.js';

const key = Buffer.from('0123456789abcdef', 'latin1');
const iv = Buffer.from('fedcba9876543210', 'latin1');

function freshEncrypt(plaintext: Buffer): Buffer {
    const cipher = createCipheriv('aes-128-cbc', key, iv).setAutoPadding(false);
    return Buffer.concat([cipher.update(plaintext), cipher.final()]);
}

function freshDecrypt(ciphertext: Buffer): Buffer {
    const decipher = createDecipheriv('aes-128-cbc', key, iv).setAutoPadding(false);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
}

describe('FixedIvCbc', () => {
    it('gives every message of a sequence the bytes a fresh context at the IV would', () => {
        const cbc = new FixedIvCbc(key, iv);
        // Lengths vary so that a chain carried over from a longer or shorter message would show.
        for (const blocks of [1, 3, 1, 2, 15, 1, 4, 1]) {
            const plaintext = randomBytes(16 * blocks);
            const before = Buffer.from(plaintext);
            const ciphertext = cbc.encryptBlocks(plaintext);
            expect(ciphertext).toEqual(freshEncrypt(plaintext));
            expect(plaintext).toEqual(before);
            expect(cbc.decryptBlocks(ciphertext)).toEqual(plaintext);
            const foreign = freshEncrypt(randomBytes(16 * blocks));
            expect(cbc.decryptBlocks(foreign)).toEqual(freshDecrypt(foreign));
        }
    });

    it('refuses anything but whole blocks and a 16-byte key', () => {
        const cbc = new FixedIvCbc(key, iv);
        expect(() => cbc.decryptBlocks(Buffer.alloc(15))).toThrow(/whole 16-byte blocks/);
        expect(() => cbc.encryptBlocks(Buffer.alloc(0))).toThrow(/whole 16-byte blocks/);
        expect(() => new FixedIvCbc(Buffer.alloc(8), iv)).toThrow(/16-byte key/);
        // A refused call leaves the chain as it was.
        const plaintext = randomBytes(32);
        expect(cbc.encryptBlocks(plaintext)).toEqual(freshEncrypt(plaintext));
    });
});
