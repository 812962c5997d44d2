/**
 * The web UI's JSON endpoints. Every answer is JSON; every refusal says why in `{"error": …}` with
 * a 4xx status, and is logged once (command refusals by the router, the rest here).
 */
import type http from 'node:http';
import {isIPv4} from 'node:net';
import {pipeline} from 'node:stream/promises';

import {CommandError, quote} from '../core/commands.js';
import {type Device, toPublic} from '../core/device.js';
import {SetupRefused} from '../core/setup.js';
import type {DeviceTraffic} from '../core/traffic.js';
import type {LogLine} from '../util/logger.js';
import {createLogger, redact} from '../util/logger.js';
import {isPlainObject} from '../util/plain-object.js';
import {decodeWebCommand} from './commands.js';
import type {Onboarding, OnboardingNote, WebContext} from './context.js';

const log = createLogger('web:api');

/** Commands and names are a few hundred bytes; anything near this is not from our page. */
const MAX_BODY_BYTES = 16 * 1024;
const MAX_NAME_LENGTH = 64;

class HttpError extends Error {
    constructor(
        readonly status: number,
        message: string,
    ) {
        super(message);
    }
}

export async function handleApiRequest(
    context: WebContext,
    url: URL,
    request: http.IncomingMessage,
    response: http.ServerResponse,
    local: {recentLog: () => readonly LogLine[]; traffic: Pick<DeviceTraffic, 'recent'>},
): Promise<void> {
    const method = request.method ?? 'GET';
    try {
        const parts = url.pathname.split('/').slice(2).map(decodePathPart);
        const [resource, deviceId, sub, featureId, extra] = parts;
        if (resource === 'health' && parts.length === 1) return allow(method, ['GET'], () => reply(response, 200, context.health()));
        if (resource === 'tls-refusals' && parts.length === 1) return allow(method, ['GET'], () => reply(response, 200, context.tlsRefusals.list()));
        if (resource === 'log' && parts.length === 1) return allow(method, ['GET'], () => reply(response, 200, local.recentLog()));
        if (resource === 'onboarding' && parts.length === 1) {
            const {address, families, formats} = context.onboarding;
            const actions = context.router.onboardingActions();
            assertMethod(method, ['GET']);
            const files = await context.router.onboardingFiles();
            return reply(response, 200, {address, families, formats, actions, files, caCertificate: context.caCertificate() !== null});
        }
        if (resource === 'files' && parts.length === 4) {
            assertMethod(method, ['GET']);
            const [, family, filesId, item] = parts as [string, string, string, string];
            return await sendOnboardingFile(context, family, filesId, item, response);
        }
        if (resource === 'actions' && parts.length === 3) {
            assertMethod(method, ['POST']);
            const [, family, actionId] = parts as [string, string, string];
            return await runOnboardingAction(context, family, actionId, await readJson(request), response);
        }
        if (resource === 'ca.crt' && parts.length === 1) return allow(method, ['GET'], () => sendCaCertificate(context, response));
        if (resource === 'backup' && parts.length === 1) {
            assertMethod(method, ['GET']);
            return await sendBackup(context, response);
        }
        if (resource === 'dns' && parts.length === 1) return allow(method, ['GET'], () => reply(response, 200, {text: dnsRedirects(context, url.searchParams)}));
        if (resource === 'notes' && parts.length === 1) return allow(method, ['GET'], () => reply(response, 200, onboardingNotes(context, url.searchParams)));
        if (resource !== 'devices' || extra !== undefined) throw new HttpError(404, `no such endpoint: ${url.pathname}`);
        if (deviceId === undefined) return allow(method, ['GET'], () => reply(response, 200, context.registry.list().map(toPublic)));
        const device = context.registry.get(deviceId);
        if (!device) throw new HttpError(404, `unknown device ${deviceId}`);
        if (sub === undefined) {
            if (method === 'DELETE') return removeDevice(context, device, response);
            return allow(method, ['GET', 'DELETE'], () => reply(response, 200, toPublic(device)));
        }
        if (sub === 'name' && featureId === undefined) {
            assertMethod(method, ['PUT']);
            return renameDevice(context, device, await readJson(request), response);
        }
        if (sub === 'setup' && featureId === undefined) {
            if (method === 'POST') return await setUpDevice(context, device, await readJson(request), response);
            return allow(method, ['GET', 'POST'], () => reply(response, 200, {fields: context.router.pendingSetup(device.id)}));
        }
        if (sub === 'messages' && featureId === undefined) return allow(method, ['GET'], () => reply(response, 200, local.traffic.recent(device.id)));
        if (sub === 'image' && featureId !== undefined) return allow(method, ['GET'], () => sendImage(context, device, featureId, response));
        if (sub === 'features' && featureId !== undefined) {
            assertMethod(method, ['POST']);
            return await sendCommand(context, device, featureId, await readJson(request), response);
        }
        throw new HttpError(404, `no such endpoint: ${url.pathname}`);
    } catch (error) {
        if (!(error instanceof HttpError)) throw error;
        log.limited('info', `${error.status}:${method}`, `${method} ${url.pathname}: ${error.status} ${error.message}`);
        reply(response, error.status, {error: error.message});
    }
}

