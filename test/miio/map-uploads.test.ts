import http from 'node:http';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {HttpRouter} from '../../src/edge/http/router.js';
import {type BoundHttpServer, listenPlainHttp} from '../../src/edge/http/server.js';
import {MapUploads} from '../../src/families/miio/map/map-uploads.js';
import {createLogger} from '../../src/util/logger.js';

const DID = 277_000_001;

describe('map uploads: URLs per request, PUT only from the address that asked, within the cap', () => {
    let server: BoundHttpServer;
    let now = 1_000_000;
    const uploads: [number, Buffer][] = [];
    const refusals: string[] = [];
    const maps = new MapUploads({
        maxBytes: 1024,
        urlLifetimeMs: 60_000,
        maxOpenUrls: 8,
        onUpload: (did, body) => uploads.push([did, body]),
        onRefused: (_address, reason) => refusals.push(reason),
        now: () => now,
    });
    let base: string;

    beforeAll(async () => {
        const router = new HttpRouter(createLogger('test:http'));
        router.add(maps.route, 'miio');
        server = (await listenPlainHttp(router.handlerFor('miio'), {host: '127.0.0.1', port: 0, label: 'map uploads'}, createLogger('test:http')))!;
        base = `http://127.0.0.1:${server.port}`;
    });

    afterAll(() => server?.close());

    function put(url: string, body: Buffer, chunked = false): Promise<number> {
        return new Promise((resolve, reject) => {
            const request = http.request(url, {method: 'PUT', headers: chunked ? {} : {'content-length': body.length}}, (response) => {
                response.resume();
                resolve(response.statusCode ?? 0);
            });
            request.on('error', reject);
            if (chunked) {
                for (let at = 0; at < body.length; at += 256) request.write(body.subarray(at, at + 256));
                request.end();
            } else request.end(body);
        });
    }

    const urlsFor = (address: string, method = '_sync.gen_presigned_url', params: unknown = {indexes: [0, 1]}): string[] =>
        maps.answer(DID, address, base, method, params).urls as string[];

    it('answers with one URL per index under the suffix, objects for the temporary ones', () => {
        expect(urlsFor('127.0.0.1')).toHaveLength(2);
        expect(maps.answer(DID, '127.0.0.1', base, '_sync.gen_presigned_url', {suffix: 'map'})).toMatchObject({ok: true, map: expect.any(Array)});
        const temporary = maps.answer(DID, '127.0.0.1', base, '_sync.gen_tmp_presigned_url', {indexes: [3]}).urls as Record<string, unknown>[];
        expect(temporary).toEqual([{url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/api\/miio\/map_upload\/[0-9a-f]{32}$/), obj_name: `${DID}/3`, method: 'PUT', expires_time: 1060, ok: true}]);
        expect(maps.answer(DID, '127.0.0.1', base, '_sync.gen_presigned_url', {indexes: Array.from({length: 1000}, (_, index) => index)}).urls).toHaveLength(8);
    });

    it('takes the map from the address that asked for the URL', async () => {
        const [url] = urlsFor('127.0.0.1');
        expect(await put(url!, Buffer.from('map bytes'))).toBe(200);
        expect(uploads.at(-1)).toEqual([DID, Buffer.from('map bytes')]);
    });

    it('refuses an upload from an address that asked for no URL, to an unknown URL, or after it expired', async () => {
        const before = uploads.length;
        const [elsewhere] = urlsFor('192.0.2.7');
        expect(await put(elsewhere!, Buffer.from('x'))).toBe(403);
        expect(refusals.at(-1)).toBe('map upload from 127.0.0.1, but the URL was given to 192.0.2.7');
        expect(await put(`${base}/api/miio/map_upload/${'0'.repeat(32)}`, Buffer.from('x'))).toBe(403);
        const [expiring] = urlsFor('127.0.0.1');
        now += 60_001;
        expect(await put(expiring!, Buffer.from('x'))).toBe(403);
        expect(refusals.at(-1)).toMatch(/not given out or has expired/);
        expect(uploads.length).toBe(before);
    });

    it('refuses an upload over the cap, declared or streamed', async () => {
        const before = uploads.length;
        const [declared, streamed] = urlsFor('127.0.0.1');
        expect(await put(declared!, Buffer.alloc(1025))).toBe(413);
        expect(await put(streamed!, Buffer.alloc(4096), true)).toBe(413);
        expect(refusals.slice(-2)).toEqual(['map upload of 1025 bytes is larger than 1024', 'map upload larger than 1024 bytes']);
        expect(uploads.length).toBe(before);
    });

    it('keeps at most maxOpenUrls open: the oldest go first', async () => {
        const [oldest] = urlsFor('127.0.0.1', '_sync.gen_presigned_url', {indexes: [0]});
        for (let round = 0; round < 4; round++) urlsFor('127.0.0.1');
        expect(await put(oldest!, Buffer.from('x'))).toBe(403);
    });
});
