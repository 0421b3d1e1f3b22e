// parseCallEvent (src/matrix/call-events.ts): the content of every
// m.call.* event any room member sends. Contract: { ok, event } with
// validated content, or { ok: false, reason } naming the type, the field
// and what was wrong with it. Never throws.
import fc from 'fast-check';
import { expect } from 'vitest';
import { CALL_EVENT_TYPES, parseCallEvent, type CallEventType } from '../../src/matrix/call-events.ts';
import { fuzzParser } from './support/fuzz.ts';
import { junk, mutatedValue } from './support/mutate.ts';

const OPAQUE = /^[0-9A-Za-z._~-]{1,255}$/;
const META = { roomId: '!room:example.org', sender: '@alice:example.org', eventId: '$e', ageMs: 12 };

const opaque = fc.stringMatching(/^[0-9A-Za-z._~-]{1,40}$/);
const sdp = fc.oneof(
  fc.constantFrom('v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n', ''),
  fc.string({ maxLength: 100 }),
  fc.constant(`v=0\r\n${'a=x\r\n'.repeat(13_200)}`),
);
const common = { call_id: opaque, party_id: opaque, version: fc.constantFrom<unknown>(0, '1', 1, '0', 'x', 2) };
const candidate = fc.record(
  {
    candidate: fc.oneof(fc.constant('candidate:1 1 udp 2130706431 192.0.2.1 50000 typ host'), fc.constant(''), fc.string({ maxLength: 40 })),
    sdpMid: fc.oneof(fc.constant('0'), fc.constant(null), fc.string({ maxLength: 4 })),
    sdpMLineIndex: fc.oneof(fc.nat({ max: 70 }), fc.constant(null)),
  },
  { requiredKeys: ['candidate'] },
);
const metadata = fc.dictionary(fc.string({ maxLength: 8 }), fc.record({ purpose: fc.constantFrom('m.usermedia', 'm.screenshare') }), { maxKeys: 2 });
const reason = fc.constantFrom('user_hangup', 'ice_failed', 'invite_timeout', 'x'.repeat(300));

const CONTENT: { readonly [K in CallEventType]: fc.Arbitrary<Record<string, unknown>> } = {
  'm.call.invite': fc.record(
    { ...common, offer: fc.record({ type: fc.constant('offer'), sdp }), lifetime: fc.oneof(fc.integer({ min: 1, max: 90_000 }), fc.constant(86_400_001)), invitee: fc.string(), sdp_stream_metadata: metadata },
    { requiredKeys: ['call_id', 'version', 'offer', 'lifetime'] },
  ),
  'm.call.candidates': fc.record({ ...common, candidates: fc.array(candidate, { maxLength: 4 }) }, { requiredKeys: ['call_id', 'version', 'candidates'] }),
  'm.call.answer': fc.record({ ...common, answer: fc.record({ type: fc.constant('answer'), sdp }), sdp_stream_metadata: metadata }, { requiredKeys: ['call_id', 'version', 'answer'] }),
  'm.call.select_answer': fc.record({ ...common, selected_party_id: opaque }, { requiredKeys: ['call_id', 'version', 'selected_party_id'] }),
  'm.call.reject': fc.record({ ...common, reason }, { requiredKeys: ['call_id', 'version'] }),
  'm.call.hangup': fc.record({ ...common, reason }, { requiredKeys: ['call_id', 'version'] }),
  'm.call.negotiate': fc.record(
    { ...common, description: fc.record({ type: fc.constantFrom('offer', 'answer'), sdp }), lifetime: fc.integer({ min: -1, max: 90_000 }) },
    { requiredKeys: ['call_id', 'version', 'description'] },
  ),
  'm.call.asserted_identity': fc.record(
    { ...common, asserted_identity: fc.record({ id: fc.string(), display_name: fc.string(), avatar_url: fc.string() }, { requiredKeys: [] }) },
    { requiredKeys: ['call_id', 'version', 'asserted_identity'] },
  ),
};

const type = fc.constantFrom(...CALL_EVENT_TYPES);
const valid = type.chain((t) => fc.tuple(fc.constant(t), CONTENT[t]));
const mutated = type.chain((t) => fc.tuple(fc.constant(t), mutatedValue(CONTENT[t], 3)));

fuzzParser('matrix parseCallEvent', (fuzz) => {
  function check(t: CallEventType, content: unknown): void {
    const r = parseCallEvent(t, META, content);
    if (!r.ok) {
      // "<type>: <field path or 'content'>: <what is wrong>"
      expect(r.reason.startsWith(`${t}: `) && /^\S.*: \S/s.test(r.reason.slice(t.length + 2)), r.reason).toBe(true);
      fuzz.hit('refused');
      return;
    }
    const c = r.event.content;
    expect(r.event.type).toBe(t);
    expect(OPAQUE.test(c.call_id) && (c.party_id === undefined || OPAQUE.test(c.party_id))).toBe(true);
    expect(c.version === '0' || c.version === '1').toBe(true);
    const e = r.event;
    const sdp = e.type === 'm.call.invite' ? e.content.offer.sdp : e.type === 'm.call.answer' ? e.content.answer.sdp : e.type === 'm.call.negotiate' ? e.content.description.sdp : undefined;
    if (sdp !== undefined) expect(sdp !== '' && Buffer.byteLength(sdp) <= 64 * 1024).toBe(true);
    // Validated content is a fixed point: parsed again, it is unchanged.
    expect(parseCallEvent(t, META, c)).toEqual(r);
    fuzz.hit('accepted');
  }

  fuzz.property('any value as content', fc.property(type, junk, check), 2_000);
  fuzz.property('valid-looking contents of every type', fc.property(valid, ([t, c]) => check(t, c)), 3_000);
  fuzz.property('valid-looking contents, mutated anywhere', fc.property(mutated, ([t, c]) => check(t, c)), 5_000);

  fuzz.expectReached(500, 'accepted', 'refused');
});
