// The Matrix caller's offer: a complete WebRTC audio offer (ICE credentials,
// DTLS fingerprint, one host candidate and a=end-of-candidates, so the edge
// dials at once), unique per call. The o= session id carries the call's
// number: it passes through the edge into the verto.invite unchanged, which
// is how the benchmark matches a Verto invite to its Matrix invite.

const FINGERPRINT = 'sha-256 3A:91:0C:5E:77:1B:D2:48:AF:60:93:2E:C4:18:7D:55:E9:0B:36:A2:F1:4C:88:1D:5B:27:C9:70:3E:AA:16:D4';

export function benchOffer(n: number): string {
  const ufrag = `b${n.toString(36).padStart(7, '0')}`;
  return [
    'v=0',
    `o=- ${1_000_000 + n} 2 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    'a=msid-semantic: WMS bench',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111 0 8',
    'c=IN IP4 0.0.0.0',
    'a=rtcp:9 IN IP4 0.0.0.0',
    `a=candidate:1 1 udp 2122260223 127.0.0.1 ${40_000 + (n % 20_000)} typ host generation 0`,
    'a=end-of-candidates',
    `a=ice-ufrag:${ufrag}`,
    'a=ice-pwd:benchbenchbenchbenchbench',
    'a=ice-options:trickle',
    `a=fingerprint:${FINGERPRINT}`,
    'a=setup:actpass',
    'a=mid:0',
    'a=sendrecv',
    `a=msid:bench t${n}`,
    'a=rtcp-mux',
    'a=rtpmap:111 opus/48000/2',
    'a=fmtp:111 minptime=10;useinbandfec=1',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    `a=ssrc:${100_000 + n} cname:bench`,
    '',
  ].join('\r\n');
}

/** The call number an offer (as it reached FreeSWITCH) was made for, from its o= line. */
export function callNumberOf(sdp: string): number | undefined {
  const m = /^o=- (\d+) /m.exec(sdp);
  return m ? Number(m[1]) - 1_000_000 : undefined;
}
