// SDP the way FreeSWITCH 1.11.1 writes it toward a Verto client (shapes from
// the real captures, traces/real/verto-*.json): no a=mid, no a=group:BUNDLE,
// no a=msid line (only a=ssrc msid/mslabel/label), a=silenceSupp:off,
// one host candidate. Three shapes:
//  * answer (verto.media / verto.answer): codec spelled as in the offer,
//    a=setup:active (passive if the client offered active), end-of-candidates;
//  * re-offer (verto.attach): UDP/TLS/RTP/SAVPF, a=setup:actpass, RTP+RTCP
//    candidates, end-of-candidates;
//  * outbound offer (verto.invite toward the client): `RTP/SAVPF`, ICE and
//    candidates after the ssrc lines, no end-of-candidates, ptime/sendrecv last.
import { randomBytes, randomInt } from 'node:crypto';

export interface SdpAddress {
  /** Media address (verto.conf rtp-ip / ext-rtp-ip). Default 127.0.0.1. */
  readonly ip?: string;
  /** RTP port. Default: random even port 16384..32766. */
  readonly port?: number;
}

/** One certificate per FreeSWITCH process: the same fingerprint in every SDP. */
export const FS_FINGERPRINT =
  'sha-256 04:F0:82:EB:29:0A:82:6F:56:46:44:6D:7B:12:0C:18:BE:C5:4D:E7:0A:21:B4:C6:69:F1:90:9E:72:9C:BF:45';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function token(n: number): string {
  return [...randomBytes(n)].map((b) => ALNUM[b % ALNUM.length]).join('');
}

function digits(n: number): string {
  return Array.from({ length: n }, () => String(randomInt(10))).join('');
}

interface Common {
  readonly ip: string;
  readonly port: number;
  readonly head: string[];
  readonly ssrc: string[];
  readonly ice: string[];
  readonly foundation: string;
}

function common(a: SdpAddress): Common {
  const ip = a.ip ?? '127.0.0.1';
  const port = a.port ?? 16384 + 2 * randomInt(8192);
  const version = Math.floor(Date.now() / 1000) - randomInt(30000);
  const msid = token(32);
  const ssrc = randomInt(1, 2 ** 32 - 1);
  return {
    ip,
    port,
    head: ['v=0', `o=FreeSWITCH ${version} ${version + 1} IN IP4 ${ip}`, 's=FreeSWITCH', `c=IN IP4 ${ip}`, 't=0 0', `a=msid-semantic: WMS ${msid}`],
    ssrc: [`a=ssrc:${ssrc} cname:${token(16)}`, `a=ssrc:${ssrc} msid:${msid} a0`, `a=ssrc:${ssrc} mslabel:${msid}`, `a=ssrc:${ssrc} label:${msid}a0`],
    ice: [`a=ice-ufrag:${token(16)}`, `a=ice-pwd:${token(24)}`],
    foundation: digits(10),
  };
}

const join = (lines: readonly string[]): string => `${lines.join('\r\n')}\r\n`;

interface Codec {
  readonly pt: string;
  readonly rtpmap: string;
  readonly fmtp?: string;
}

/** The codec FreeSWITCH picks from an offer: opus (offer's spelling) first, else PCMU, else PCMA. */
export function chooseCodec(offer: string): Codec {
  const maps = [...offer.matchAll(/^a=rtpmap:(\d+) ([^\r\n]+)$/gm)].map((m) => ({ pt: m[1] ?? '', rtpmap: m[2] ?? '' }));
  const opus = maps.find((m) => /^opus\/48000/i.test(m.rtpmap));
  if (opus !== undefined) return { ...opus, fmtp: 'useinbandfec=1; minptime=10; maxptime=40' };
  const pcma = maps.find((m) => /^PCMA\/8000/i.test(m.rtpmap));
  const offersPcmu = /^m=audio \d+ \S+ (?:\d+ )*0(?: |$)/m.test(offer) || maps.some((m) => /^PCMU\/8000/i.test(m.rtpmap));
  if (!offersPcmu && pcma !== undefined) return pcma;
  return { pt: '0', rtpmap: 'PCMU/8000' };
}

