/**
 * One TLS port shared by several services (DESIGN.md: 443 carries RainMaker MQTT with ALPN
 * `x-amzn-mqtt-ca`, and Ecovacs REST and MQTT). The handshake's ALPN and SNI, and when neither
 * decides, the first byte the client sends (0x10 is an MQTT CONNECT, a letter an HTTP method),
 * pick the route that gets the decrypted socket.
 *
 * Client certificates are requested but not required at the TLS level (HTTPS clients have none);
 * a route that needs one checks `socket.authorized` itself.
 */

import type tls from 'node:tls';

import type {TlsRefusalReason} from '../tls/refusals.js';
import {type BoundServer, type DeviceTlsServerOptions, type TlsMaterial, listenDeviceTls} from '../tls/server-sockets.js';

export interface TlsRouteMatch {
    /** The negotiated ALPN protocol, or false when the client offered none. */
    alpnProtocol: string | false;
    /** SNI, or null when the client sent none. */
    servername: string | null;
}

export interface TlsRoute {
    name: string;
    /** ALPN protocols this route serves; the first route whose protocol the client offers wins. */
    alpn?: string[];
    /**
     * Server names (SNI) this route serves, `*` standing for any run of characters (dots too):
     * `mq-*.ecouser.net`. A route with names is never chosen for another name, and wins over
     * routes without names.
     */
    sni?: string[];
    /** Extra condition on SNI and ALPN; without it, a route with `alpn` takes its protocols only. */
    matches?: (match: TlsRouteMatch) => boolean;
    /** When several routes match a connection without ALPN, the first byte it sends decides. */
    firstByte?: (byte: number) => boolean;
    /** Takes the socket over; must attach its readers before returning, and must not throw. */
    accept(socket: tls.TLSSocket): void;
}

export interface TlsPortOptions extends DeviceTlsServerOptions {
    /** How long a client that chose no route by ALPN may take to send its first byte. */
    firstByteTimeoutMs?: number;
}

export class TlsPortDispatcher {
    private readonly routes: TlsRoute[] = [];
    private readonly namePatterns = new Map<TlsRoute, RegExp[]>();
    private bound: BoundServer<tls.Server> | null = null;

    constructor(private readonly options: TlsPortOptions) {}

    addRoute(route: TlsRoute): void {
        if (this.routes.some((existing) => existing.name === route.name)) throw new Error(`a TLS route named ${route.name} exists already`);
        this.routes.push(route);
        if (route.sni) this.namePatterns.set(route, route.sni.map(sniPattern));
    }

    get routeCount(): number {
        return this.routes.length;
    }

    removeRoute(name: string): void {
        const index = this.routes.findIndex((route) => route.name === name);
        if (index < 0) return;
        this.namePatterns.delete(this.routes[index]!);
        this.routes.splice(index, 1);
    }

    /** A server certificate for clients asking for `servername` (SNI), e.g. a vendor host name. */
    addContext(servername: string, material: Pick<TlsMaterial, 'cert' | 'key'>): void {
        if (!this.bound) throw new Error('addContext needs a listening dispatcher');
        this.bound.server.addContext(servername, {...material, ca: this.options.tls.ca});
    }

    get port(): number | null {
        return this.bound?.port ?? null;
    }

    async listen(): Promise<number> {
        const {log, label} = this.options;
        this.bound = await listenDeviceTls(this.options, (socket) => this.dispatch(socket), {
            ALPNCallback: ({servername, protocols}) => this.chooseProtocol(servername || null, protocols),
        });
        const port = this.bound.port;
        log.info(`${label}: TLS on ${this.options.host}:${port} for ${this.routes.map((route) => route.name).join(', ') || 'no routes yet'}`);
        return port;
    }

    async close(): Promise<void> {
        const bound = this.bound;
        this.bound = null;
        await bound?.close();
    }

    /** Server preference: route order, then each route's protocol order. Undefined refuses the handshake. */
    private chooseProtocol(servername: string | null, offered: string[]): string | undefined {
        for (const route of this.routes) {
            if (!this.servesName(route, servername)) continue;
            for (const protocol of route.alpn ?? []) {
                if (offered.includes(protocol) && (!route.matches || route.matches({alpnProtocol: protocol, servername}))) return protocol;
            }
        }
        this.options.log.limited('warn', `${this.options.label}:alpn`, `${this.options.label}: no route for ALPN ${offered.join(', ')}${servername ? ` (SNI ${servername})` : ''}`);
        return undefined;
    }

