// mergeCandidates (src/sdp/candidates.ts) folds the candidates a Matrix
// client trickled (m.call.candidates: any member's text) into its offer
// before it goes to mod_verto. It never throws; it only adds lines, each
// one well-formed candidate or a=end-of-candidates; every refusal names
// why; and merging the same candidates again changes nothing. The offers
// it gets passed checkClientSdp, which refuses CR-only line breaks: an SDP
// with one is only required not to throw.
import fc from 'fast-check';
import { expect } from 'vitest';
import { candidatesPerMLine, mergeCandidates, type TrickledCandidate } from '../../src/sdp/candidates.ts';
import { fuzzParser, LINE_BREAK } from './support/fuzz.ts';
import { anyText, mutatedText } from './support/mutate.ts';
import { CLIENT_OFFER, CLIENT_OFFER_MULTI, editedSdp, trickled } from './support/sdp.ts';

const sdp = fc.oneof({ weight: 6, arbitrary: editedSdp([CLIENT_OFFER, CLIENT_OFFER_MULTI], 3) }, { weight: 1, arbitrary: mutatedText(editedSdp([CLIENT_OFFER_MULTI], 1), 3) }, { weight: 1, arbitrary: anyText });
const batch = fc.array(trickled, { maxLength: 6 });

function lines(text: string): string[] {
  const out = text.split(/\r?\n/);
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}

/** The lines of `after` that are not the lines of `before` in order; undefined when `before` is not a subsequence. */
function addedLines(before: readonly string[], after: readonly string[]): string[] | undefined {
  const added: string[] = [];
  let i = 0;
  for (const line of after) {
    if (i < before.length && line === before[i]) i += 1;
    else added.push(line);
  }
  return i === before.length ? added : undefined;
}

fuzzParser('sdp mergeCandidates', (fuzz) => {
  function check(offer: string, candidates: readonly TrickledCandidate[], complete: boolean): void {
    const r = mergeCandidates(offer, candidates, complete);
    if (/\r(?!\n)/.test(offer)) {
      fuzz.hit('CR-only break');
      return;
    }
    const added = addedLines(lines(offer), lines(r.sdp));
    expect(added, 'the offer\'s own lines are all kept, in order').toBeDefined();
    const bad = (added ?? []).find((l) => LINE_BREAK.test(l) || !(l === 'a=end-of-candidates' || /^a=candidate:\S+( \S+)+$/.test(l)));
    expect(bad, 'an added line').toBeUndefined();

    const before = candidatesPerMLine(offer);
    const after = candidatesPerMLine(r.sdp);
    expect(r.added).toEqual(after.map((c, i) => c.length - (before[i]?.length ?? 0)));
    expect(r.refused.every((x) => x.reason !== '' && candidates.some((c) => c.candidate === x.candidate))).toBe(true);
    expect(r.added.reduce((a, b) => a + b, 0) + r.refused.length).toBeLessThanOrEqual(candidates.length);

    const again = mergeCandidates(r.sdp, candidates, complete);
    expect(again.sdp).toBe(r.sdp);
    expect(again.added.every((n) => n === 0)).toBe(true);

    if (r.added.some((n) => n > 0)) fuzz.hit('added');
    if (r.refused.length > 0) fuzz.hit(`refused: ${r.refused[0]?.reason ?? ''}`);
    if (complete && r.sdp.includes('a=end-of-candidates') && !offer.includes('a=end-of-candidates')) fuzz.hit('completed');
  }

  fuzz.property('edited offers, trickled batches', fc.property(sdp, batch, fc.boolean(), check), 7_000);
  fuzz.property(
    'every candidate of a batch named by index, all m-lines',
    fc.property(editedSdp([CLIENT_OFFER_MULTI], 2), fc.array(fc.tuple(trickled, fc.nat({ max: 3 })), { maxLength: 8 }), fc.boolean(), (offer, named, complete) =>
      check(offer, named.map(([c, i]) => ({ candidate: c.candidate, sdpMLineIndex: i })), complete),
    ),
    3_000,
  );

  fuzz.expectReached(100, 'added', 'completed', 'refused: is not a valid ICE candidate line', 'refused: names no m-line of the offer');
  fuzz.expectReached(10, 'refused: names a rejected m-line');
});
