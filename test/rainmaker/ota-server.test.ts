import {createHash} from 'node:crypto';
import {mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync} from 'node:fs';
import https from 'node:https';
import {tmpdir} from 'node:os';
import path from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {createLogger} from '../../src/util/logger.js';
import {FirmwareCatalog, OtaFileServer, type OtaJob, createJob} from '../../src/families/rainmaker/ota.js';
import {type CertificateAuthority, loadOrCreateCa} from '../../src/edge/tls/ca.js';
import {issueServerCertificate} from '../../src/edge/tls/issue.js';
import {freePort, waitFor} from '../support/net.js';

let dir: string;
let ca: CertificateAuthority;
let server: OtaFileServer;
let job: OtaJob;
const image = Buffer.from(Array.from({length: 5000}, (_, index) => index % 251));

function get(url: string, options: {method?: string; headers?: Record<string, string>} = {}): Promise<{status: number; body: Buffer; headers: Record<string, unknown>}> {
    const target = new URL(url);
    return new Promise((resolve, reject) => {
        const request = https.request(
            {host: '127.0.0.1', port: target.port, path: target.pathname, method: options.method ?? 'GET', headers: options.headers, ca: ca.certPem, servername: 'ota.fogbridge.test'},
            (response) => {
                const chunks: Buffer[] = [];
                response.on('data', (chunk: Buffer) => chunks.push(chunk));
                response.on('end', () => resolve({status: response.statusCode!, body: Buffer.concat(chunks), headers: response.headers}));
            },
        );
        request.on('error', reject);
        request.end();
    });
}

beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'fogbridge-ota-'));
    ca = await loadOrCreateCa(dir);
    const cert = issueServerCertificate(ca, {hosts: ['ota.fogbridge.test'], ips: []});
    writeFileSync(path.join(dir, 'led_light-1.2.bin'), image);
    writeFileSync(path.join(dir, 'led_light-1.10.bin'), image);
    writeFileSync(path.join(dir, 'other-9.0.bin'), image);
    const catalog = new FirmwareCatalog(dir, createLogger('test:ota'));
    await catalog.scan();
    expect(catalog.latestFor('led_light')?.version).toBe('1.10');
    expect(catalog.latestFor('nothing')).toBeNull();
    server = new OtaFileServer({host: '127.0.0.1', port: await freePort(), cert: cert.certPem + ca.certPem, key: cert.keyPem, publicHost: 'ota.fogbridge.test', log: createLogger('test:ota')});
    await server.start();
    job = await createJob(catalog.latestFor('led_light')!);
    server.open(job);
});

afterAll(async () => {
    await server?.stop();
    rmSync(dir, {recursive: true, force: true});
});

describe('OTA file server', () => {
    it('serves an open job\'s image whole and from an offset', async () => {
        expect(job).toMatchObject({version: '1.10', size: 5000, md5: createHash('md5').update(image).digest('hex'), status: 'pending'});
        const whole = await get(server.urlFor(job));
        expect(whole.status).toBe(200);
        expect(whole.body.equals(image)).toBe(true);
        const rest = await get(server.urlFor(job), {headers: {Range: 'bytes=4000-'}});
        expect(rest.status).toBe(206);
        expect(rest.headers['content-range']).toBe('bytes 4000-4999/5000');
        expect(rest.body.equals(image.subarray(4000))).toBe(true);
        expect((await get(server.urlFor(job), {headers: {Range: 'bytes=9000-'}})).status).toBe(416);
        expect((await get(server.urlFor(job), {method: 'HEAD'})).status).toBe(200);
    });

    it('serves nothing else: other names, other jobs, other methods, closed jobs', async () => {
        const url = new URL(server.urlFor(job));
        const base = `https://${url.host}`;
        expect((await get(`${base}/ota/${job.id}/other-9.0.bin`)).status).toBe(404);
        expect((await get(`${base}/ota/${job.id}/..%2Fother-9.0.bin`)).status).toBe(404);
        // A malformed escape is an unknown file, not a dropped connection.
        expect((await get(`${base}/ota/${job.id}/led_light-1.10%zz.bin`)).status).toBe(404);
        expect((await get(`${base}/ota/job-0000000000000000/led_light-1.10.bin`)).status).toBe(404);
        expect((await get(`${base}/`)).status).toBe(404);
        expect((await get(server.urlFor(job), {method: 'POST'})).status).toBe(405);
        server.close(job.id);
        expect((await get(server.urlFor(job))).status).toBe(404);
    });

    it('closes the image file when a node drops the download half way', async () => {
        const file = path.join(dir, 'big_image-2.0.bin');
        writeFileSync(file, Buffer.alloc(4 * 1024 * 1024, 0x5a));
        const catalog = new FirmwareCatalog(dir, createLogger('test:ota'));
        await catalog.scan();
        const bigJob = await createJob(catalog.latestFor('big_image')!);
        server.open(bigJob);
        const openDescriptors = (): number =>
            readdirSync('/proc/self/fd').filter((fd) => {
                try {
                    return readlinkSync(`/proc/self/fd/${fd}`) === file;
                } catch {
                    return false;
                }
            }).length;
        const url = new URL(server.urlFor(bigJob));
        for (let attempt = 0; attempt < 3; attempt++) {
            await new Promise<void>((resolve, reject) => {
                const request = https.get({host: '127.0.0.1', port: url.port, path: url.pathname, ca: ca.certPem, servername: 'ota.fogbridge.test'}, (response) => {
                    response.once('data', () => {
                        request.destroy();
                        resolve();
                    });
                });
                request.on('error', (error) => (request.destroyed ? undefined : reject(error)));
            });
        }
        await waitFor(() => openDescriptors() === 0, 5000, 'every aborted download to close its file');
    });
});
