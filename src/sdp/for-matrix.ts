import { randomBytes } from 'node:crypto';
import { parse, write, type SessionDescription } from 'sdp-transform';

/** sdp_stream_metadata, keyed by msid stream id. */
export type StreamMetadata = Record<string, { purpose: 'm.usermedia'; audio_muted: boolean; video_muted: boolean }>;

export interface MatrixSdp {
  readonly sdp: string;
  readonly streamMetadata: StreamMetadata;
}

function token(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * FreeSWITCH's SDP as a Matrix client needs it (real captures, 1.11.1:
 * no a=mid, no BUNDLE group, no a=msid). Every m-line gets a mid (the
 * offer's when this is an answer, so the client can match them; 0, 1, ...
 * otherwise), a BUNDLE group when the offer had one (or always for our own
 * offers), and a=msid with one stream id that sdp_stream_metadata names.
 * Media, ICE, DTLS and codecs are left exactly as FreeSWITCH wrote them.
 */
export function sdpForMatrix(freeswitchSdp: string, matrixOffer?: string): MatrixSdp {
  const session: SessionDescription = parse(freeswitchSdp);
  const offer = matrixOffer === undefined ? undefined : parse(matrixOffer);
  const streamId = token(12);

  session.media.forEach((m, i) => {
    // FreeSWITCH offers "RTP/SAVPF" toward a PCMU-only trunk (real capture
    // verto-13) while doing DTLS-SRTP: name the profile as WebRTC does.
    if (m.protocol === 'RTP/SAVPF' && (m.fingerprint ?? session.fingerprint) !== undefined) m.protocol = 'UDP/TLS/RTP/SAVPF';
    const offered = offer?.media[i]?.mid;
    m.mid = offered !== undefined ? String(offered) : String(i);
    const trackId = token(9);
    m.msid = [{ id: streamId, appdata: trackId }];
    if (m.ssrcs) {
      for (const s of m.ssrcs) {
        if (s.attribute === 'msid') s.value = `${streamId} ${trackId}`;
        if (s.attribute === 'mslabel') s.value = streamId;
        if (s.attribute === 'label') s.value = trackId;
      }
    }
  });
  session.msidSemantic = { semantic: 'WMS', token: streamId };

  const offerBundled = offer?.groups?.some((g) => g.type === 'BUNDLE') ?? true;
  // An m-line whose port is not a number (a malformed line) leaves as port 0: rejected, so not bundled.
  for (const m of session.media) if (typeof m.port !== 'number' || !Number.isInteger(m.port) || m.port < 0) m.port = 0;
  const live = session.media.filter((m) => m.port !== 0).map((m) => String(m.mid));
  session.groups = offerBundled && live.length > 0 ? [{ type: 'BUNDLE', mids: live.join(' ') }] : [];

  const hasVideo = session.media.some((m) => m.type === 'video' && m.port !== 0);
  return {
    sdp: write(session),
    streamMetadata: { [streamId]: { purpose: 'm.usermedia', audio_muted: false, video_muted: !hasVideo } },
  };
}