async function sendCommand(context: WebContext, device: Device, featureId: string, body: unknown, response: http.ServerResponse): Promise<void> {
    try {
        await context.router.decodeAndRoute(device.id, featureId, (feature) => decodeWebCommand(body, feature));
    } catch (error) {
        // The router has logged the refusal or failure with its reason.
        const status = error instanceof CommandError ? 422 : 502;
        reply(response, status, {error: redact((error as Error).message)});
        return;
    }
    // The new state comes from the device, over the WebSocket, once it has carried the command out.
    reply(response, 202, {accepted: true});
}

/** Setup input (a cloud key): answered with nothing of it, refusals with the reason alone. */
async function setUpDevice(context: WebContext, device: Device, body: unknown, response: http.ServerResponse): Promise<void> {
    try {
        await context.router.setUp(device.id, body);
    } catch (error) {
        // The router has logged the refusal or failure with its reason.
        reply(response, error instanceof SetupRefused ? 422 : 502, {error: redact((error as Error).message)});
        return;
    }
    reply(response, 202, {accepted: true});
}

/** A family's onboarding action (`actions/<family>/<action>`): what was done, or the refusal's reason. */
async function runOnboardingAction(context: WebContext, family: string, actionId: string, body: unknown, response: http.ServerResponse): Promise<void> {
    try {
        reply(response, 200, {done: await context.router.runOnboardingAction(family, actionId, body)});
    } catch (error) {
        // The router has logged the refusal or failure with its reason.
        reply(response, error instanceof SetupRefused ? 422 : 502, {error: redact((error as Error).message)});
    }
}

/** A family's onboarding download (a node's factory files, its private key inside): on explicit request only, never cached. */
async function sendOnboardingFile(context: WebContext, family: string, filesId: string, item: string, response: http.ServerResponse): Promise<void> {
    let download;
    try {
        download = await context.router.openOnboardingFile(family, filesId, item);
    } catch (error) {
        // The router has logged the refusal.
        if (error instanceof SetupRefused) throw new HttpError(404, error.message);
        throw error;
    }
    response.writeHead(200, {'Content-Type': download.contentType, 'Content-Disposition': `attachment; filename="${download.filename}"`, 'Cache-Control': 'no-store'});
    await pipeline(download.body, response);
}

/** The archive as a download; it holds every key, so nothing may cache it. */
async function sendBackup(context: WebContext, response: http.ServerResponse): Promise<void> {
    const archive = await context.backup();
    const day = new Date().toISOString().slice(0, 10);
    response.writeHead(200, {'Content-Type': 'application/gzip', 'Content-Disposition': `attachment; filename="fogbridge-backup-${day}.tar.gz"`, 'Cache-Control': 'no-store'});
    log.info('backup downloaded from the web UI');
    await pipeline(archive, response);
}

/** The devices' CA certificate, public part only: what firmware bundles and verifying clients trust. */
function sendCaCertificate(context: WebContext, response: http.ServerResponse): void {
    const pem = context.caCertificate();
    if (pem === null) throw new HttpError(404, 'there is no CA yet: it is created when the first family that needs TLS starts');
    response.writeHead(200, {'Content-Type': 'application/x-pem-file', 'Content-Disposition': 'attachment; filename="fogbridge-ca.crt"', 'Cache-Control': 'no-store'});
    response.end(pem);
}

