/**
 * icomen plugs in the normalised model: one device `icomen-<mac>` per plug with one switch feature,
 * link health from the server's hooks. The legacy topics of kroseneg/icomen-mqtt-bridge, when
 * enabled, are an extension of their own (`compat-topics.ts`) that listens to the plugs through it.
 */
import {CommandError} from '../../core/commands.js';
import {type DeviceFacts, type SwitchFeature, makeDeviceId} from '../../core/device.js';
import type {Extension} from '../../core/extension.js';
import type {RoutedCommand} from '../../core/router.js';
import {createLogger, type Logger} from '../../util/logger.js';
import type {FamilyEdge} from '../../edge/index.js';
import type {FamilyContext, FamilyService} from '../family.js';
import {BalancerThread} from './balancer-thread.js';
import {type CounterStyle, type EncodedFrame, formatMac, formatVendor, IcomenFrame, parseMac, type VendorBytes} from './codec.js';
import {type CompatPlugs, CompatTopics, type PlugObserver} from './compat-topics.js';
import {type CloseKind, IcomenServer, type IcomenServerHooks, type ListenerName, type PlugIdentity} from './server.js';
import type {IcomenSettings} from './settings.js';

const SWITCH: SwitchFeature = {id: 'switch', kind: 'switch', name: null, deviceClass: 'outlet'};

export interface IcomenAdapterOptions {
    /** Counter policy of every connection (default: answers echo the request counter). */
    counters?: CounterStyle;
    /** Unix seconds for the time requests on the session port (the balancer thread reads the system clock). */
    clock?: () => number;
}

/** A frame as the device page's recent messages show it: the protocol has no names, only bytes. */
function frameSummary(frame: IcomenFrame): {type: string; command: string; counter: number; data: string} {
    return {type: `0x${frame.type.toString(16)}`, command: `0x${frame.command.toString(16).padStart(2, '0')}`, counter: frame.counter, data: frame.payload.toString('hex')};
}

export function deviceIdFor(mac: string): string {
    return makeDeviceId('icomen', mac);
}

/** The company code names the brand; model numbers in the sources are unreliable, so the model shows the vendor bytes. */
export function factsFor(mac: string, vendor: VendorBytes, address: string): DeviceFacts {
    const manufacturer = vendor.company === 0xc2 ? 'Easy Home' : vendor.company === 0xc1 ? 'Silvercrest' : 'icomen';
    return {
        manufacturer,
        model: `smart2connect Wi-Fi plug (${formatVendor(vendor).toUpperCase()})`,
        name: `Plug ${mac.slice(-6)}`,
        mac: formatMac(parseMac(mac)),
        ip: address,
    };
}

export class IcomenAdapter implements FamilyService {
    private readonly settings: IcomenSettings;
    private readonly server: IcomenServer;
    private readonly balancer: BalancerThread;
    private readonly log: Logger = createLogger('icomen:adapter');
    private readonly observers = new Set<PlugObserver>();
    readonly extensions: readonly Extension[];
    private registered = false;

    constructor(
        // The plugs' own TCP ports need nothing of the edge but its flood guards.
        private readonly context: Omit<FamilyContext<IcomenSettings>, 'edge'> & {edge: Pick<FamilyEdge, 'floodGuard' | 'reportFloodStats' | 'release'>},
        options: IcomenAdapterOptions = {},
    ) {
        this.settings = context.settings;
        const hooks: IcomenServerHooks = {
            plugConnected: (plug) => this.plugConnected(plug),
            frameReceived: (mac, frame, listener) => this.frameReceived(mac, frame, listener),
            frameSent: (mac, sent, listener) => this.frameSent(mac, sent, listener),
            switchState: (mac, on) => this.switchState(mac, on),
            badInput: (mac, _remote, reason) => this.badInput(mac, reason),
            plugDisconnected: (mac, kind, reason) => this.plugDisconnected(mac, kind, reason),
        };
        const counters = options.counters ? {counters: options.counters} : {};
        this.server = new IcomenServer({
            settings: this.settings,
            listener: 'session',
            floodGuard: context.edge.floodGuard,
            ...counters,
            ...(options.clock ? {clock: options.clock} : {}),
            hooks,
        });
        // The balancer's frames matter only to the legacy raw topics: without them, they stay in its thread.
        this.balancer = new BalancerThread({settings: this.settings, hooks, forwardFrames: this.settings.compatTopics, ...counters});
        const plugs: CompatPlugs = {
            observe: (observer) => {
                this.observers.add(observer);
                return () => this.observers.delete(observer);
            },
            sendPower: (mac, on) => this.server.sendPower(mac, on),
            sendRaw: (mac, command, data, as) => this.server.sendRaw(mac, command, data, as),
        };
        this.extensions = this.settings.compatTopics ? [new CompatTopics(context.topics, this.settings.compatBaseTopic, plugs)] : [];
    }

