/** One trickled candidate as Matrix carries it (m.call.candidates). */
export interface TrickledCandidate {
  readonly candidate: string;
  readonly sdpMid?: string | null | undefined;
  readonly sdpMLineIndex?: number | null | undefined;
}

/**
 * A candidate attribute value (RFC 8839): "candidate:<foundation> <component>
 * <transport> <priority> <address> <port> typ <type>" then extension pairs.
 * Anything else (a line break, a second attribute) is refused.
 */
const CANDIDATE =
  /^candidate:([A-Za-z0-9+/]{1,32}) (\d{1,3}) ([A-Za-z]{3,8}) (\d{1,10}) ([0-9A-Za-z.:\-]{1,253}) (\d{1,5}) typ (host|srflx|prflx|relay)( [A-Za-z0-9.:_\-/+]{1,64})*$/;

export function isEndOfCandidates(c: TrickledCandidate): boolean {
  return c.candidate === '';
}

/** Identity of a candidate for de-duplication: foundation, component, transport, address, port. */
function candidateKey(value: string): string | undefined {
  const m = CANDIDATE.exec(value);
  if (m === null) return undefined;
  return [m[1], m[2], m[3]?.toLowerCase(), m[5], m[6]].join(' ');
}

interface Section {
  readonly lines: string[];
  readonly mid: string | undefined;
}

function splitSections(sdp: string): { eol: string; session: string[]; media: Section[] } {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const lines = sdp.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const session: string[] = [];
  const media: Section[] = [];
  let current: string[] | undefined;
  for (const line of lines) {
    if (line.startsWith('m=')) {
      current = [line];
      media.push({ lines: current, mid: undefined });
    } else if (current) current.push(line);
    else session.push(line);
  }
  return {
    eol,
    session,
    media: media.map((s) => ({ lines: s.lines, mid: s.lines.find((l) => l.startsWith('a=mid:'))?.slice(6).trim() })),
  };
}

function sectionFor(media: readonly Section[], c: TrickledCandidate): Section | undefined {
  if (typeof c.sdpMid === 'string') {
    const byMid = media.find((s) => s.mid === c.sdpMid);
    if (byMid) return byMid;
  }
  if (typeof c.sdpMLineIndex === 'number') return media[c.sdpMLineIndex];
  return undefined;
}

function isRejected(section: Section): boolean {
  return /^m=\S+ 0 /.test(section.lines[0] ?? '');
}

export interface MergeResult {
  readonly sdp: string;
  /** Candidates added, per m-line index. */
  readonly added: readonly number[];
  /** Candidates refused, with why. */
  readonly refused: ReadonlyArray<{ readonly candidate: string; readonly reason: string }>;
}

/**
 * Fold trickled candidates into the offer (mod_verto wants complete ICE).
 * Each goes to the m-line its sdpMid (else sdpMLineIndex) names, after the
 * candidates already there; duplicates are skipped; when gathering is
 * complete every live m-line gets `a=end-of-candidates`. The client's own
 * lines are kept byte for byte: only lines are added.
 */
export function mergeCandidates(sdp: string, candidates: readonly TrickledCandidate[], complete: boolean): MergeResult {
  const { eol, session, media } = splitSections(sdp);
  const added = media.map(() => 0);
  const refused: Array<{ candidate: string; reason: string }> = [];
  for (const c of candidates) {
    if (isEndOfCandidates(c)) continue;
    const value = c.candidate.startsWith('a=') ? c.candidate.slice(2) : c.candidate;
    const key = candidateKey(value);
    if (key === undefined) {
      refused.push({ candidate: c.candidate, reason: 'is not a valid ICE candidate line' });
      continue;
    }
    const section = sectionFor(media, c);
    if (section === undefined) {
      refused.push({ candidate: c.candidate, reason: 'names no m-line of the offer' });
      continue;
    }
    if (isRejected(section)) {
      refused.push({ candidate: c.candidate, reason: 'names a rejected m-line' });
      continue;
    }
    const existing = section.lines.filter((l) => l.startsWith('a=candidate:')).map((l) => candidateKey(l.slice(2)));
    if (existing.includes(key)) continue;
    const lastCandidate = section.lines.findLastIndex((l) => l.startsWith('a=candidate:'));
    const insertAt = lastCandidate >= 0 ? lastCandidate + 1 : section.lines.length;
    section.lines.splice(insertAt, 0, `a=${value}`);
    const index = media.indexOf(section);
    added[index] = (added[index] ?? 0) + 1;
  }
  if (complete) {
    for (const section of media) {
      if (isRejected(section) || section.lines.includes('a=end-of-candidates')) continue;
      const lastCandidate = section.lines.findLastIndex((l) => l.startsWith('a=candidate:'));
      section.lines.splice(lastCandidate >= 0 ? lastCandidate + 1 : section.lines.length, 0, 'a=end-of-candidates');
    }
  }
  const all = [...session, ...media.flatMap((s) => s.lines)];
  return { sdp: all.join(eol) + eol, added, refused };
}

/** Count the candidates on each m-line of an SDP (for tests and logs). */
export function candidatesPerMLine(sdp: string): string[][] {
  return splitSections(sdp).media.map((s) => s.lines.filter((l) => l.startsWith('a=candidate:')).map((l) => l.slice(2)));
}
