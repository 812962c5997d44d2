import {ALLOWED, type BrokerPolicy, refused} from '../../src/edge/index.js';
import type {ToySettings} from './settings.js';

export const TOY_CLIENT_PREFIX = 'toy-';

/** Toy devices: client id `toy-<serial>`, the configured username and password, no certificate, own topics only. */
export function toyPolicy(settings: ToySettings): BrokerPolicy {
    const own = (clientId: string, topic: string, suffix: string): boolean => topic === `toy/${clientId.slice(TOY_CLIENT_PREFIX.length)}/${suffix}`;
    return {
        claims: (client) => client.certificate === null && client.id.startsWith(TOY_CLIENT_PREFIX),
        authenticate: (client, password) =>
            client.username === settings.username && password?.toString() === settings.password ? ALLOWED : refused('wrong username or password'),
        authorizePublish: (client, topic) => (own(client.id, topic, 'state') ? ALLOWED : refused(`publish to "${topic}" refused: not this toy's state topic`)),
        authorizeSubscribe: (client, topic) => own(client.id, topic, 'set'),
    };
}
