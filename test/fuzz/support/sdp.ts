// SDP generators: real SDPs (shortened from the Verto captures in
// ../shared/traces/real) edited line by line (lines dropped, doubled,
// swapped, values replaced, attributes inserted, m-lines rejected), with
// CRLF, LF or mixed line breaks; and trickled ICE candidates.
import fc from 'fast-check';
import { anyText, hostile, mutatedText } from './mutate.ts';

const FINGERPRINT = 'a=fingerprint:sha-256 04:F0:82:EB:29:0A:82:6F:56:46:44:6D:7B:12:0C:18:BE:C5:4D:E7:0A:21:B4:C6:69:F1:90:9E:72:9C:BF:45';

/** A Matrix client's audio offer (verto-10's client side). */
export const CLIENT_OFFER = [
  'v=0', 'o=- 16865792 0 IN IP4 0.0.0.0', 's=-', 't=0 0', 'a=group:BUNDLE 0', 'a=extmap-allow-mixed', 'a=msid-semantic:WMS *',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 0 126', 'c=IN IP4 0.0.0.0',
  'a=candidate:626da4e5384a0ce2d0d93678a 1 udp 2116026367 192.0.2.7 35651 typ host generation 0 ufrag 0e89',
  'a=ice-ufrag:0e89', 'a=ice-pwd:f2fc68401b43feebaa6116', 'a=ice-options:trickle', FINGERPRINT, 'a=setup:actpass', 'a=mid:0',
  'a=sendrecv', 'a=msid:stream track', 'a=rtcp:9 IN IP4 0.0.0.0', 'a=rtcp-mux', 'a=ssrc:3691100716 cname:965ea507',
  'a=rtpmap:111 opus/48000/2', 'a=fmtp:111 useinbandfec=1; minptime=10', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:126 telephone-event/8000',
];

/** An offer with audio, video and a rejected m-line, credentials at session level. */
export const CLIENT_OFFER_MULTI = [
  'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE a v', 'a=ice-ufrag:sess', 'a=ice-pwd:sessionpasswordsessionpw', FINGERPRINT,
  'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0', 'a=mid:a', 'a=rtcp-mux', 'a=rtpmap:111 opus/48000/2', 'a=setup:actpass',
  'm=video 9 UDP/TLS/RTP/SAVPF 96', 'c=IN IP4 0.0.0.0', 'a=mid:v', 'a=rtpmap:96 VP8/90000', 'a=setup:actpass',
  'm=application 0 UDP/DTLS/SCTP webrtc-datachannel', 'a=mid:d',
];

/** FreeSWITCH's SDP toward the edge (verto-10's verto.invite: RTP/SAVPF, no mid, ssrc msid lines). */
export const FREESWITCH_SDP = [
  'v=0', 'o=FreeSWITCH 1795580267 1795580268 IN IP4 127.0.0.1', 's=FreeSWITCH', 'c=IN IP4 127.0.0.1', 't=0 0',
  'a=msid-semantic: WMS 9xUBt5dlnfH73ZotfELapzGNR0yOySvP', 'm=audio 19206 RTP/SAVPF 102 0', 'a=rtpmap:102 opus/48000/2',
  'a=fmtp:102 useinbandfec=1; maxaveragebitrate=30000; ptime=20', FINGERPRINT, 'a=setup:actpass', 'a=rtcp-mux', 'a=rtcp:19206 IN IP4 127.0.0.1',
  'a=ssrc:453785097 cname:Yd6JVjnnGwidfrcQ', 'a=ssrc:453785097 msid:9xUBt5dlnfH73ZotfELapzGNR0yOySvP a0',
  'a=ssrc:453785097 mslabel:9xUBt5dlnfH73ZotfELapzGNR0yOySvP', 'a=ssrc:453785097 label:9xUBt5dlnfH73ZotfELapzGNR0yOySvPa0',
  'a=ice-ufrag:IbicK5CcKj5KRU2r', 'a=ice-pwd:nk44INiEqf0uV5ttAY2SeQ2I',
  'a=candidate:8159156358 1 udp 2130706431 127.0.0.1 19206 typ host generation 0', 'a=silenceSupp:off - - - -', 'a=ptime:20', 'a=sendrecv',
];

/** FreeSWITCH answering with audio and video (two m-lines). */
export const FREESWITCH_SDP_VIDEO = [
  ...FREESWITCH_SDP.slice(0, -1), 'a=sendrecv', 'm=video 19208 UDP/TLS/RTP/SAVPF 96', 'a=rtpmap:96 VP8/90000', 'a=ssrc:99 msid:x v0', 'a=sendrecv',
];

const ATTRIBUTES = ['candidate', 'mid', 'ice-ufrag', 'ice-pwd', 'fingerprint', 'group', 'ssrc', 'msid', 'rtpmap', 'fmtp', 'setup', 'end-of-candidates', 'rtcp', 'msid-semantic'];

const token = fc.oneof(fc.stringMatching(/^[0-9A-Za-z+/:._-]{0,24}$/), hostile, anyText);

