// sdpForMatrix (src/sdp/for-matrix.ts) rewrites the SDP FreeSWITCH sends
// (verto.media / verto.answer / an inbound verto.invite) for a Matrix
// client. It runs outside any try in the call code, so it must not throw
// on any text. Every m-line leaves with a mid and an a=msid naming the one
// stream sdp_stream_metadata describes; normalising its own output again
// changes nothing but the random stream and track ids.
import fc from 'fast-check';
import { parse } from 'sdp-transform';
import { expect } from 'vitest';
import { sdpForMatrix, type MatrixSdp } from '../../src/sdp/for-matrix.ts';
import { fuzzParser } from './support/fuzz.ts';
import { anyText, mutatedText } from './support/mutate.ts';
import { CLIENT_OFFER, CLIENT_OFFER_MULTI, editedSdp, FREESWITCH_SDP, FREESWITCH_SDP_VIDEO } from './support/sdp.ts';

const FS = [FREESWITCH_SDP, FREESWITCH_SDP_VIDEO];
const offer = fc.option(editedSdp([CLIENT_OFFER, CLIENT_OFFER_MULTI], 2), { nil: undefined, freq: 3 });

/** The output with its random ids replaced by their order of appearance. */
function masked(out: MatrixSdp): string {
  const session = parse(out.sdp);
  const ids = [Object.keys(out.streamMetadata)[0] ?? '', ...session.media.map((m) => m.msid?.[0]?.appdata ?? '')].filter((id) => id !== '');
  return ids.reduce((text, id, i) => text.replaceAll(id, `<id${i}>`), out.sdp);
}

fuzzParser('sdp sdpForMatrix', (fuzz) => {
  function check(fsSdp: string, matrixOffer: string | undefined): MatrixSdp {
    const out = sdpForMatrix(fsSdp, matrixOffer);
    const streams = Object.keys(out.streamMetadata);
    expect(streams).toHaveLength(1);
    const stream = streams[0];
    const before = parse(fsSdp);
    const after = parse(out.sdp);
    const offered = matrixOffer === undefined ? undefined : parse(matrixOffer);
    expect(after.media.length).toBe(before.media.length);
    const wrong = after.media.findIndex((m, i) => {
      const mid = offered?.media[i]?.mid;
      return String(m.mid) !== (mid === undefined ? String(i) : String(mid)) || m.msid?.[0]?.id !== stream;
    });
    expect(wrong, 'an m-line without its mid or msid').toBe(-1);
    const bundle = after.groups?.find((g) => g.type === 'BUNDLE');
    if (bundle !== undefined) {
      expect(String(bundle.mids)).toBe(after.media.filter((m) => m.port !== 0).map((m) => String(m.mid)).join(' '));
      fuzz.hit('bundled');
    }
    fuzz.hit(after.media.length > 1 ? 'several m-lines' : after.media.length === 1 ? 'one m-line' : 'no m-line');
    return out;
  }

  fuzz.property('random text, with or without an offer', fc.property(anyText, fc.option(anyText, { nil: undefined }), (s, o) => void check(s, o)), 4_000);
  fuzz.property('FreeSWITCH SDPs, lines edited', fc.property(editedSdp(FS, 4), offer, (s, o) => void check(s, o)), 3_000);
  fuzz.property('FreeSWITCH SDPs, text mutated', fc.property(mutatedText(editedSdp(FS, 1), 4), offer, (s, o) => void check(s, o)), 1_500);
  fuzz.property(
    'normalising its own output again changes only the ids',
    fc.property(editedSdp(FS, 3), offer, (s, o) => {
      const once = check(s, o);
      const twice = check(once.sdp, o);
      expect(masked(twice)).toBe(masked(once));
      expect(twice.streamMetadata[Object.keys(twice.streamMetadata)[0] ?? '']).toEqual(once.streamMetadata[Object.keys(once.streamMetadata)[0] ?? '']);
    }),
    1_500,
  );

  fuzz.expectReached(100, 'bundled', 'one m-line', 'several m-lines', 'no m-line');
});
