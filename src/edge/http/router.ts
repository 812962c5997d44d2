/**
 * One route table for every HTTP listener of the edge: routing is on the method and path only, as
 * vendor clouds answer whatever host name a device used. The shared TLS port serves every family's
 * routes; a plain port a family asked for serves only that family's, so one family's catch-all
 * never answers on another's port.
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

/** A route and the family that added it. */
interface OwnedRoute extends HttpRoute {
    owner: string;
}

/** Answers one request; what an HTTP server calls. */
export type RequestListener = (request: http.IncomingMessage, response: http.ServerResponse) => void;

export class HttpRouter {
    private readonly routes: OwnedRoute[] = [];

    constructor(private readonly log: Logger) {}

    get size(): number {
        return this.routes.length;
    }

    add(route: HttpRoute, owner: string): void {
        const method = route.method.toUpperCase();
        if (this.routes.some((existing) => existing.method === method && existing.path === route.path && Boolean(existing.prefix) === Boolean(route.prefix))) {
            throw new Error(`an HTTP route for ${method} ${route.path} exists already`);
        }
        this.routes.push({...route, method, owner});
    }

    remove(route: HttpRoute): void {
        const index = this.routes.findIndex((existing) => existing.handler === route.handler && existing.path === route.path);
        if (index >= 0) this.routes.splice(index, 1);
    }

    /** Every family's routes: for the shared TLS port. */
    readonly handleAny: RequestListener = (request, response) => this.handle(request, response, null);

    /** Only `owner`'s routes: for a plain port that family asked for. */
    handlerFor(owner: string): RequestListener {
        return (request, response) => this.handle(request, response, owner);
    }

    /** Answers every request: a route's, 404 or 405 as JSON, or 500 when a handler fails. Never throws. */
    private handle(request: http.IncomingMessage, response: http.ServerResponse, owner: string | null): void {
        const peer = `${request.socket.remoteAddress ?? '?'}:${request.socket.remotePort ?? 0}`;
        const fail = (error: unknown): void => {
            this.log.limited('error', `http:handler:${request.socket.remoteAddress ?? ''}`, `HTTP ${clipPath(request.url)} from ${peer} failed: ${error instanceof Error ? error.message : String(error)}`);
            if (!response.headersSent) replyJson(response, 500, {error: 'internal error'});
            else response.destroy();
        };
        try {
            const path = pathOf(request.url);
            const onPath = this.routes.filter((route) => (owner === null || route.owner === owner) && (route.prefix ? path.startsWith(route.path) : path === route.path));
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
