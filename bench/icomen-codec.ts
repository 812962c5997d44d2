/**
 * icomen codec throughput: one frame encoded and decoded per operation (a 0x01 POWER command out,
 * a 0x06 report in), against Node's raw AES-128-CBC doing the same encryption and decryption on
 * the same bytes in the same run.
 */
import {createCipheriv, createDecipheriv} from 'node:crypto';

import {Command, DEFAULT_KEY, FrameCodec, FrameSplitter, parseSwitchState, powerData, VENDOR_ALDI} from '../src/families/icomen/codec.js';
import {compareRates, printResult} from './stats.js';

const mac = Buffer.from('0095691a2b3c', 'hex');
const server = new FrameCodec({mac, vendor: VENDOR_ALDI});
const plug = new FrameCodec({mac, vendor: VENDOR_ALDI});
const splitter = new FrameSplitter();
const on = powerData(true);

// The same bytes for the baseline: the padded plaintext and the ciphertext of one frame.
const sample = server.request(Command.power, on);
const samplePlaintext = sample.plaintext;
const sampleCiphertext = sample.frame.subarray(9);

let sink = 0;

function ours(): void {
    const encoded = server.request(Command.power, on);
    splitter.push(encoded.frame, (frame) => {
        const decoded = plug.decode(frame);
        if (parseSwitchState(decoded) === true) sink++;
    });
}

function baseline(): void {
    const cipher = createCipheriv('aes-128-cbc', DEFAULT_KEY, DEFAULT_KEY);
    cipher.setAutoPadding(false);
    const ciphertext = cipher.update(samplePlaintext);
    cipher.final();
    const decipher = createDecipheriv('aes-128-cbc', DEFAULT_KEY, DEFAULT_KEY);
    decipher.setAutoPadding(false);
    const plaintext = decipher.update(sampleCiphertext);
    decipher.final();
    if (plaintext[10] === 0xff && ciphertext.length === 16) sink++;
}

// Warm both paths up before measuring.
for (let i = 0; i < 20_000; i++) {
    ours();
    baseline();
}
const result = compareRates(ours, baseline, Number(process.argv[2] ?? 11));
printResult({bench: 'icomen-codec', unit: 'frames encoded+decoded per second', ...result, frameBytes: sample.frame.length, sink: sink > 0});
