/**
 * The XMPP server over real sockets: the connection sequence of §3.1 (clear text and STARTTLS), what
 * it answers by itself, and every hostile input ending its own connection with a stream error.
 */
import {mkdtempSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';

import {encodePlain} from '../../src/families/ecovacs/xmpp/stanza-codec.js';
import {XmppServer} from '../../src/families/ecovacs/xmpp/server.js';
import {loadOrCreateCa} from '../../src/edge/tls/ca.js';
import {issueServerCertificate} from '../../src/edge/tls/issue.js';
import {setLogSink} from '../../src/util/logger.js';
import {waitFor} from '../support/net.js';

const BOT_HEADER = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='126.ecorobot.net' version='1.0'>`;
const APP_HEADER = BOT_HEADER.replace('126.ecorobot.net', 'ecouser.net');
const auth = (payload: string) => `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${payload}</auth>`;

/** A raw peer: what it received so far, and whether the server closed it. */
class Peer {
    received = '';
    closed = false;
    constructor(public socket: net.Socket) {
        this.listen(socket);
    }
    static async connect(port: number): Promise<Peer> {
        const socket = net.connect(port, '127.0.0.1');
        await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
        return new Peer(socket);
    }
    listen(socket: net.Socket): void {
        socket.on('data', (chunk: Buffer) => (this.received += chunk.toString()));
        socket.on('error', () => {});
        socket.on('close', () => (this.closed = true));
    }
    write(text: string | Buffer): void {
        if (!this.socket.destroyed) this.socket.write(text);
    }
    async until(pattern: RegExp | string, what = String(pattern)): Promise<void> {
        await waitFor(() => (typeof pattern === 'string' ? this.received.includes(pattern) : pattern.test(this.received)), 5000, `${what} in ${this.received.slice(-300)}`);
    }
    async untilClosed(): Promise<void> {
        await waitFor(() => this.closed, 5000, 'the server to close the connection');
    }
    /** Logs in as a bot of class 126 (or an app user) and binds. */
    async login(kind: 'bot' | 'app', name: string, headerSent = false): Promise<void> {
        if (!headerSent) this.write(kind === 'bot' ? BOT_HEADER : APP_HEADER);
        await this.until('</stream:features>');
        this.write(auth(kind === 'bot' ? encodePlain('', name, 'secret-of-the-bot') : encodePlain(name, name, '0/IOSF53D07BA/us_token_123456')));
        await this.until('<success');
        this.received = '';
        this.write(kind === 'bot' ? BOT_HEADER : APP_HEADER);
        await this.until('</stream:features>');
        this.write(`<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${kind === 'bot' ? 'atom' : 'IOSF53D07BA'}</resource></bind></iq>`);
        await this.until('</jid>');
        this.write(`<iq type='set' id='s1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>`);
        await this.until(/id="s1"/);
    }
}

let server: XmppServer;
let port: number;
let tlsMaterial: {cert: string; key: string};
const peers: Peer[] = [];
const logLines: string[] = [];
const online: string[] = [];
const said: string[] = [];

async function peer(): Promise<Peer> {
    const connected = await Peer.connect(port);
    peers.push(connected);
    return connected;
}

beforeAll(async () => {
    setLogSink((level, namespace, message) => logLines.push(`${level} ${namespace} ${message}`));
    const ca = await loadOrCreateCa(mkdtempSync(path.join(tmpdir(), 'fogbridge-xmpp-')));
    const issued = issueServerCertificate(ca, {hosts: ['ecouser.net', '*.ecouser.net'], ips: ['127.0.0.1']});
    tlsMaterial = {cert: issued.certPem, key: issued.keyPem};
    server = new XmppServer({
        host: '127.0.0.1',
        port: 0,
        tls: () => tlsMaterial,
        maxConnections: 2000,
        pingIntervalMs: 60_000,
        requestTimeoutMs: 2000,
        headerTimeoutMs: 800,
        authTimeoutMs: 1500,
        events: {botOnline: ({did}) => online.push(did), botOffline: () => {}, botSaid: (_did, ctl) => said.push(ctl.toString())},
    });
    port = await server.start();
});

