/**
 * The XML vocabulary of XMPP ("eco-legacy") bots (ecovacs.md §5.1): `<ctl td="…">` commands and the
 * bots' replies and pushes. The adapter speaks the JSON vocabulary's command names (§5.2), so
 * commands are translated from those, and what bots say is read into the same observations the
 * JSON codec produces: one vacuum model for both kinds of bot. Pure.
 */
import type {EcoCommand, Observation} from '../codec.js';
import {isPlainObject} from '../../../util/plain-object.js';
import {xml, type XmlElement} from './stream-codec.js';

/**
 * XML bots have two fan speeds. They map onto the JSON levels with the same meaning (0 normal,
 * 1 max), so the adapter reads and sets them like any other bot's; users see the names bots use.
 */
export const XML_FAN_SPEEDS: readonly [name: XmlFanSpeed, level: number][] = [
    ['standard', 0],
    ['strong', 1],
];
export type XmlFanSpeed = 'standard' | 'strong';

/** Consumables as XML bots name them → the JSON vocabulary's names, which the adapter knows. */
const LIFESPAN_TYPES: readonly [xml: string, json: string][] = [
    ['Brush', 'brush'],
    ['SideBrush', 'sideBrush'],
    ['DustCaseHeap', 'heap'],
];

/** Clean `act`s of newer XMPP firmwares (§5.1); older ones go by `type` and ignore it. */
const CLEAN_ACTS: Record<string, string> = {start: 's', pause: 'p', resume: 'r', stop: 'h'};

/**
 * The `<ctl>`s that carry out a JSON-vocabulary command on an XML bot, or null when XML bots have
 * no such command. `speed` is the bot's current fan speed: `Clean` restates it (sucks does the same).
 */
export function ctlRequestsFor(command: EcoCommand, speed: XmlFanSpeed): XmlElement[] | null {
    const args = isPlainObject(command.data) ? command.data : {};
    switch (command.name) {
        case 'clean': {
            const act = typeof args.act === 'string' ? CLEAN_ACTS[args.act] : undefined;
            if (!act) return null;
            return [xml('ctl', {td: 'Clean'}, xml('clean', {type: act === 'h' ? 'stop' : 'auto', speed, act}))];
        }
        case 'charge':
            return [xml('ctl', {td: 'Charge'}, xml('charge', {type: 'go'}))];
        case 'playSound':
            return [xml('ctl', {td: 'PlaySound', sid: String(typeof args.sid === 'number' ? args.sid : 30)})];
        case 'setSpeed': {
            const preset = XML_FAN_SPEEDS.find(([, level]) => level === args.speed);
            return preset ? [xml('ctl', {td: 'SetCleanSpeed', speed: preset[0]})] : null;
        }
        case 'getBattery':
            return [xml('ctl', {td: 'GetBatteryInfo'})];
        case 'getChargeState':
            return [xml('ctl', {td: 'GetChargeState'})];
        case 'getCleanInfo':
            return [xml('ctl', {td: 'GetCleanState'})];
        case 'getSpeed':
            return [xml('ctl', {td: 'GetCleanSpeed'})];
        case 'getError':
            return [xml('ctl', {td: 'GetError'})];
        case 'getLifeSpan': {
            // One type per request in XML.
            const asked = Array.isArray(command.data) ? command.data : [];
            const types = LIFESPAN_TYPES.filter(([, json]) => asked.includes(json));
            return types.length > 0 ? types.map(([type]) => xml('ctl', {td: 'GetLifeSpan', type})) : null;
        }
        case 'resetLifeSpan': {
            const type = LIFESPAN_TYPES.find(([, json]) => json === args.type)?.[0];
            return type ? [xml('ctl', {td: 'ResetLifeSpan', type})] : null;
        }
        default:
            return null;
    }
}

export interface CtlReading {
    /** A reply's `ret`: `ok`, `fail`; null for pushes, which have none. */
    ret: string | null;
    /** A failed reply's errno (`103` permission denied, §3.3). */
    errno: string | null;
    error: string | null;
    observations: Observation[];
}

/**
 * What a `<ctl>` says, whether a reply (`ret="ok"` with the answer in attributes or children) or a
 * push (`td="CleanReport"`): the shapes are the same either way (§5.1), so one reader serves both.
 */
export function readCtl(ctl: XmlElement): CtlReading {
    const td = ctl.attr('td')?.toLowerCase() ?? null;
    const ret = ctl.attr('ret') ?? null;
    const observations: Observation[] = [];
    const clean = ctl.child('clean');
    if (clean) observations.push(...readClean(clean));
    const charge = ctl.child('charge');
    if (charge) observations.push(...readCharge(charge.attr('type')));
    const power = integer(ctl.child('battery')?.attr('power'));
    if (power !== null) observations.push({kind: 'battery', percent: Math.max(0, Math.min(100, power)), low: power < 20});
    const speed = ctl.attr('speed');
    if (!clean && speed !== undefined) observations.push(...readSpeed(speed));
    const lifespan = readLifespan(ctl);
    if (lifespan) observations.push(lifespan);
    const errorCode = td === 'error' ? integer(ctl.attr('errno') ?? ctl.attr('errs')) : integer(ctl.attr('errs'));
    // `errs` may list several codes; none at all means no error.
    if (errorCode !== null) observations.push({kind: 'error', code: errorCode});
    else if (ctl.attr('errs') === '') observations.push({kind: 'error', code: 0});
    return {
        ret,
        errno: ret !== null && ret !== 'ok' ? (ctl.attr('errno') ?? null) : null,
        error: ctl.attr('error') ?? null,
        observations,
    };
}

