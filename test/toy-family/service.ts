import type tls from 'node:tls';

import {makeDeviceId} from '../../src/core/device.js';
import {replyJson} from '../../src/edge/index.js';
import type {FamilyContext, FamilyService} from '../../src/families/family.js';
import {TOY_CLIENT_PREFIX, toyPolicy} from './policy.js';
import type {ToySettings} from './settings.js';

/** What the toy's TLS route answers: a protocol of its own, reached by its server name. */
export const TOY_TLS_GREETING = 'toy-tls-hello\n';
export const TOY_SERVER_NAMES = ['toy.test', '*.toy.test'];

/** A one-switch device per connected toy: `toy/<serial>/set` carries ON/OFF, `toy/<serial>/state` the echo. */
export class ToyService implements FamilyService {
    constructor(private readonly context: FamilyContext<ToySettings>) {
        context.edge.addServerNames({hosts: TOY_SERVER_NAMES});
    }

    async start(): Promise<void> {
        const {edge, registry, router, settings} = this.context;
        const broker = edge.registerBrokerPolicy(toyPolicy(settings));
        broker.onConnect((client) => {
            const id = deviceIdOf(client.id);
            registry.upsert({id, family: 'toy', facts: {manufacturer: 'Toys', model: 'Toy switch', name: `Toy ${serialOf(client.id)}`}, features: [{id: 'switch', kind: 'switch', name: null}]});
            registry.markSeen(id);
        });
        broker.onDisconnect((client) => registry.updateLink(deviceIdOf(client.id), {online: false}));
        broker.onPublish((client, topic, payload) => {
            const text = payload.toString();
            if (topic.endsWith('/state') && (text === 'ON' || text === 'OFF')) registry.updateState(deviceIdOf(client.id), {switch: text === 'ON'});
        });
        router.register('toy', async ({device, command}) => {
            if (command.kind !== 'switch') return;
            // Serials are lower case, so the device id gives the serial back.
            const serial = device.id.slice('toy-'.length);
            await broker.publish(`${TOY_CLIENT_PREFIX}${serial}`, `toy/${serial}/set`, command.on ? 'ON' : 'OFF');
        });
        edge.addHttpRoute({method: 'GET', path: '/toy/hello', handler: (_request, response) => replyJson(response, 200, {hello: 'toy'})});
        edge.serveHttpOnTlsPort();
        if (settings.httpPort !== null) edge.servePlainHttp({host: '127.0.0.1', port: settings.httpPort, label: 'toy-http'});
        edge.addTlsRoute({name: 'toy-tls', sni: ['*.toy.test'], accept: (socket: tls.TLSSocket) => socket.end(TOY_TLS_GREETING)});
    }

    async stop(): Promise<void> {
        await this.context.edge.release();
    }
}

function serialOf(clientId: string): string {
    return clientId.slice(TOY_CLIENT_PREFIX.length);
}

function deviceIdOf(clientId: string): string {
    return makeDeviceId('toy', serialOf(clientId));
}
