// checkClientSdp (src/sdp/offer.ts): the gate for every SDP a Matrix
// client sends (invite offers, answers to inbound calls). Contract:
// { ok, session } or { ok: false, reason }; never throws. What it accepts
// is bounded, free of NUL and CR-only line breaks, starts with v=0, and
// has a live audio m-line with payloads, ICE credentials and a fingerprint.
import fc from 'fast-check';
import { expect } from 'vitest';
import { checkClientSdp, MAX_SDP_BYTES } from '../../src/sdp/offer.ts';
import { fuzzParser } from './support/fuzz.ts';
import { anyText, mutatedText } from './support/mutate.ts';
import { CLIENT_OFFER, CLIENT_OFFER_MULTI, editedSdp, FREESWITCH_SDP, wellFormed } from './support/sdp.ts';

const TEMPLATES = [CLIENT_OFFER, CLIENT_OFFER_MULTI, FREESWITCH_SDP];

fuzzParser('sdp checkClientSdp', (fuzz) => {
  function check(sdp: string): void {
    const r = checkClientSdp(sdp);
    if (!r.ok) {
      expect(r.reason).toMatch(/^(SDP|audio m-line) \S/);
      fuzz.hit(r.reason);
      return;
    }
    const audio = r.session.media.filter((m) => m.type === 'audio' && m.port !== 0);
    const complete = audio.every(
      (m) => String(m.payloads ?? '').trim() !== '' && (m.iceUfrag ?? r.session.iceUfrag) && (m.icePwd ?? r.session.icePwd) && (m.fingerprint ?? r.session.fingerprint),
    );
    const clean = !/\0/.test(sdp) && !/\r(?!\n)/.test(sdp) && /^v=0\r?\n/.test(sdp) && Buffer.byteLength(sdp) <= MAX_SDP_BYTES;
    expect(audio.length > 0 && Boolean(complete) && clean, JSON.stringify(sdp.slice(0, 200))).toBe(true);
    fuzz.hit('accepted');
  }

  fuzz.property('random text', fc.property(fc.oneof(anyText, anyText.map((t) => `v=0\r\n${t}`)), check), 2_000);
  fuzz.property('real offers, lines edited', fc.property(editedSdp(TEMPLATES), check), 5_000);
  fuzz.property('real offers, lines edited, then text mutated', fc.property(mutatedText(editedSdp(TEMPLATES, 2), 3), check), 2_500);
  fuzz.property(
    'real offers padded past the size limit',
    fc.property(wellFormed(TEMPLATES), fc.integer({ min: 0, max: 2 * MAX_SDP_BYTES }), (sdp, pad) => check(`${sdp}a=x-pad:${'p'.repeat(pad)}\r\n`)),
    500,
  );

  fuzz.expectReached(40, 'accepted', 'SDP does not start with v=0', 'SDP has no audio m-line', 'audio m-line has no ICE credentials', 'audio m-line has no DTLS fingerprint');
  fuzz.expectReached(5, 'SDP contains a NUL byte', `SDP is larger than ${MAX_SDP_BYTES} bytes`);
});
