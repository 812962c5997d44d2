/**
 * The edge's HTTP routes are one table, but a plain port a family asked for answers only that
 * family's routes: one family's catch-all must not answer on another family's port (Ecovacs' REST
 * catch-all on miIO's `/gslb` port 80), while the shared TLS port serves them all.
 */
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {DeviceEdge, replyJson} from '../../src/edge/index.js';
import {settingsSchema} from '../../src/settings.js';
import {freePort} from '../support/net.js';

describe('plain HTTP ports of two families', () => {
    let dir: string;
    let edge: DeviceEdge;

    beforeAll(async () => {
        dir = mkdtempSync(path.join(tmpdir(), 'fogbridge-http-ports-'));
        edge = new DeviceEdge(settingsSchema.parse({dataDir: dir}).edge, dir);
        const narrow = edge.forFamily('narrow');
        narrow.addHttpRoute({method: 'GET', path: '/gslb', handler: (_request, response) => replyJson(response, 200, {family: 'narrow'})});
        narrow.servePlainHttp({host: '127.0.0.1', port: await freePort(), label: 'narrow-http'});
        const catchAll = edge.forFamily('catch-all');
        catchAll.addHttpRoute({method: '*', path: '/', prefix: true, handler: (_request, response) => replyJson(response, 200, {family: 'catch-all'})});
        catchAll.servePlainHttp({host: '127.0.0.1', port: await freePort(), label: 'catch-all-http'});
        await edge.listen();
    });

    afterAll(async () => {
        await edge.stopListening();
        await edge.stop();
        rmSync(dir, {recursive: true, force: true});
    });

    async function get(label: string, urlPath: string): Promise<{status: number; body: unknown}> {
        const response = await fetch(`http://127.0.0.1:${edge.ports.http[label]}${urlPath}`);
        return {status: response.status, body: await response.json()};
    }

    it("answers a family's own routes on its port", async () => {
        expect(await get('narrow-http', '/gslb')).toEqual({status: 200, body: {family: 'narrow'}});
        expect(await get('catch-all-http', '/anything')).toEqual({status: 200, body: {family: 'catch-all'}});
    });

    it("never answers another family's routes on a family's port", async () => {
        expect(await get('narrow-http', '/anything')).toEqual({status: 404, body: {error: 'not found'}});
        expect(await get('catch-all-http', '/gslb')).toEqual({status: 200, body: {family: 'catch-all'}});
    });
});