/** An ICE candidate attribute value (RFC 8839), fields valid or not. */
export const candidateValue: fc.Arbitrary<string> = (() => {
  const field = (valid: fc.Arbitrary<string>): fc.Arbitrary<string> => fc.oneof({ weight: 10, arbitrary: valid }, { weight: 1, arbitrary: token });
  const structured = fc
    .tuple(
      field(fc.stringMatching(/^[A-Za-z0-9+/]{1,32}$/)),
      field(fc.constantFrom('1', '2')),
      field(fc.constantFrom('udp', 'UDP', 'tcp')),
      field(fc.integer({ min: 0, max: 4_294_967_295 }).map(String)),
      field(fc.constantFrom('192.0.2.1', '2001:db8::1', 'abc.local', '10.0.0.1')),
      field(fc.integer({ min: 0, max: 65_535 }).map(String)),
      field(fc.constantFrom('host', 'srflx', 'prflx', 'relay')),
      fc.array(fc.constantFrom(' generation 0', ' ufrag 0e89', ' network-id 1', ' raddr 0.0.0.0 rport 0', ' tcptype active'), { maxLength: 3 }),
    )
    .map(([f, c, t, p, a, port, typ, ext]) => `candidate:${f} ${c} ${t} ${p} ${a} ${port} typ ${typ}${ext.join('')}`);
  return fc.oneof(
    { weight: 4, arbitrary: structured },
    { weight: 1, arbitrary: mutatedText(fc.constant('candidate:1 1 udp 2130706431 192.0.2.1 50000 typ host'), 3) },
    { weight: 1, arbitrary: anyText },
  );
})();

const attributeLine = fc.oneof(
  fc.tuple(fc.constantFrom(...ATTRIBUTES), token).map(([name, value]) => `a=${name}:${value}`),
  candidateValue.map((c) => `a=${c}`),
  fc.constantFrom('a=end-of-candidates', 'm=audio 9 UDP/TLS/RTP/SAVPF 0', 'm=video 0 RTP/AVP 96', 'c=IN IP4 0.0.0.0', 'v=0'),
  anyText,
);

type LineEdit =
  | { readonly kind: 'drop' | 'double' | 'reject'; readonly at: number }
  | { readonly kind: 'swap'; readonly at: number; readonly to: number }
  | { readonly kind: 'value' | 'insert'; readonly at: number; readonly text: string };

const lineEdit: fc.Arbitrary<LineEdit> = fc.oneof(
  fc.record({ kind: fc.constantFrom('drop' as const, 'double' as const, 'reject' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), at: fc.nat(), to: fc.nat() }),
  fc.record({ kind: fc.constant('value' as const), at: fc.nat(), text: token }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: attributeLine }),
);

function applyLineEdit(lines: string[], e: LineEdit): string[] {
  const out = [...lines];
  const i = out.length === 0 ? 0 : e.at % out.length;
  const line = out[i] ?? '';
  switch (e.kind) {
    case 'drop':
      out.splice(i, 1);
      break;
    case 'double':
      out.splice(i, 0, line);
      break;
    case 'reject': {
      const m = out.findIndex((l, k) => k >= i && l.startsWith('m='));
      if (m >= 0) out[m] = (out[m] ?? '').replace(/^(m=\S+) \d+/, '$1 0');
      break;
    }
    case 'swap': {
      const j = e.to % Math.max(out.length, 1);
      out[i] = out[j] ?? '';
      out[j] = line;
      break;
    }
    case 'value': {
      const cut = line.search(/[:=]/);
      out[i] = `${line.slice(0, cut + 1)}${e.text}`;
      break;
    }
    case 'insert':
      out.splice(i, 0, e.text);
      break;
  }
  return out;
}

const eol = fc.oneof(
  { weight: 4, arbitrary: fc.constant<readonly string[]>(['\r\n']) },
  { weight: 2, arbitrary: fc.constant<readonly string[]>(['\n']) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom('\r\n', '\n', '\r', '\n\n', ''), { minLength: 1, maxLength: 8 }) },
);

function join(lines: readonly string[], breaks: readonly string[]): string {
  return lines.map((l, i) => l + (breaks[i % breaks.length] ?? '\r\n')).join('');
}

/** An SDP from these templates: lines edited, then joined with CRLF, LF or mixed breaks. */
export function editedSdp(templates: ReadonlyArray<readonly string[]>, maxEdits = 4): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom(...templates), fc.array(lineEdit, { maxLength: maxEdits }), eol)
    .map(([lines, edits, breaks]) => join(edits.reduce(applyLineEdit, [...lines]), breaks));
}

/** The templates as sent, CRLF. */
export function wellFormed(templates: ReadonlyArray<readonly string[]>): fc.Arbitrary<string> {
  return fc.constantFrom(...templates.map((t) => join(t, ['\r\n'])));
}

/** An m.call.candidates entry: a candidate (or end-of-candidates), which m-line it names. */
export const trickled = fc.record(
  {
    candidate: fc.oneof({ weight: 6, arbitrary: candidateValue }, { weight: 1, arbitrary: candidateValue.map((c) => `a=${c}`) }, { weight: 1, arbitrary: fc.constant('') }),
    sdpMid: fc.oneof(fc.constantFrom('0', '1', 'a', 'v', 'd', 'audio'), fc.constant(null), anyText),
    sdpMLineIndex: fc.oneof(fc.nat({ max: 3 }), fc.constant(null), fc.integer({ min: -2, max: 70 })),
  },
  { requiredKeys: ['candidate'] },
);
