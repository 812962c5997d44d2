import type {DeviceEdge, FamilyEdge} from '../../src/edge/index.js';
import type {FamilyService} from '../../src/families/family.js';

export interface ServiceOnEdge<S extends FamilyService> {
    edge: DeviceEdge;
    service: S;
    /** Stops the service, then the edge. */
    stop(): Promise<void>;
}

/**
 * One family's service on an edge of its own, in the bridge's order: create (names, routes),
 * prepare (certificate), start, listen. A failure releases whatever had started.
 */
export async function startOnEdge<S extends FamilyService>(edge: DeviceEdge, family: string, create: (edge: FamilyEdge) => S): Promise<ServiceOnEdge<S>> {
    const service = create(edge.forFamily(family));
    const stop = async (): Promise<void> => {
        await edge.stopListening();
        await service.stop();
        await edge.stop();
    };
    try {
        await edge.prepare();
        await service.start();
        await edge.listen();
    } catch (error) {
        await stop();
        throw error;
    }
    return {edge, service, stop};
}
