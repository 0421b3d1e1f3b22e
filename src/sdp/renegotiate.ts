// A Matrix client's m.call.negotiate offer in an answered call, judged
// against the offer the call started with: a hold (every audio m-line
// sendonly or inactive: js-sdk's WebRTC hold), a resume, nothing that
// FreeSWITCH must hear of, an ICE restart, or new streams. Hold and resume
// are answered by the edge itself from the answer it gave before, with the
// directions mirrored: mod_verto's hold (verto.modify) sends no SDP to the
// Verto client (protocols/verto.md §4.8), so the media leg's own
// description does not change.
import { parse, write, type MediaDescription } from 'sdp-transform';

export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export type NegotiateOffer =
  | { readonly kind: 'hold' }
  | { readonly kind: 'resume' }
  /** The same media as now: answered as it is. */
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'ice_restart' }
  /** More m-lines than the call has (video, screen share): they are refused (port 0), the rest stays. */
  | { readonly kind: 'new_streams'; readonly added: number }
  | { readonly kind: 'invalid'; readonly reason: string };

function directionOf(m: MediaDescription): Direction {
  return (m.direction as Direction | undefined) ?? 'sendrecv';
}

const ufragOf = (m: MediaDescription, session: { iceUfrag?: string | undefined }): string | undefined => m.iceUfrag ?? session.iceUfrag;

/** What the offer asks for, given the call's first offer and whether the call is held now. */
export function classifyOffer(firstOffer: string, offer: string, held: boolean): NegotiateOffer {
  let before;
  let now;
  try {
    before = parse(firstOffer);
    now = parse(offer);
  } catch {
    return { kind: 'invalid', reason: 'the offer does not parse' };
  }
  if (now.media.length === 0) return { kind: 'invalid', reason: 'the offer has no media' };
  if (now.media.length < before.media.length) return { kind: 'invalid', reason: 'the offer drops media of the call' };
  for (let i = 0; i < before.media.length; i++) {
    const a = before.media[i]!;
    const b = now.media[i]!;
    if (a.type !== b.type) return { kind: 'invalid', reason: `m-line ${i} changed from ${a.type} to ${b.type}` };
    if (ufragOf(a, before) !== ufragOf(b, now)) return { kind: 'ice_restart' };
  }
  if (now.media.length > before.media.length) return { kind: 'new_streams', added: now.media.length - before.media.length };
  const audio = now.media.filter((m) => m.type === 'audio' && m.port !== 0);
  if (audio.length === 0) return { kind: 'invalid', reason: 'the offer has no audio' };
  const onHold = audio.every((m) => directionOf(m) === 'sendonly' || directionOf(m) === 'inactive');
  if (onHold) return held ? { kind: 'unchanged' } : { kind: 'hold' };
  return held ? { kind: 'resume' } : { kind: 'unchanged' };
}

const MIRROR: Readonly<Record<Direction, Direction>> = { sendrecv: 'sendrecv', sendonly: 'recvonly', recvonly: 'sendonly', inactive: 'inactive' };

/**
 * The answer to an offer: the edge's previous answer, each m-line's
 * direction the mirror of the offer's, its version one higher; m-lines the
 * offer adds are refused (port 0, inactive, out of the BUNDLE group).
 */
export function answerTo(previousAnswer: string, offer: string): string {
  const answer = parse(previousAnswer);
  const o = parse(offer);
  answer.media.forEach((m, i) => {
    const offered = o.media[i];
    m.direction = MIRROR[offered === undefined ? 'sendrecv' : directionOf(offered)];
  });
  for (let i = answer.media.length; i < o.media.length; i++) {
    const added = o.media[i]!;
    const mid = added.mid === undefined ? String(i) : String(added.mid);
    answer.media.push({
      type: added.type,
      port: 0,
      protocol: added.protocol,
      payloads: added.payloads,
      rtp: added.rtp.slice(0, 1),
      fmtp: [],
      mid,
      direction: 'inactive',
    } as MediaDescription);
  }
  const bundle = answer.groups?.find((g) => g.type === 'BUNDLE');
  if (bundle !== undefined) bundle.mids = answer.media.filter((m) => m.port !== 0 && m.mid !== undefined).map((m) => String(m.mid)).join(' ');
  if (answer.origin !== undefined) answer.origin.sessionVersion = Number(answer.origin.sessionVersion) + 1;
  return write(answer);
}

/** The SDP with its DTLS role (a=setup) set on every m-line. */
export function withSetup(sdp: string, role: 'active' | 'passive'): string {
  const session = parse(sdp);
  for (const m of session.media) m.setup = role;
  return write(session);
}

/**
 * An offer built from the edge's last answer in the call: the same media,
 * ICE and DTLS fingerprint, the DTLS role left open (actpass, which lets the
 * client keep the one it has), the given direction, the version one higher.
 */
export function offerFrom(lastAnswer: string, direction: Direction): string {
  const session = parse(lastAnswer);
  for (const m of session.media) {
    if (m.port === 0) continue;
    m.direction = direction;
    m.setup = 'actpass';
  }
  if (session.origin !== undefined) session.origin.sessionVersion = Number(session.origin.sessionVersion) + 1;
  return write(session);
}
