/**
 * OTA for RainMaker nodes (rainmaker.md §8): firmware images in a directory, jobs offered on
 * `node/<id>/otaurl`, and a small HTTPS server the node downloads the image from. The node
 * verifies the server against its compiled-in trust, so it runs on our server certificate.
 */

import {createHash, randomBytes} from 'node:crypto';
import {createReadStream} from 'node:fs';
import {mkdir, readdir, stat} from 'node:fs/promises';
import type {IncomingMessage, ServerResponse} from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import path from 'node:path';
import {pipeline} from 'node:stream';

import {closeHttpServer} from '../../util/http-server.js';
import {listen} from '../../util/listen.js';
import type {Logger} from '../../util/logger.js';

export interface FirmwareImage {
    file: string;
    path: string;
    project: string;
    version: string;
    size: number;
    mtimeMs: number;
}

export interface OtaJob {
    id: string;
    version: string;
    file: string;
    size: number;
    md5: string;
    /** `pending` until the node fetched it; then the node's own status words. */
    status: 'pending' | 'in-progress' | 'delayed' | 'success' | 'failed' | 'rejected';
    progress: number | null;
    info: string | null;
    createdAt: number;
}

/** `led_light-1.1.bin` → project `led_light`, version `1.1`; the version starts at the first `-<digit>`. */
const IMAGE_NAME = /^([A-Za-z0-9_.-]+?)-(v?\d[A-Za-z0-9._+-]*)\.bin$/;

export function parseImageName(file: string): {project: string; version: string} | null {
    const match = IMAGE_NAME.exec(file);
    return match ? {project: match[1]!, version: match[2]!.replace(/^v/, '')} : null;
}

/** Numeric parts compare as numbers, the rest as text: 1.10 > 1.9, 2.0-rc1 < 2.0.1. */
export function compareVersions(a: string, b: string): number {
    const split = (version: string): string[] => version.split(/[^A-Za-z0-9]+/).filter(Boolean);
    const left = split(a);
    const right = split(b);
    for (let index = 0; index < Math.max(left.length, right.length); index++) {
        const x = left[index];
        const y = right[index];
        if (x === undefined) return -1;
        if (y === undefined) return 1;
        const nx = /^\d+$/.test(x) ? Number(x) : Number.NaN;
        const ny = /^\d+$/.test(y) ? Number(y) : Number.NaN;
        const order = !Number.isNaN(nx) && !Number.isNaN(ny) ? nx - ny : x.localeCompare(y);
        if (order !== 0) return Math.sign(order);
    }
    return 0;
}

/** The images in the firmware directory, by project; rescanned on demand. */
export class FirmwareCatalog {
    private images: FirmwareImage[] = [];

    constructor(
        readonly directory: string,
        private readonly log: Logger,
    ) {}

    async scan(): Promise<void> {
        await mkdir(this.directory, {recursive: true});
        const images: FirmwareImage[] = [];
        for (const file of await readdir(this.directory)) {
            const parsed = parseImageName(file);
            if (!parsed) continue;
            const full = path.join(this.directory, file);
            try {
                const info = await stat(full);
                if (info.isFile()) images.push({file, path: full, ...parsed, size: info.size, mtimeMs: info.mtimeMs});
            } catch (error) {
                this.log.warn(`cannot read firmware image ${full}: ${(error as Error).message}`);
            }
        }
        this.images = images;
    }

    /** The highest version for the project; newer files win a tie. */
    latestFor(project: string | null): FirmwareImage | null {
        if (!project) return null;
        let best: FirmwareImage | null = null;
        for (const image of this.images) {
            if (image.project !== project) continue;
            if (!best || compareVersions(image.version, best.version) > 0 || (compareVersions(image.version, best.version) === 0 && image.mtimeMs > best.mtimeMs)) {
                best = image;
            }
        }
        return best;
    }
}

export async function md5OfFile(file: string): Promise<string> {
    const hash = createHash('md5');
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    return hash.digest('hex');
}

export async function createJob(image: FirmwareImage): Promise<OtaJob> {
    return {
        id: `job-${randomBytes(8).toString('hex')}`,
        version: image.version,
        file: image.path,
        size: image.size,
        md5: await md5OfFile(image.path),
        status: 'pending',
        progress: null,
        info: null,
        createdAt: Date.now(),
    };
}

/** `Downloaded 42% Firmware Image` → 42. */
export function progressFromInfo(info: string | null | undefined): number | null {
    const match = /(\d{1,3})\s*%/.exec(info ?? '');
    if (!match) return null;
    return Math.min(100, Number(match[1]));
}

/** Whether a `failed` report is the last of the node's attempts ("OTA Attempt 3/3 failed: …"). */
export function isFinalFailure(info: string | null | undefined): boolean {
    const match = /attempt\s+(\d+)\s*\/\s*(\d+)/i.exec(info ?? '');
    return !match || Number(match[1]) >= Number(match[2]);
}

