// The capture-config dialplan routes calls the way the real FreeSWITCH
// behind shared/traces/real/ did (the CHANNEL_EXECUTE events of the captures).
import { describe, expect, it } from 'vitest';
import { loadCaptureDialplan } from '../support/freeswitch/capture-config/index.ts';

const engine = loadCaptureDialplan({ now: () => new Date('2026-11-25T09:42:15Z') });
const verto = (destination: string): Record<string, string> => ({
  destination_number: destination,
  caller_id_number: '1000',
  domain_name: '127.0.0.1',
  endpoint_disposition: '',
});
const apps = (context: string, vars: Record<string, string>): string[] =>
  (engine.route(context, vars) ?? []).map((a) => `${a.app} ${a.data}`.trim());

describe('capture-config default context', () => {
  it('routes 1555xxxxxxx to gateway sipp after the tod set (verto-04)', () => {
    expect(apps('default', verto('15551230002'))).toEqual(['set open=true', 'bridge sofia/gateway/sipp/15551230002']);
  });

  it('routes 1556xxxxxxx to sipp_bye and 1560..1566 to the failure gateways', () => {
    expect(apps('default', verto('15561230003'))).toContain('bridge sofia/gateway/sipp_bye/15561230003');
    const gateways = ['t486', 't480', 't404', 't503', 't603', 'tring', 'tring2'];
    gateways.forEach((gw, i) => {
      const number = `156${i}1230015`;
      expect(apps('default', verto(number))).toEqual(['set open=true', `bridge sofia/gateway/${gw}/${number}`]);
    });
  });

  it('runs 1557 as pre_answer, sleep 2000, answer, echo (verto-06)', () => {
    expect(apps('default', verto('1557'))).toEqual(['set open=true', 'pre_answer', 'sleep 2000', 'answer', 'echo']);
  });

  it('answers 9196 with echo (verto-03)', () => {
    expect(apps('default', verto('9196'))).toEqual(['set open=true', 'answer', 'echo']);
  });

  it('has no route for an unknown number', () => {
    expect(apps('default', verto('15571230000'))).toEqual(['set open=true']);
    expect(engine.route('default', { destination_number: '1555123' })?.map((a) => a.app)).toEqual(['set']);
  });
});

describe('capture-config public context (verto-13)', () => {
  it('transfers DID 5551212 to 1000 in default, then Local_Extension bridges user/1000', () => {
    const sip = { destination_number: '5551212', caller_id_number: 'sipp', uuid: 'u-1' };
    expect(apps('public', sip)).toEqual([
      'set outside_call=true',
      'export RFC2822_DATE=Wed, 25 Nov 2026 09:42:15 +0000',
      'set domain_name=127.0.0.1',
      'transfer 1000 XML default',
    ]);
    const transferred = { ...sip, destination_number: '1000', domain_name: '127.0.0.1', endpoint_disposition: 'DELAYED NEGOTIATION' };
    const got = apps('default', transferred);
    expect(got.slice(0, 5)).toEqual([
      'set open=true',
      'hash insert/127.0.0.1-spymap/sipp/u-1',
      'hash insert/127.0.0.1-last_dial/sipp/1000',
      'hash insert/127.0.0.1-last_dial/global/u-1',
      'export RFC2822_DATE=Wed, 25 Nov 2026 09:42:15 +0000',
    ]);
    expect(got).toContain('bind_meta_app 2 b s record_session::<local-build-path>/recordings/sipp.2026-11-25-09-42-15.wav');
    expect(got).toContain('set called_party_callgroup=techsupport');
    expect(got).toContain('set ringback=%(2000,4000,440,480)');
    expect(got[got.indexOf('answer') - 1]).toBe('bridge user/1000@127.0.0.1');
  });
});
