/**
 * One route table for every HTTP listener of the edge (the shared TLS port and the plain ports
 * families ask for): routing is on the method and path only, as vendor clouds answer whatever
 * host name a device used.
 */

import type http from 'node:http';

import type {Logger} from '../../util/logger.js';

export type HttpHandler = (request: http.IncomingMessage, response: http.ServerResponse) => void | Promise<void>;

export interface HttpRoute {
    /** `GET`, `POST`, …, or `*` for any method. */
    method: string;
    /** The path (without query), matched exactly, or as a prefix with `prefix: true`. */
    path: string;
    prefix?: boolean;
    handler: HttpHandler;
}

export function replyJson(response: http.ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    response.writeHead(status, {'content-type': 'application/json', 'content-length': Buffer.byteLength(text)});
    response.end(text);
}

export class HttpRouter {
    private readonly routes: HttpRoute[] = [];

    constructor(private readonly log: Logger) {}

    get size(): number {
        return this.routes.length;
    }

    add(route: HttpRoute): void {
        const method = route.method.toUpperCase();
        if (this.routes.some((existing) => existing.method === method && existing.path === route.path && Boolean(existing.prefix) === Boolean(route.prefix))) {
            throw new Error(`an HTTP route for ${method} ${route.path} exists already`);
        }
        this.routes.push({...route, method});
    }

    remove(route: HttpRoute): void {
        const index = this.routes.findIndex((existing) => existing.handler === route.handler && existing.path === route.path);
        if (index >= 0) this.routes.splice(index, 1);
    }

    /** Answers every request: a route's, 404 or 405 as JSON, or 500 when a handler fails. Never throws. */
    handle(request: http.IncomingMessage, response: http.ServerResponse): void {
        const peer = `${request.socket.remoteAddress ?? '?'}:${request.socket.remotePort ?? 0}`;
        const fail = (error: unknown): void => {
            this.log.limited('error', `http:handler:${request.socket.remoteAddress ?? ''}`, `HTTP ${clipPath(request.url)} from ${peer} failed: ${error instanceof Error ? error.message : String(error)}`);
            if (!response.headersSent) replyJson(response, 500, {error: 'internal error'});
            else response.destroy();
        };
        try {
            const path = pathOf(request.url);
            const onPath = this.routes.filter((route) => (route.prefix ? path.startsWith(route.path) : path === route.path));
            if (onPath.length === 0) return replyJson(response, 404, {error: 'not found'});
            const method = (request.method ?? '').toUpperCase();
            const route = mostSpecific(onPath.filter((candidate) => candidate.method === '*' || candidate.method === method));
            if (!route) return replyJson(response, 405, {error: 'method not allowed'});
            const done = route.handler(request, response);
            if (done) done.catch(fail);
        } catch (error) {
            fail(error);
        }
    }
}

/** An exact path before any prefix, then the longest prefix. */
function mostSpecific(routes: HttpRoute[]): HttpRoute | undefined {
    return routes.sort((a, b) => Number(Boolean(a.prefix)) - Number(Boolean(b.prefix)) || b.path.length - a.path.length)[0];
}

function pathOf(url: string | undefined): string {
    const text = url ?? '/';
    const query = text.indexOf('?');
    return query < 0 ? text : text.slice(0, query);
}

function clipPath(url: string | undefined): string {
    const path = pathOf(url);
    return path.length > 80 ? `${path.slice(0, 80)}…` : path;
}