afterEach(() => {
    for (const connected of peers.splice(0)) connected.socket.destroy();
});

afterAll(async () => {
    await server?.stop();
    setLogSink(null);
});

describe('XmppServer: the connection sequence (§3.1)', () => {
    it('starts in clear text, offers STARTTLS without requiring it, and logs a bot in as did@class.ecorobot.net/atom', async () => {
        const bot = await peer();
        bot.write(BOT_HEADER);
        await bot.until('</stream:features>');
        expect(bot.received).toMatch(/<stream:stream [^>]*from="ecouser.net"/);
        expect(bot.received).toContain('<starttls xmlns="urn:ietf:params:xml:ns:xmpp-tls"/>');
        expect(bot.received).not.toContain('<required/>');
        expect(bot.received).toContain('<mechanism>PLAIN</mechanism>');
        await bot.login('bot', 'E0000000000000001234', true);
        expect(bot.received).toContain('<jid>E0000000000000001234@126.ecorobot.net/atom</jid>');
        await waitFor(() => online.includes('E0000000000000001234'), 2000, 'botOnline');
        expect(server.hasBot('e0000000000000001234')).toBe(true);
    });

    it('upgrades with STARTTLS, then offers only PLAIN', async () => {
        const raw = await peer();
        raw.write(BOT_HEADER);
        await raw.until('</stream:features>');
        raw.write(`<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`);
        await raw.until('<proceed');
        const secure = tls.connect({socket: raw.socket, rejectUnauthorized: false});
        await new Promise((resolve) => secure.once('secureConnect', resolve));
        const bot = new Peer(secure);
        peers.push(bot);
        bot.write(BOT_HEADER);
        await bot.until('</stream:features>');
        expect(bot.received).not.toContain('starttls');
        bot.received = '';
        bot.write(auth(encodePlain('', 'E0000000000000005678', 'secret')));
        await bot.until('<success');
    });

    it('logs an app in as uid@ecouser.net/resource, answers its pings and refuses roster', async () => {
        const app = await peer();
        await app.login('app', 'fuid_tmpuser');
        expect(app.received).toContain('<jid>fuid_tmpuser@ecouser.net/IOSF53D07BA</jid>');
        app.write(`<iq type='get' id='p1' to='ecouser.net'><ping xmlns='urn:xmpp:ping'/></iq>`);
        await app.until(/<iq type="result" id="p1" to="fuid_tmpuser@ecouser.net\/IOSF53D07BA" from="ecouser.net"\/>/);
        app.write(`<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>`);
        await app.until(/id="r1".*code="501"><feature-not-implemented/);
    });

    it('answers an iq for a bot that is not connected at once with recipient-unavailable (404)', async () => {
        const app = await peer();
        await app.login('app', 'fuid_offline');
        app.write(`<iq type='set' id='c1' to='E0000000000000009999@126.ecorobot.net/atom'><query xmlns='com:ctl'><ctl td='Clean'><clean type='auto' speed='standard'/></ctl></query></iq>`);
        await app.until(/<iq type="error" id="c1" from="E0000000000000009999@126.ecorobot.net\/atom" to="fuid_offline@ecouser.net\/IOSF53D07BA"><error type="wait" code="404"><recipient-unavailable/);
    });

    it('relays a command with from set by the server, the reply back, and pushes to the client controlling the bot', async () => {
        const bot = await peer();
        await bot.login('bot', 'E0000000000000004321');
        const app = await peer();
        await app.login('app', 'fuid_relay');
        bot.received = '';
        app.write(`<iq type='set' id='c2' from='someone@else/forged' to='E0000000000000004321@126.ecorobot.net/atom'><query xmlns='com:ctl'><ctl td='GetBatteryInfo'/></query></iq>`);
        await bot.until('id="c2"');
        expect(bot.received).toContain('from="fuid_relay@ecouser.net/IOSF53D07BA"');
        expect(bot.received).not.toContain('forged');
        bot.write(`<iq type='result' id='c2' to='fuid_relay@ecouser.net/IOSF53D07BA'><query xmlns='com:ctl'><ctl ret='ok'><battery power='080'/></ctl></query></iq>`);
        await app.until(/id="c2"[^>]*from="E0000000000000004321@126.ecorobot.net\/atom"/);
        bot.write(`<iq type='set' id='9' to='owner@ecouser.net'><query xmlns='com:ctl'><ctl td='ChargeState'><charge type='Going'/></ctl></query></iq>`);
        await app.until('<charge type="Going"/>');
        await waitFor(() => said.some((ctl) => ctl.includes('Going')), 2000, 'the push reaching the adapter side');
    });
});