export interface OtaServerOptions {
    host: string;
    port: number;
    cert: string;
    key: string;
    /** Host name the nodes resolve to us (what the certificate names). */
    publicHost: string;
    log: Logger;
}

/**
 * Serves `/ota/<job id>/<file name>` for open jobs only: nobody can list or fetch the directory.
 * Supports `Range: bytes=N-` because the node resumes interrupted downloads when it has the MD5.
 */
export class OtaFileServer {
    private readonly jobs = new Map<string, OtaJob>();
    private server: https.Server | null = null;
    private boundPort = 0;

    constructor(private readonly options: OtaServerOptions) {}

    async start(): Promise<number> {
        const server = https.createServer(
            {
                cert: this.options.cert,
                key: this.options.key,
                minVersion: 'TLSv1.2',
                requestTimeout: 15_000,
                headersTimeout: 10_000,
                keepAliveTimeout: 5_000,
            },
            (request, response) => {
                try {
                    this.serve(request, response);
                } catch (error) {
                    this.options.log.error(`OTA download failed: ${(error as Error).message}`);
                    response.destroy();
                }
            },
        );
        server.maxConnections = 512;
        server.on('connection', (socket: net.Socket) => socket.setNoDelay(true));
        server.on('tlsClientError', (error, socket) => {
            this.options.log.limited('debug', 'ota-tls', `OTA TLS handshake from ${socket.remoteAddress ?? '?'} failed: ${error.message}`);
        });
        this.boundPort = await listen(server, {host: this.options.host, port: this.options.port, log: this.options.log, label: 'OTA server'});
        this.server = server;
        this.options.log.info(`OTA downloads on https://${this.options.publicHost}:${this.boundPort}/ota/`);
        return this.boundPort;
    }

    async stop(): Promise<void> {
        const server = this.server;
        this.server = null;
        if (!server) return;
        await closeHttpServer(server);
    }

    open(job: OtaJob): void {
        this.jobs.set(job.id, job);
    }

    close(jobId: string): void {
        this.jobs.delete(jobId);
    }

    urlFor(job: OtaJob): string {
        return `https://${this.options.publicHost}:${this.boundPort}/ota/${job.id}/${encodeURIComponent(path.basename(job.file))}`;
    }

    private serve(request: IncomingMessage, response: ServerResponse): void {
        const match = /^\/ota\/(job-[0-9a-f]{16})\/([^/?]+)$/.exec(request.url ?? '');
        const job = match ? this.jobs.get(match[1]!) : undefined;
        if (request.method !== 'GET' && request.method !== 'HEAD') {
            response.writeHead(405, {Allow: 'GET, HEAD'}).end();
            return;
        }
        if (!job || decodedOrNull(match![2]!) !== path.basename(job.file)) {
            response.writeHead(404, {'Content-Type': 'text/plain'}).end('not found\n');
            return;
        }
        let start = 0;
        const range = request.headers.range;
        if (range) {
            const parsed = /^bytes=(\d+)-$/.exec(range);
            if (!parsed || Number(parsed[1]) >= job.size) {
                response.writeHead(416, {'Content-Range': `bytes */${job.size}`}).end();
                return;
            }
            start = Number(parsed[1]);
        }
        const headers: Record<string, string | number> = {'Content-Type': 'application/octet-stream', 'Content-Length': job.size - start, 'Accept-Ranges': 'bytes'};
        if (start > 0) headers['Content-Range'] = `bytes ${start}-${job.size - 1}/${job.size}`;
        response.writeHead(start > 0 ? 206 : 200, headers);
        if (request.method === 'HEAD') {
            response.end();
            return;
        }
        this.options.log.info(`${request.socket.remoteAddress ?? '?'} downloads ${path.basename(job.file)} for ${job.id}${start ? ` from byte ${start}` : ''}`);
        // pipeline, not pipe: a node that drops the download mid-way must not leave the file open
        // (pipe only unpipes, and each abandoned attempt would keep one descriptor until EMFILE).
        pipeline(createReadStream(job.file, {start}), response, (error) => {
            if (!error) return;
            if (response.destroyed && error.code === 'ERR_STREAM_PREMATURE_CLOSE') {
                this.options.log.debug(() => `${job.id}: the download of ${path.basename(job.file)} was interrupted`);
            } else {
                this.options.log.error(`OTA image ${job.file}: ${error.message}`);
            }
        });
    }
}

/** A malformed escape (`%zz`) is a request for a file that does not exist, not a server error. */
function decodedOrNull(component: string): string | null {
    try {
        return decodeURIComponent(component);
    } catch {
        return null;
    }
}
