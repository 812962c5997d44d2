import {createHmac} from 'node:crypto';
import http from 'node:http';
import net from 'node:net';

import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest';

import {HttpRouter} from '../../src/edge/http/router.js';
import {type BoundHttpServer, listenPlainHttp} from '../../src/edge/http/server.js';
import {type GslbOptions, gslbRoute} from '../../src/families/miio/gslb.js';
import {createLogger} from '../../src/util/logger.js';
import {freePort} from '../support/net.js';
import {startMiioService} from './harness.js';

/** The /gslb route on a router of its own, served on one plain port as the edge serves it. */
class GslbServer {
    port = 0;
    private bound: BoundHttpServer | null = null;

    constructor(private readonly options: GslbOptions & {host: string; port: number; fallbackPort: number}) {}

    async start(): Promise<void> {
        const log = createLogger('test:gslb');
        const router = new HttpRouter(log);
        router.add(gslbRoute(this.options), 'miio');
        const {host, port, fallbackPort} = this.options;
        this.bound = await listenPlainHttp(router.handlerFor('miio'), {host, port, fallbackPort, label: '/gslb'}, log);
        this.port = this.bound!.port;
    }

    async stop(): Promise<void> {
        await this.bound?.close();
        this.bound = null;
    }
}

const DID = 330_000_001;
const KEY = Buffer.from('GslbTestCloudKey', 'latin1');

function get(port: number, path: string): Promise<{status: number; body: string}> {
    return new Promise((resolve, reject) => {
        http.get({host: '127.0.0.1', port, path, headers: {'user-agent': 'miio-client'}}, (response) => {
            let body = '';
            response.on('data', (chunk: Buffer) => (body += chunk.toString()));
            response.on('end', () => resolve({status: response.statusCode ?? 0, body}));
        }).on('error', reject);
    });
}

describe('/gslb HTTP-DNS', () => {
    let server: GslbServer;
    const unknown: number[] = [];

    async function start(options: {hosts?: string[]; advertiseAddress?: string | null} = {}): Promise<void> {
        server = new GslbServer({
            host: '127.0.0.1',
            port: await freePort(),
            fallbackPort: 8080,
            hosts: options.hosts ?? [],
            advertiseAddress: options.advertiseAddress ?? null,
            udpPort: 8053,
            cloudKeyFor: (did) => (did === DID ? KEY : null),
            onUnknownDid: (did) => unknown.push(did),
        });
        await server.start();
    }

    beforeEach(() => {
        unknown.length = 0;
    });
    afterEach(async () => server.stop());

    it('answers dm=ot.io.mi.com with our host list signed with the cloud key', async () => {
        await start();
        const {status, body} = await get(server.port, `/gslb?tver=2&id=${DID}&dm=ot.io.mi.com&timestamp=1700000000&sign=abc`);
        expect(status).toBe(200);
        const answer = JSON.parse(body) as {info: unknown; timestamp: string; sign: string};
        expect(answer.info).toEqual({host_list: [{ip: '127.0.0.1', port: 8053}], enable: 1});
        expect(answer.timestamp).toBe('1700000000');
        // The signature is over the info object exactly as sent.
        const infoText = body.slice(body.indexOf('{', 1), body.indexOf(',"timestamp"'));
        expect(answer.sign).toBe(createHmac('sha256', KEY).update(infoText).digest('base64'));
        expect(infoText).toBe('{"host_list":[{"ip":"127.0.0.1","port":8053}],"enable":1}');
    });

    it('lists the configured hosts, or the advertised address', async () => {
        await start({hosts: ['192.168.1.2', '192.168.1.3']});
        const listed = JSON.parse((await get(server.port, `/gslb?id=${DID}&dm=de.ot.io.mi.com&timestamp=1`)).body) as {info: {host_list: unknown}};
        expect(listed.info.host_list).toEqual([{ip: '192.168.1.2', port: 8053}, {ip: '192.168.1.3', port: 8053}]);
        await server.stop();
        await start({advertiseAddress: '203.0.113.1'});
        const advertised = JSON.parse((await get(server.port, `/gslb?id=${DID}&dm=ot.io.mi.com&timestamp=1`)).body) as {info: {host_list: unknown}};
        expect(advertised.info.host_list).toEqual([{ip: '203.0.113.1', port: 8053}]);
    });

    it('answers 501 for the TCP cloud (ott) and refuses the rest', async () => {
        await start();
        expect((await get(server.port, `/gslb?id=${DID}&dm=ott.io.mi.com&timestamp=1`)).status).toBe(501);
        expect((await get(server.port, `/gslb?id=${DID}&dm=example.com`)).status).toBe(400);
        expect((await get(server.port, '/gslb?dm=ot.io.mi.com')).status).toBe(400);
        expect((await get(server.port, '/other')).status).toBe(404);
        expect((await get(server.port, `/gslb?id=12345&dm=ot.io.mi.com`)).status).toBe(404);
        expect(unknown).toEqual([12345]);
    });

    it('falls back to the unprivileged port when the configured one is refused', async () => {
        const fallbackPort = await freePort();
        // Tests may run as root, where port 80 binds: make the bind refuse as it does for a normal user.
        server = new GslbServer({
            host: '127.0.0.1',
            port: 80,
            fallbackPort,
            hosts: [],
            advertiseAddress: null,
            udpPort: 8053,
            cloudKeyFor: () => KEY,
            onUnknownDid: () => undefined,
        });
        const listen = net.Server.prototype.listen;
        const refusePort80 = vi.spyOn(net.Server.prototype, 'listen').mockImplementation(function (this: net.Server, ...args: unknown[]) {
            if (args[0] !== 80) return Reflect.apply(listen, this, args) as net.Server;
            process.nextTick(() => this.emit('error', Object.assign(new Error('listen EACCES'), {code: 'EACCES'})));
            return this;
        });
        try {
            await server.start();
        } finally {
            refusePort80.mockRestore();
        }
        expect(server.port).toBe(fallbackPort);
    });
});

describe('/gslb inside the miIO service', () => {
    it('signs with the configured device\'s cloud key and points at the UDP port', async () => {
        const port = await freePort();
        const harness = await startMiioService({devices: [{did: DID, key: KEY.toString('latin1')}], gslb: {enabled: true, host: '127.0.0.1', port}});
        try {
            const {status, body} = await get(port, `/gslb?tver=2&id=${DID}&dm=ot.io.mi.com&timestamp=5`);
            expect(status).toBe(200);
            const infoText = body.slice(body.indexOf('{', 1), body.indexOf(',"timestamp"'));
            expect(JSON.parse(infoText)).toEqual({host_list: [{ip: '127.0.0.1', port: harness.port}], enable: 1});
            expect((JSON.parse(body) as {sign: string}).sign).toBe(createHmac('sha256', KEY).update(infoText).digest('base64'));
            expect((await get(port, '/gslb?id=42&dm=ot.io.mi.com')).status).toBe(404);
        } finally {
            await harness.stop();
        }
    });
});
