// outcomeOf (src/calls/hangup-causes.ts) reads cause strings a peer wrote:
// ESL's Hangup-Cause and the bridge variables of CHANNEL_HANGUP_COMPLETE,
// or verto.bye's cause. Whatever they hold, the outcome carries one of the
// spec's m.call.hangup reasons and at most a three-digit SIP status.
import fc from 'fast-check';
import { expect } from 'vitest';
import { CAUSE_TABLE, outcomeOf, type HangupFacts, type MatrixHangupReason } from '../../src/calls/hangup-causes.ts';
import { fuzzParser } from './support/fuzz.ts';
import { anyText, mutatedText } from './support/mutate.ts';

const REASONS: readonly MatrixHangupReason[] = ['user_hangup', 'user_busy', 'invite_timeout', 'ice_failed', 'ice_timeout', 'user_media_failed', 'unknown_error'];

const causeName = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...Object.keys(CAUSE_TABLE), 'SUCCESS', 'failure', 'NONE', '', 'ALLOTTED_TIMEOUT') },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf') },
  { weight: 1, arbitrary: anyText },
);
const cause = fc.option(fc.oneof(causeName, mutatedText(causeName, 2)), { nil: undefined });
const sip = fc.option(fc.oneof(fc.constantFrom('sip:486', 'sip:480', 'sip:000', 'sip:4860', '486', '200'), mutatedText(fc.constantFrom('sip:503', '603'), 2), anyText), { nil: undefined });

const facts: fc.Arbitrary<HangupFacts> = fc.record({
  hangupCause: cause,
  answered: fc.boolean(),
  lastBridgeHangupCause: cause,
  originateDisposition: cause,
  lastBridgeProtoSpecificCause: sip,
  sipTermStatus: sip,
});

fuzzParser('hangup outcomeOf', (fuzz) => {
  fuzz.property(
    'a spec reason, a notice or none, at most a three-digit SIP status (none once answered)',
    fc.property(facts, (f) => {
      const o = outcomeOf(f);
      expect(REASONS.includes(o.reason), `reason ${String(o.reason)} for cause ${JSON.stringify(o.cause)}`).toBe(true);
      expect(typeof o.cause).toBe('string');
      expect(o.notice === undefined || (typeof o.notice === 'string' && o.notice !== '')).toBe(true);
      const okStatus = o.sipStatus === undefined || (Number.isInteger(o.sipStatus) && o.sipStatus >= 0 && o.sipStatus <= 999);
      expect(okStatus && !(f.answered && o.sipStatus !== undefined)).toBe(true);
      expect(outcomeOf(f)).toEqual(o);
      fuzz.hit(o.reason);
    }),
    10_000,
  );
  fuzz.expectReached(30, 'user_hangup', 'user_busy', 'invite_timeout', 'ice_timeout', 'user_media_failed', 'unknown_error');
});
