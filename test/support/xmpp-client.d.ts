/** The part of @xmpp/client (which ships no types) the app-side tests use. */
declare module '@xmpp/client' {
    import type {EventEmitter} from 'node:events';

    export interface Element {
        name: string;
        attrs: Record<string, string>;
        getChild(name: string, xmlns?: string): Element | undefined;
        toString(): string;
    }

    export interface XmppClient extends EventEmitter {
        start(): Promise<unknown>;
        stop(): Promise<void>;
        send(element: Element): Promise<void>;
    }

    /** `authenticate(credentials, mechanism)`: lets the caller pick the mechanism (the default refuses PLAIN without TLS). */
    export type Authenticate = (credentials: {username: string; password: string}, mechanism: string) => Promise<void>;

    export function client(options: {service: string; domain: string; resource?: string; credentials?: (authenticate: Authenticate, mechanisms: string[]) => Promise<void>}): XmppClient;
    export function xml(name: string, attrs?: Record<string, string>, ...children: (Element | string)[]): Element;
}