function readClean(clean: XmlElement): Observation[] {
    const type = clean.attr('type');
    const act = clean.attr('st') ?? clean.attr('act');
    const observations: Observation[] = [...readSpeed(clean.attr('speed'))];
    if (type === 'stop' || act === 'h') observations.push({kind: 'clean_info', state: 'idle', motion: null, trigger: null, v2: false});
    else if (type === 'going') observations.push({kind: 'clean_info', state: 'goCharging', motion: null, trigger: null, v2: false});
    else if (type) observations.push({kind: 'clean_info', state: 'clean', motion: act === 'p' ? 'pause' : 'working', trigger: null, v2: false});
    return observations;
}

function readCharge(type: string | undefined): Observation[] {
    switch (type) {
        case 'SlotCharging':
        case 'WireCharging':
            return [{kind: 'charge_state', charging: true}];
        case 'Going':
            return [{kind: 'charge_state', charging: false}, {kind: 'clean_info', state: 'goCharging', motion: null, trigger: null, v2: false}];
        case 'Idle':
            return [{kind: 'charge_state', charging: false}];
        default:
            return [];
    }
}

function readSpeed(speed: string | undefined): Observation[] {
    const preset = XML_FAN_SPEEDS.find(([name]) => name === speed);
    return preset ? [{kind: 'speed', level: preset[1]}] : [];
}

/** `val` is the percentage left (sucks reads it so); `total` the part's life in hours, not needed for that. */
function readLifespan(ctl: XmlElement): Observation | null {
    const type = LIFESPAN_TYPES.find(([name]) => name === ctl.attr('type'))?.[1];
    const left = integer(ctl.attr('val'));
    if (!type || left === null) return null;
    return {kind: 'lifespan', parts: [{type, left: Math.max(0, Math.min(100, left)), total: 100}]};
}

/** Bots zero-pad (`power="080"`); `errs` may list several codes, the last is the current one. */
function integer(value: string | undefined): number | null {
    const last = value?.split(',').pop()?.trim();
    return last !== undefined && /^\d{1,9}$/.test(last) ? Number(last) : null;
}

// ── What a bot sends (for simulated bots) ────────────────────────────────────────────────────

export function okReply(attrs: Record<string, string> = {}, ...children: XmlElement[]): XmlElement {
    return xml('ctl', {ret: 'ok', ...attrs}, ...children);
}

export function failReply(errno: string, error: string): XmlElement {
    return xml('ctl', {ret: 'fail', errno, error});
}

export function cleanElement(type: string, speed: XmlFanSpeed, st: string): XmlElement {
    return xml('clean', {type, speed, st});
}

export function chargeElement(type: 'Idle' | 'Going' | 'SlotCharging' | 'WireCharging'): XmlElement {
    return xml('charge', {type});
}

export function batteryElement(percent: number): XmlElement {
    return xml('battery', {power: String(percent).padStart(3, '0')});
}

export function pushCtl(td: string, attrs: Record<string, string> = {}, ...children: XmlElement[]): XmlElement {
    return xml('ctl', {td, ...attrs}, ...children);
}

/** The XML consumable names, for bots. */
export const XML_LIFESPAN_TYPES = LIFESPAN_TYPES.map(([type]) => type);

/** §3.3: the admin JID a 103 refusal names, in `admin` or in its error text. */
export function adminOfRefusal(ctl: XmlElement): string | null {
    const named = ctl.attr('admin') ?? /please contact\s*(\S+)/.exec(ctl.attr('error') ?? '')?.[1];
    return named && /^[A-Za-z0-9_.-]{1,64}@[A-Za-z0-9_.-]{1,128}(\/[A-Za-z0-9_.-]{0,64})?$/.test(named) ? named : null;
}

export const PERMISSION_DENIED = '103';

/** The two commands that give `jid` the use of a bot, sent as the bot's admin (§3.3). */
export function grantCtls(jid: string): XmlElement[] {
    return [
        xml('ctl', {td: 'AddUser', id: '0000', jid}),
        xml(
            'ctl',
            {td: 'SetAC', id: '1111', jid},
            xml('acs', {}, xml('ac', {name: 'userman', allow: '1'}), xml('ac', {name: 'setting', allow: '1'}), xml('ac', {name: 'clean', allow: '1'})),
        ),
    ];
}