function codecLines(c: Codec): string[] {
  return [`a=rtpmap:${c.pt} ${c.rtpmap}`, ...(c.fmtp !== undefined ? [`a=fmtp:${c.pt} ${c.fmtp}`] : [])];
}

/** FreeSWITCH's answer to a client offer (verto.media / verto.answer sdp). */
export function answerSdp(offer: string, a: SdpAddress = {}): string {
  const c = common(a);
  const codec = chooseCodec(offer);
  const setup = /^a=setup:active/m.test(offer) ? 'passive' : 'active';
  return join([
    ...c.head,
    `m=audio ${c.port} UDP/TLS/RTP/SAVPF ${codec.pt}`,
    ...codecLines(codec),
    'a=silenceSupp:off - - - -',
    'a=ptime:20',
    'a=sendrecv',
    `a=fingerprint:${FS_FINGERPRINT}`,
    `a=setup:${setup}`,
    'a=rtcp-mux',
    `a=rtcp:${c.port} IN IP4 ${c.ip}`,
    ...c.ice,
    `a=candidate:${c.foundation} 1 udp 2130706431 ${c.ip} ${c.port} typ host generation 0`,
    'a=end-of-candidates',
    ...c.ssrc,
  ]);
}

/** The fresh offer of a server verto.attach (re-attach after reconnect). */
export function reofferSdp(a: SdpAddress = {}): string {
  const c = common(a);
  const codec: Codec = { pt: '96', rtpmap: 'OPUS/48000/2', fmtp: 'useinbandfec=1; minptime=10; maxptime=40' };
  return join([
    ...c.head,
    `m=audio ${c.port} UDP/TLS/RTP/SAVPF ${codec.pt}`,
    ...codecLines(codec),
    'a=silenceSupp:off - - - -',
    'a=ptime:20',
    'a=sendrecv',
    `a=fingerprint:${FS_FINGERPRINT}`,
    'a=setup:actpass',
    'a=rtcp-mux',
    `a=rtcp:${c.port} IN IP4 ${c.ip}`,
    ...c.ice,
    `a=candidate:${c.foundation} 1 udp 2130706431 ${c.ip} ${c.port} typ host generation 0`,
    `a=candidate:${c.foundation} 2 udp 2130706430 ${c.ip} ${c.port} typ host generation 0`,
    'a=end-of-candidates',
    ...c.ssrc,
  ]);
}

/** FreeSWITCH's offer in a server verto.invite; `pcmuOnly` when the A leg is a PCMU-only SIP call. */
export function inviteOfferSdp(a: SdpAddress & { readonly pcmuOnly?: boolean } = {}): string {
  const c = common(a);
  const codec: Codec = a.pcmuOnly === true
    ? { pt: '0', rtpmap: 'PCMU/8000' }
    : { pt: '102', rtpmap: 'opus/48000/2', fmtp: 'useinbandfec=1; maxaveragebitrate=30000; maxplaybackrate=48000; ptime=20; minptime=10; maxptime=40' };
  return join([
    ...c.head,
    `m=audio ${c.port} RTP/SAVPF ${codec.pt}`,
    ...codecLines(codec),
    `a=fingerprint:${FS_FINGERPRINT}`,
    'a=setup:actpass',
    'a=rtcp-mux',
    `a=rtcp:${c.port} IN IP4 ${c.ip}`,
    ...c.ssrc,
    ...c.ice,
    `a=candidate:${c.foundation} 1 udp 2130706431 ${c.ip} ${c.port} typ host generation 0`,
    `a=candidate:${c.foundation} 2 udp 2130706431 ${c.ip} ${c.port} typ host generation 0`,
    'a=silenceSupp:off - - - -',
    'a=ptime:20',
    'a=sendrecv',
  ]);
}