    private dispatch(socket: tls.TLSSocket): void {
        const {log, label} = this.options;
        socket.on('error', () => {
            // A route attaches its own handler; this one keeps an error before that from being uncaught.
        });
        const match: TlsRouteMatch = {alpnProtocol: socket.alpnProtocol ?? false, servername: typeof socket.servername === 'string' ? socket.servername : null};
        const matching = this.routes.filter((route) => {
            if (!this.servesName(route, match.servername)) return false;
            if (match.alpnProtocol) return (route.alpn ?? []).includes(match.alpnProtocol) && (route.matches?.(match) ?? true);
            // Without ALPN: routes that say so through `matches`, and routes that need no ALPN.
            if (route.matches) return route.matches(match);
            return !route.alpn?.length;
        });
        // The server name is the most specific thing a client tells: routes chosen by it come first.
        const byName = matching.filter((route) => this.namePatterns.has(route));
        const candidates = byName.length > 0 ? byName : matching;
        if (candidates.length === 0) {
            const detail = `no route (ALPN ${match.alpnProtocol || 'none'}, SNI ${match.servername ?? 'none'})`;
            log.limited('warn', `${label}:noroute`, `${label}: no route for ${socket.remoteAddress ?? '?'} (ALPN ${match.alpnProtocol || 'none'}, SNI ${match.servername ?? 'none'})`);
            this.options.refusals?.record(socket.remoteAddress ?? 'a peer', `${label}:${this.port ?? '?'}`, this.noRouteReason(match), detail);
            socket.destroy();
            return;
        }
        if (candidates.length === 1 || match.alpnProtocol) {
            this.handOver(candidates[0]!, socket);
            return;
        }
        this.sniff(socket, candidates);
    }

    /** What the client left out that a route would have needed: its server name first, the most specific. */
    private noRouteReason(match: TlsRouteMatch): TlsRefusalReason {
        if (match.servername === null && this.namePatterns.size > 0) return 'no-sni';
        if (!match.alpnProtocol && this.routes.some((route) => route.alpn?.length)) return 'no-alpn';
        return 'other';
    }

    private servesName(route: TlsRoute, servername: string | null): boolean {
        const patterns = this.namePatterns.get(route);
        return !patterns || (servername !== null && patterns.some((pattern) => pattern.test(servername)));
    }

    private sniff(socket: tls.TLSSocket, candidates: TlsRoute[]): void {
        const {log, label} = this.options;
        const timer = setTimeout(() => {
            log.limited('warn', `${label}:silent`, `${label}: ${socket.remoteAddress ?? '?'} sent nothing after the handshake`);
            socket.destroy();
        }, this.options.firstByteTimeoutMs ?? 10_000);
        timer.unref();
        socket.once('close', () => clearTimeout(timer));
        socket.once('data', (chunk: Buffer) => {
            clearTimeout(timer);
            socket.pause();
            socket.unshift(chunk);
            const route = candidates.find((candidate) => candidate.firstByte?.(chunk[0]!) ?? false) ?? candidates.find((candidate) => !candidate.firstByte);
            if (!route) {
                const detail = `no route for first byte 0x${chunk[0]!.toString(16)}`;
                log.limited('warn', `${label}:firstbyte`, `${label}: ${detail} from ${socket.remoteAddress ?? '?'}`);
                this.options.refusals?.record(socket.remoteAddress ?? 'a peer', `${label}:${this.port ?? '?'}`, 'other', detail);
                socket.destroy();
                return;
            }
            this.handOver(route, socket);
            // The route has attached its readers (synchronously, as `accept` must): let the bytes flow again.
            if (!socket.destroyed) socket.resume();
        });
    }

    private handOver(route: TlsRoute, socket: tls.TLSSocket): void {
        try {
            route.accept(socket);
        } catch (error) {
            this.options.log.error(`${this.options.label}: route ${route.name} failed: ${(error as Error).message}`);
            socket.destroy();
        }
    }
}

function sniPattern(pattern: string): RegExp {
    const escaped = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
    return new RegExp(`^${escaped.join('.*')}$`, 'i');
}
