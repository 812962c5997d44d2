import http from 'node:http';
import net from 'node:net';

export interface IngressProxy {
    /** The page's address as Home Assistant's ingress would show it. */
    url: string;
    close(): Promise<void>;
}

/**
 * A stand-in for Home Assistant's ingress: serves the web UI under `/api/hassio_ingress/<token>/`,
 * strips that prefix and tells the UI with `X-Ingress-Path`, WebSocket upgrades included.
 */
export async function startIngressProxy(targetPort: number, token = 'T0k3n'): Promise<IngressProxy> {
    const prefix = `/api/hassio_ingress/${token}`;
    const tunnels = new Set<net.Socket>();
    const strip = (url: string | undefined): string | null => (url?.startsWith(`${prefix}/`) ? url.slice(prefix.length) : null);
    const server = http.createServer((request, response) => {
        const path = strip(request.url);
        if (path === null) {
            response.writeHead(404).end('not under the ingress path');
            return;
        }
        const upstream = http.request(
            {host: '127.0.0.1', port: targetPort, method: request.method, path, headers: {...request.headers, 'x-ingress-path': prefix}},
            (answer) => {
                response.writeHead(answer.statusCode ?? 502, answer.headers);
                answer.pipe(response);
            },
        );
        upstream.on('error', () => response.destroy());
        request.pipe(upstream);
    });
    server.on('upgrade', (request, socket, head) => {
        const path = strip(request.url);
        if (path === null) {
            socket.destroy();
            return;
        }
        const upstream = net.connect(targetPort, '127.0.0.1', () => {
            tunnels.add(upstream).add(socket as net.Socket);
            const headers = Object.entries({...request.headers, 'x-ingress-path': prefix}).map(([name, value]) => `${name}: ${String(value)}`);
            upstream.write(`${request.method} ${path} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`);
            upstream.write(head);
            upstream.pipe(socket);
            socket.pipe(upstream);
        });
        upstream.on('error', () => socket.destroy());
        socket.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const {port} = server.address() as net.AddressInfo;
    return {
        url: `http://127.0.0.1:${port}${prefix}/`,
        async close() {
            for (const tunnel of tunnels) tunnel.destroy();
            server.closeAllConnections();
            await new Promise<void>((resolve) => server.close(() => resolve()));
        },
    };
}
