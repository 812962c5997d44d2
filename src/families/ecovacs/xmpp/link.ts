/**
 * XMPP bots behind the adapter's protocol-neutral link: commands in the JSON vocabulary's terms go
 * out as `<ctl>`s through the server, and what bots answer or push comes back as observations.
 */
import type {BotLink} from '../adapter.js';
import type {BotAnswer, EcoCommand, Observation} from '../codec.js';
import {ctlRequestsFor, readCtl, XML_FAN_SPEEDS, type XmlFanSpeed} from './ctl-codec.js';
import type {XmlElement} from './stream-codec.js';

/** The part of the server the link needs. */
export interface CtlRequester {
    request(did: string, ctl: XmlElement): Promise<XmlElement>;
}

/** What a link answers for a command XML bots do not have: nothing is sent. */
export const NOT_IN_XML_VOCABULARY = 'not in the XML vocabulary';

export class XmppBotLink implements BotLink {
    /** Each bot's fan speed as it last said: `Clean` restates it. */
    private readonly speeds = new Map<string, XmlFanSpeed>();

    constructor(private readonly server: CtlRequester) {}

    async send(did: string, command: EcoCommand): Promise<BotAnswer> {
        const requests = ctlRequestsFor(command, this.speeds.get(did) ?? 'standard');
        if (!requests) return {code: NOT_IN_XML_VOCABULARY, observations: []};
        // One request per consumable: all are asked, the answers merged into one report.
        const readings = await Promise.all(requests.map(async (ctl) => readCtl(await this.server.request(did, ctl))));
        // Replies carry `ret`; one without reads as a report, which is an answer too.
        const answered = readings.filter((reading) => reading.ret === null || reading.ret === 'ok');
        if (answered.length === 0) {
            const refusal = readings[0]!;
            return {code: refusal.errno ?? refusal.ret ?? 'fail', ...(refusal.error !== null && {msg: refusal.error}), observations: []};
        }
        return {code: 0, observations: mergeLifespans(this.heard(did, answered.flatMap((reading) => reading.observations)))};
    }

    /** A `<ctl>` the bot sent on its own: what it says, with the fan speed noted for the next `Clean`. */
    pushed(did: string, ctl: XmlElement): Observation[] {
        return mergeLifespans(this.heard(did, readCtl(ctl).observations));
    }

    forget(did: string): void {
        this.speeds.delete(did);
    }

    private heard(did: string, observations: Observation[]): Observation[] {
        for (const observation of observations) {
            if (observation.kind !== 'speed') continue;
            const preset = XML_FAN_SPEEDS.find(([, level]) => level === observation.level);
            if (preset) this.speeds.set(did, preset[0]);
        }
        return observations;
    }
}

function mergeLifespans(observations: Observation[]): Observation[] {
    const parts = observations.flatMap((observation) => (observation.kind === 'lifespan' ? observation.parts : []));
    const others = observations.filter((observation) => observation.kind !== 'lifespan');
    return parts.length > 0 ? [...others, {kind: 'lifespan', parts}] : others;
}
