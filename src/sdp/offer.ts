import { parse, type SessionDescription } from 'sdp-transform';

/** The largest SDP the edge accepts from Matrix (a real audio offer is 1-3 kB). */
export const MAX_SDP_BYTES = 16 * 1024;

export type SdpCheck =
  | { readonly ok: true; readonly session: SessionDescription }
  | { readonly ok: false; readonly reason: string };

/**
 * Check an SDP from a Matrix client before anything is built from it: it
 * must be bounded, parse, be free of NUL/CR-only line breaks, and carry
 * at least one usable audio m-line with ICE credentials and a DTLS
 * fingerprint (mod_verto requires DTLS-SRTP).
 */
export function checkClientSdp(sdp: string): SdpCheck {
  if (Buffer.byteLength(sdp, 'utf8') > MAX_SDP_BYTES) return { ok: false, reason: `SDP is larger than ${MAX_SDP_BYTES} bytes` };
  if (/\0/.test(sdp)) return { ok: false, reason: 'SDP contains a NUL byte' };
  // sdp-transform ends a line at a lone CR, the edge's own line handling (candidates.ts) does not: refuse the ambiguity.
  if (/\r(?!\n)/.test(sdp)) return { ok: false, reason: 'SDP has a CR without LF (lines must end in CRLF or LF)' };
  if (!/^v=0\r?\n/.test(sdp)) return { ok: false, reason: 'SDP does not start with v=0' };
  let session: SessionDescription;
  try {
    session = parse(sdp);
  } catch {
    return { ok: false, reason: 'SDP does not parse' };
  }
  const audio = session.media.filter((m) => m.type === 'audio' && m.port !== 0);
  if (audio.length === 0) return { ok: false, reason: 'SDP has no audio m-line' };
  for (const m of audio) {
    if (m.payloads === undefined || String(m.payloads).trim() === '') return { ok: false, reason: 'audio m-line has no payload types' };
    if (!(m.iceUfrag ?? session.iceUfrag) || !(m.icePwd ?? session.icePwd)) return { ok: false, reason: 'audio m-line has no ICE credentials' };
    if (!(m.fingerprint ?? session.fingerprint)) return { ok: false, reason: 'audio m-line has no DTLS fingerprint' };
  }
  return { ok: true, session };
}
