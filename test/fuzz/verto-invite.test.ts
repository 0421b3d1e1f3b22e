// inboundFromInvite (src/calls/inbound-routing.ts): the params of a server
// verto.invite (FreeSWITCH offering a trunk call; the caller's number and
// name come from the trunk). Contract: the call's facts, or a refusal with
// a reason and the cause to end the leg with; never throws. What it keeps
// fits where it goes next: the callID into ESL commands, the caller into
// a room notice, the cause into verto.bye and uuid_kill.
import fc from 'fast-check';
import { expect } from 'vitest';
import { compileInboundRoutes, inboundFromInvite } from '../../src/calls/inbound-routing.ts';
import { eslHangupCause, eslUuid } from '../../src/esl/grammar.ts';
import { fuzzParser, LINE_BREAK } from './support/fuzz.ts';
import { anyText, junk, mostly, mutatedText, mutatedValue } from './support/mutate.ts';
import { editedSdp, FREESWITCH_SDP, wellFormed } from './support/sdp.ts';

const ROUTES = compileInboundRoutes([
  { did: '+4930123456', room: '!a:example.org', dtmf_notices: false },
  { did: '/^\\+4940[0-9]{2,8}$/', user: '@bob:example.org', invitee: '@bob:example.org', dtmf_notices: true },
]);
const TARGETS = [{ room: '!a:example.org' }, { user: '@bob:example.org' }];
const NAME = /^[A-Za-z0-9][A-Za-z0-9 ._()+-]{0,63}$/;

const digits = (valid: fc.Arbitrary<string>): fc.Arbitrary<unknown> => mostly(valid, fc.oneof(mutatedText(valid, 2), junk), 3);
const params = fc.record(
  {
    callID: mostly(fc.uuid(), fc.oneof(mutatedText(fc.uuid(), 2), junk), 4),
    sdp: mostly(fc.oneof(wellFormed([FREESWITCH_SDP]), editedSdp([FREESWITCH_SDP], 2)), fc.oneof(anyText, junk), 4),
    verto_h_mse_did: digits(fc.constantFrom('+4930123456', '4930123456', '+494012345', '+4940', '+15551234567')),
    verto_h_mse_caller_number: digits(fc.constantFrom('+4930999', '0301234', 'anonymous', '')),
    verto_h_mse_caller_name: mostly(fc.constantFrom('Alice', 'Bob (office)', 'ACME GmbH', 'x'), fc.oneof(anyText, junk), 2),
    caller_id_number: digits(fc.constantFrom('+4930888', '1000')),
    caller_id_name: mostly(fc.constantFrom('Carol', 'Outbound Call'), anyText, 2),
  },
  { requiredKeys: ['callID', 'sdp', 'verto_h_mse_did'] },
);
const invite = fc.oneof({ weight: 3, arbitrary: params }, { weight: 1, arbitrary: mutatedValue(params, 3) });

fuzzParser('verto inboundFromInvite', (fuzz) => {
  function check(p: unknown): void {
    const r = inboundFromInvite(p as Readonly<Record<string, unknown>>, ROUTES);
    if (!r.ok) {
      const okRefusal = r.reason.trim() !== '' && ['invalid_inbound', 'unknown_did'].includes(r.refusal) && eslHangupCause(r.cause) === r.cause;
      expect(okRefusal, JSON.stringify(r)).toBe(true);
      if (r.callId !== undefined) eslUuid(r.callId);
      fuzz.hit(r.reason.replace(/ for \+\d+$/, ''));
      return;
    }
    const i = r.info;
    eslUuid(i.uuid);
    const ok =
      /^\+[0-9]{2,15}$/.test(i.did) &&
      (i.callerNumber === 'anonymous' || /^\+?[0-9]{2,15}$/.test(i.callerNumber)) &&
      (i.callerName === undefined || (NAME.test(i.callerName) && !LINE_BREAK.test(i.callerName))) &&
      i.offerSdp.startsWith('v=0') &&
      TARGETS.some((t) => JSON.stringify(t) === JSON.stringify(r.target));
    expect(ok, JSON.stringify(r)).toBe(true);
    fuzz.hit('accepted');
  }

  fuzz.property('any value as params', fc.property(fc.oneof(junk.filter((v) => typeof v === 'object' && v !== null), fc.dictionary(anyText, junk)), check), 2_000);
  fuzz.property('verto.invite params, fields valid or not', fc.property(invite, check), 8_000);

  fuzz.expectReached(100, 'accepted', 'verto.invite without a valid callID', 'verto.invite without an audio SDP', 'verto.invite without a checked DID (verto_h_mse_did)', 'no inbound route');
});