describe('XmppServer: hostile input ends that connection only', () => {
    const refused = async (connected: Peer, condition: string) => {
        await connected.untilClosed();
        expect(connected.received).toContain(`<${condition} xmlns="urn:ietf:params:xml:ns:xmpp-streams"/>`);
    };

    it('billion laughs, XXE and DOCTYPE: policy-violation', async () => {
        for (const input of [
            `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;">]><stream:stream>&lol1;`,
            `<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><stream:stream>&xxe;`,
            `${BOT_HEADER}<!DOCTYPE x>`,
        ]) {
            const connected = await peer();
            connected.write(input);
            await refused(connected, 'policy-violation');
        }
    });

    it('an unterminated 4 MiB text node and 10k nesting: policy-violation', async () => {
        const text = await peer();
        text.write(`${BOT_HEADER}<message><body>`);
        text.write(Buffer.alloc(4 * 1024 * 1024, 'a'));
        await refused(text, 'policy-violation');
        const nested = await peer();
        nested.write(BOT_HEADER + '<a>'.repeat(10_000));
        await refused(nested, 'policy-violation');
    });

    it('1 MiB SASL: policy-violation; SASL garbage: a SASL failure, then not-authorized', async () => {
        const big = await peer();
        big.write(BOT_HEADER);
        await big.until('</stream:features>');
        big.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${'QUFB'.repeat(256 * 1024)}</auth>`);
        await refused(big, 'policy-violation');
        const garbage = await peer();
        garbage.write(BOT_HEADER);
        await garbage.until('</stream:features>');
        garbage.write(auth('!!not base64!!'));
        await refused(garbage, 'not-authorized');
        expect(garbage.received).toContain('<malformed-request/>');
    });

    it('com:ctl before authentication: not-authorized', async () => {
        const connected = await peer();
        connected.write(`${BOT_HEADER}<iq type='set' id='x' to='E0000000000000001234@126.ecorobot.net/atom'><query xmlns='com:ctl'><ctl td='Clean'/></query></iq>`);
        await refused(connected, 'not-authorized');
    });

    it('STARTTLS accepted but no ClientHello: closed at the authentication deadline', async () => {
        const connected = await peer();
        connected.write(BOT_HEADER);
        await connected.until('</stream:features>');
        connected.write(`<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`);
        await connected.until('<proceed');
        await connected.untilClosed();
    });

    it('hundreds of idle connections are closed at the header deadline while a bot still logs in', async () => {
        const idle = await Promise.all(Array.from({length: 300}, () => peer()));
        const bot = await peer();
        await bot.login('bot', 'E0000000000000000300');
        await waitFor(() => idle.every((connected) => connected.closed), 10_000, 'every idle connection closed');
        expect(idle.every((connected) => connected.received.includes('<connection-timeout'))).toBe(true);
        expect(bot.closed).toBe(false);
        // One line for the flood, not 300.
        expect(logLines.filter((line) => line.includes('no stream header in time')).length).toBeLessThan(5);
    });

    it('never logs a password or token', () => {
        expect(logLines.join('\n')).not.toMatch(/secret-of-the-bot|us_token_123456/);
    });
});