/** The latest picture of an image feature; the page asks with `?v=<updatedAt>`, so it never caches one. */
function sendImage({images}: WebContext, device: Device, featureId: string, response: http.ServerResponse): void {
    const image = images.get(device.id, featureId);
    if (!image) throw new HttpError(404, `${device.id} has no picture for "${featureId}" yet`);
    response.writeHead(200, {'content-type': 'image/png', 'content-length': image.png.length, 'cache-control': 'no-store'});
    response.end(image.png);
}

function dnsRedirects({onboarding}: WebContext, query: URLSearchParams): string {
    const format = query.get('format') ?? '';
    if (!onboarding.formats.includes(format)) throw new HttpError(400, `format must be one of ${onboarding.formats.join(', ')}`);
    const {address, family} = addressAndFamily(onboarding, query);
    return onboarding.redirects(format, address, family);
}

function onboardingNotes({onboarding}: WebContext, query: URLSearchParams): OnboardingNote[] {
    const {address, family} = addressAndFamily(onboarding, query);
    return onboarding.notes(address, family);
}

/** `?address=<IPv4>&family=<id>` (family optional: every family) of the onboarding endpoints. */
function addressAndFamily(onboarding: Onboarding, query: URLSearchParams): {address: string; family: string | undefined} {
    const address = query.get('address') ?? '';
    const family = query.get('family') || undefined;
    if (!isIPv4(address)) throw new HttpError(400, `address must be an IPv4 address, not ${quote(address)}`);
    if (family !== undefined && !onboarding.families.includes(family)) throw new HttpError(400, `unknown family ${quote(family)}`);
    return {address, family};
}

function renameDevice(context: WebContext, device: Device, body: unknown, response: http.ServerResponse): void {
    const name = isPlainObject(body) && typeof body.name === 'string' ? body.name.trim() : '';
    if (!name || name.length > MAX_NAME_LENGTH) throw new HttpError(400, `a name is 1 to ${MAX_NAME_LENGTH} characters: {"name": "Kitchen plug"}`);
    context.registry.rename(device.id, name);
    log.info(`${device.id} renamed to "${name}"`);
    reply(response, 200, toPublic(device));
}

function removeDevice(context: WebContext, device: Device, response: http.ServerResponse): void {
    // A connected device would be added again by its next packet, and its adapter still holds it.
    if (device.link.online) throw new HttpError(409, `${device.facts.name} is connected: it would be back at once. Disconnect it first, then remove it.`);
    context.registry.remove(device.id);
    reply(response, 200, {removed: device.id});
}

function allow(method: string, allowed: string[], handle: () => void): void {
    assertMethod(method, allowed);
    handle();
}

function assertMethod(method: string, allowed: string[]): void {
    if (!allowed.includes(method)) throw new HttpError(405, `${method} is not allowed here (only ${allowed.join(', ')})`);
}

function decodePathPart(part: string): string {
    try {
        return decodeURIComponent(part);
    } catch {
        throw new HttpError(400, 'malformed URL');
    }
}

/**
 * The body as JSON. Only `application/json` is read: a form on another site can post text to
 * 127.0.0.1 without asking, but not JSON.
 */
async function readJson(request: http.IncomingMessage): Promise<unknown> {
    if (!request.headers['content-type']?.toLowerCase().startsWith('application/json')) {
        throw new HttpError(415, 'send the body as Content-Type: application/json');
    }
    if (Number(request.headers['content-length'] ?? 0) > MAX_BODY_BYTES) throw tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) throw tooLarge();
        chunks.push(chunk);
    }
    try {
        return JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
        throw new HttpError(400, 'the body is not valid JSON');
    }
}

/** The rest of the body is not read: the answer closes the connection. */
function tooLarge(): HttpError {
    return new HttpError(413, `the body is larger than ${MAX_BODY_BYTES / 1024} KiB`);
}

function reply(response: http.ServerResponse, status: number, body: unknown): void {
    const headers: http.OutgoingHttpHeaders = {'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store'};
    if (status === 413) headers.Connection = 'close';
    response.writeHead(status, headers).end(JSON.stringify(body));
}