    async start(): Promise<void> {
        if (!this.registered) {
            this.context.router.register('icomen', (routed) => this.handleCommand(routed));
            this.registered = true;
        }
        if (this.settings.balancerPort === this.settings.sessionPort) {
            // Nobody has tested whether a plug accepts a redirect to the port it asked on (note §1).
            throw new Error(`icomen.balancerPort and icomen.sessionPort must differ (both are ${this.settings.sessionPort})`);
        }
        // The balancer's answers name the session port: it listens first.
        const sessionPort = await this.server.start();
        try {
            await this.balancer.start(sessionPort);
        } catch (error) {
            // The bridge does not stop a service whose start failed: release the port that did open.
            await this.server.stop();
            throw error;
        }
        this.context.edge.reportFloodStats(() => this.balancer.flood());
    }

    async stop(): Promise<void> {
        await Promise.all([this.balancer.stop(), this.server.stop()]);
        await this.context.edge.release();
    }

    /** The router has checked the command: the plug has one feature, its switch. */
    private async handleCommand({device, command}: RoutedCommand): Promise<void> {
        if (command.kind !== 'switch') throw new CommandError(`the plug takes switch commands, not ${command.kind}`);
        const mac = device.id.slice('icomen-'.length);
        if (!this.server.isConnected(mac)) throw new CommandError(`${device.id} is not connected`);
        // The state is updated only by the plug's echo or report, never here.
        this.server.sendPower(mac, command.on);
    }

    private plugConnected(plug: PlugIdentity): boolean {
        const id = deviceIdFor(plug.mac);
        const {registry, settings} = this.context;
        if (!registry.has(id) && registry.count('icomen') >= settings.maxPlugs) {
            this.log.limited('warn', 'refused', `plug ${plug.mac} from ${plug.address} refused on the ${plug.listener} port: icomen.maxPlugs (${settings.maxPlugs}) plugs are already known`);
            return false;
        }
        this.context.registry.upsert({id, family: 'icomen', facts: factsFor(plug.mac, plug.vendor, plug.address), features: [SWITCH]});
        this.context.registry.setExtra(id, 'vendor', plug.vendor);
        return true;
    }

    private frameReceived(mac: string, frame: IcomenFrame, listener: ListenerName): void {
        // Online means reachable for commands: only the session connection counts.
        if (listener === 'session') {
            this.context.registry.markSeen(deviceIdFor(mac));
            this.context.registry.noteTraffic(deviceIdFor(mac), 'in', frameSummary(frame));
        }
        for (const observer of this.observers) observer.frameReceived(mac, frame);
    }

    private frameSent(mac: string, sent: EncodedFrame, listener: ListenerName): void {
        // As for frames received: the device's counters and recent messages are its session's.
        if (listener === 'session') {
            this.context.registry.countSent(deviceIdFor(mac));
            this.context.registry.noteTraffic(deviceIdFor(mac), 'out', frameSummary(new IcomenFrame(sent.frame, sent.plaintext)));
        }
        for (const observer of this.observers) observer.frameSent(mac, sent);
    }

    private switchState(mac: string, on: boolean | null): void {
        if (on !== null) this.context.registry.updateState(deviceIdFor(mac), {[SWITCH.id]: on});
        else this.log.limited('warn', `unknown:${mac}`, `plug ${mac} reported a switch state that is neither on nor off`);
        for (const observer of this.observers) observer.switchState(mac, on);
    }

    private badInput(mac: string | null, reason: string): void {
        if (!mac) return;
        const id = deviceIdFor(mac);
        if (this.context.registry.has(id)) this.context.registry.countBadPacket(id, reason);
    }

    private plugDisconnected(mac: string, kind: CloseKind, reason: string): void {
        const id = deviceIdFor(mac);
        if (!this.context.registry.has(id)) return;
        if (kind === 'silent' || kind === 'frame-timeout') this.context.registry.countTimeout(id, reason);
        this.context.registry.updateLink(id, kind === 'flooding' ? {online: false, lastError: `flooding: ${reason}`} : {online: false});
    }
}
