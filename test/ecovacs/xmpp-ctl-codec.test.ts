/** The XML vocabulary (§5.1): JSON-vocabulary commands as `<ctl>`s, and bots' replies and pushes as observations. */
import {describe, expect, it} from 'vitest';

import {adminOfRefusal, ctlRequestsFor, readCtl} from '../../src/families/ecovacs/xmpp/ctl-codec.js';
import {XmppStreamParser} from '../../src/families/ecovacs/xmpp/stream-codec.js';

/** The `<ctl>` of `text`, parsed as the server would. */
function ctl(text: string) {
    const parser = new XmppStreamParser();
    parser.write(Buffer.from(`<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>`));
    const [event] = parser.write(Buffer.from(`<query xmlns='com:ctl'>${text}</query>`));
    return event!.kind === 'stanza' ? event!.element.child('ctl')! : (undefined as never);
}

describe('ctlRequestsFor', () => {
    it('builds the §5.1 commands from the JSON vocabulary', () => {
        const built = (name: string, data?: unknown) => ctlRequestsFor({name, data}, 'strong')?.map(String);
        expect(built('clean', {act: 'start', type: 'auto'})).toEqual(['<ctl td="Clean"><clean type="auto" speed="strong" act="s"/></ctl>']);
        expect(built('clean', {act: 'stop'})).toEqual(['<ctl td="Clean"><clean type="stop" speed="strong" act="h"/></ctl>']);
        expect(built('charge', {act: 'go'})).toEqual(['<ctl td="Charge"><charge type="go"/></ctl>']);
        expect(built('setSpeed', {speed: 0})).toEqual(['<ctl td="SetCleanSpeed" speed="standard"/>']);
        expect(built('getCleanInfo')).toEqual(['<ctl td="GetCleanState"/>']);
        expect(built('getLifeSpan', ['brush', 'heap', 'dustBag'])).toEqual(['<ctl td="GetLifeSpan" type="Brush"/>', '<ctl td="GetLifeSpan" type="DustCaseHeap"/>']);
        expect(built('resetLifeSpan', {type: 'sideBrush'})).toEqual(['<ctl td="ResetLifeSpan" type="SideBrush"/>']);
        expect(built('getWaterInfo')).toBeUndefined();
        expect(built('setSpeed', {speed: 2})).toBeUndefined();
    });
});

describe('readCtl', () => {
    it('reads pushes and replies alike', () => {
        expect(readCtl(ctl(`<ctl td="BatteryInfo"><battery power="080"/></ctl>`)).observations).toEqual([{kind: 'battery', percent: 80, low: false}]);
        expect(readCtl(ctl(`<ctl ret="ok"><battery power="100"/></ctl>`))).toMatchObject({ret: 'ok', observations: [{kind: 'battery', percent: 100}]});
        expect(readCtl(ctl(`<ctl td="CleanReport"><clean type="auto" speed="strong" st="p"/></ctl>`)).observations).toEqual([
            {kind: 'speed', level: 1},
            {kind: 'clean_info', state: 'clean', motion: 'pause', trigger: null, v2: false},
        ]);
        expect(readCtl(ctl(`<ctl td="ChargeState"><charge h="0" r="a" type="Going"/></ctl>`)).observations).toContainEqual({kind: 'clean_info', state: 'goCharging', motion: null, trigger: null, v2: false});
        expect(readCtl(ctl(`<ctl ret="ok"><charge type="SlotCharging"/></ctl>`)).observations).toEqual([{kind: 'charge_state', charging: true}]);
        expect(readCtl(ctl(`<ctl ret="ok" type="Brush" val="095" total="365"/>`)).observations).toEqual([{kind: 'lifespan', parts: [{type: 'brush', left: 95, total: 100}]}]);
        expect(readCtl(ctl(`<ctl td="error" errno="101" error="BatteryLow"/>`)).observations).toEqual([{kind: 'error', code: 101}]);
        expect(readCtl(ctl(`<ctl ret="ok" errs="100"/>`)).observations).toEqual([{kind: 'error', code: 100}]);
        expect(readCtl(ctl(`<ctl ret="ok" speed="standard"/>`)).observations).toEqual([{kind: 'speed', level: 0}]);
    });

    it('reads a 103 refusal and the admin it names, and ignores what it does not know', () => {
        const refusal = ctl(`<ctl ret="fail" errno="103" error="permission denied, please contact realowner@ecouser.net"/>`);
        expect(readCtl(refusal)).toMatchObject({ret: 'fail', errno: '103', observations: []});
        expect(adminOfRefusal(refusal)).toBe('realowner@ecouser.net');
        expect(adminOfRefusal(ctl(`<ctl ret="fail" errno="103" admin="a b"/>`))).toBeNull();
        expect(readCtl(ctl(`<ctl td="Whatever"><battery power="abc"/><charge type="Flying"/></ctl>`)).observations).toEqual([]);
    });
});
