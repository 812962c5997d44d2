import {createCipheriv, createHash} from 'node:crypto';
import dgram from 'node:dgram';

import {decodePacket, encodePacket, type MiioKeys, type MiioMessage} from '../../src/families/miio/codec.js';
import {waitFor} from '../support/net.js';

/** A raw device socket that records what the cloud sends back. */
export class RawDevice {
    readonly replies: Buffer[] = [];
    /** The device clock: the next packet carries stamp + 1. */
    stamp = 1_700_000_000;

    private constructor(
        readonly socket: dgram.Socket,
        private readonly port: number,
        readonly did: number,
        private readonly keys: MiioKeys,
    ) {
        socket.on('message', (message) => this.replies.push(message));
    }

    static async open(port: number, did: number, keys: MiioKeys, address = '127.0.0.1'): Promise<RawDevice> {
        const socket = dgram.createSocket('udp4');
        await new Promise<void>((resolve) => socket.bind(0, address, resolve));
        return new RawDevice(socket, port, did, keys);
    }

    send(packet: Buffer): void {
        this.socket.send(packet, this.port, '127.0.0.1');
    }

    nextStamp(): number {
        return ++this.stamp;
    }

    keepalive(): Buffer {
        return encodePacket(this.keys, null, {did: this.did, stamp: this.nextStamp()});
    }

    /** Sends a fresh keepalive and waits for its echo: everything sent before has been handled. */
    async sync(): Promise<void> {
        const packet = this.keepalive();
        const before = this.replies.length;
        this.send(packet);
        await waitFor(() => this.replies.slice(before).some((reply) => reply.equals(packet)), 3000, 'the keepalive echo');
        this.replies.length = 0;
    }

    /** A correctly signed packet around arbitrary ciphertext (to reach the decrypt step). */
    signedRaw(ciphertext: Buffer): Buffer {
        const packet = Buffer.concat([Buffer.alloc(32), ciphertext]);
        packet.writeUInt16BE(0x2131, 0);
        packet.writeUInt16BE(packet.length, 2);
        packet.writeUInt32BE(this.did, 8);
        packet.writeUInt32BE(this.nextStamp(), 12);
        createHash('md5').update(packet.subarray(0, 16)).update(this.keys.token).update(ciphertext).digest().copy(packet, 16);
        return packet;
    }

    encrypt(plaintext: Buffer): Buffer {
        const cipher = createCipheriv('aes-128-cbc', this.keys.key, this.keys.iv);
        cipher.setAutoPadding(false);
        return Buffer.concat([cipher.update(plaintext), cipher.final()]);
    }

    /** Sends an encrypted message and returns the packet sent. */
    sendMessage(message: object, stamp = this.nextStamp()): Buffer {
        const packet = encodePacket(this.keys, JSON.stringify(message), {did: this.did, stamp, nulTerminated: true});
        this.send(packet);
        return packet;
    }

    /** Waits for the next decodable message from the cloud that matches. */
    async nextMessage(match: (message: MiioMessage) => boolean = () => true, timeoutMs = 3000): Promise<MiioMessage> {
        return waitFor(() => {
            for (const [index, reply] of this.replies.entries()) {
                if (reply.length <= 32) continue;
                const {message} = decodePacket(reply, this.keys);
                if (message && match(message)) {
                    this.replies.splice(index, 1);
                    return message;
                }
            }
            return undefined;
        }, timeoutMs, 'a message from the cloud');
    }

    close(): void {
        this.socket.close();
    }
}

