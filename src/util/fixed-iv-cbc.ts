/**
 * AES-128-CBC for protocols that start every message at the same IV (icomen, miIO), with one kept
 * OpenSSL context per direction instead of one per message: creating a context costs 3–17 µs
 * (OpenSSL 3 looks the algorithm up each time) and leaves native memory until the garbage
 * collector finds its wrapper, which a connect storm of thousands of devices multiplies.
 *
 * A kept context continues the chain from the last ciphertext block it saw rather than the IV,
 * and the chain only touches the first block of a message, so that block is corrected by XOR with
 * (last block ⊕ IV). Whole blocks only: there is no padding and no `final()`.
 */
import {type Cipher, createCipheriv, createDecipheriv, type Decipher} from 'node:crypto';

const BLOCK = 16;

export class FixedIvCbc {
    private readonly key: Buffer;
    private readonly iv: Buffer;
    private decipher: Decipher | null = null;
    private cipher: Cipher | null = null;
    private readonly decryptChain = Buffer.alloc(BLOCK);
    private readonly encryptChain = Buffer.alloc(BLOCK);

    constructor(key: Uint8Array, iv: Uint8Array) {
        if (key.length !== BLOCK || iv.length !== BLOCK) throw new Error(`AES-128 takes a 16-byte key and IV, got ${key.length} and ${iv.length}`);
        this.key = Buffer.from(key);
        this.iv = Buffer.from(iv);
    }

    /** Decrypts whole blocks (padding, if any, is left in place). */
    decryptBlocks(ciphertext: Uint8Array): Buffer {
        requireWholeBlocks(ciphertext);
        if (!this.decipher) {
            this.decipher = createDecipheriv('aes-128-cbc', this.key, this.iv).setAutoPadding(false);
            this.iv.copy(this.decryptChain);
        }
        const plaintext = this.decipher.update(ciphertext);
        for (let index = 0; index < BLOCK; index++) plaintext[index]! ^= this.decryptChain[index]! ^ this.iv[index]!;
        this.decryptChain.set(ciphertext.subarray(ciphertext.length - BLOCK));
        return plaintext;
    }

    /** Encrypts whole blocks into a new buffer; `plaintext` is left as it was. */
    encryptBlocks(plaintext: Uint8Array): Buffer {
        requireWholeBlocks(plaintext);
        if (!this.cipher) {
            this.cipher = createCipheriv('aes-128-cbc', this.key, this.iv).setAutoPadding(false);
            this.iv.copy(this.encryptChain);
        }
        const input = Buffer.from(plaintext);
        for (let index = 0; index < BLOCK; index++) input[index]! ^= this.iv[index]! ^ this.encryptChain[index]!;
        const ciphertext = this.cipher.update(input);
        this.encryptChain.set(ciphertext.subarray(ciphertext.length - BLOCK));
        return ciphertext;
    }
}

function requireWholeBlocks(data: Uint8Array): void {
    if (data.length === 0 || data.length % BLOCK !== 0) throw new Error(`${data.length} bytes are not whole 16-byte blocks`);
}
