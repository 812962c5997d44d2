import type {Server} from 'node:http';

/**
 * Stops an HTTP(S) server now: open keep-alive and half-finished downloads are cut rather than
 * waited for, since the devices on the other end retry.
 */
export async function closeHttpServer(server: Server): Promise<void> {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
}
