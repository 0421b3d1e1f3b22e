// SDP that the simulated FreeSWITCH hands to a WebRTC (Verto) client, shaped
// like the real 1.11.1 captures: no a=mid, no a=group:BUNDLE, a=setup:active,
// one host candidate plus a=end-of-candidates, the offer's codec spelling.
import { randomBytes } from 'node:crypto';

function token(n: number): string {
  return randomBytes(n).toString('base64').replace(/[^A-Za-z0-9]/g, 'x').slice(0, n);
}

function fingerprint(): string {
  return [...randomBytes(32)].map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(':');
}

let port = 25000;
function nextPort(): number {
  port = port >= 32000 ? 25000 : port + 2;
  return port;
}

/** First audio codec of the offer as `pt`, `rtpmap` text (e.g. 96, "OPUS/48000/2"); PCMU if none. */
function firstAudioCodec(offer: string): { pt: string; rtpmap: string } {
  const m = /^m=audio \d+ \S+ (\d+)/m.exec(offer);
  const pt = m?.[1] ?? '0';
  const map = new RegExp(`^a=rtpmap:${pt} (\\S+)`, 'm').exec(offer);
  return { pt, rtpmap: map?.[1] ?? 'PCMU/8000' };
}

function mediaBlock(ip: string, mport: number, proto: string, pt: string, rtpmap: string, setup: string, endOfCandidates: boolean, rtcpCandidate = false): string {
  const ssrc = String(randomBytes(4).readUInt32BE(0));
  const msid = token(32);
  return [
    `m=audio ${mport} ${proto} ${pt}`,
    `a=rtpmap:${pt} ${rtpmap}`,
    ...(/opus/i.test(rtpmap) ? [`a=fmtp:${pt} useinbandfec=1; minptime=10; maxptime=40`] : []),
    'a=silenceSupp:off - - - -',
    'a=ptime:20',
    'a=sendrecv',
    `a=fingerprint:sha-256 ${fingerprint()}`,
    `a=setup:${setup}`,
    'a=rtcp-mux',
    `a=rtcp:${mport} IN IP4 ${ip}`,
    `a=ice-ufrag:${token(16)}`,
    `a=ice-pwd:${token(24)}`,
    ...((foundation: string) => [
      `a=candidate:${foundation} 1 udp 2130706431 ${ip} ${mport} typ host generation 0`,
      ...(rtcpCandidate ? [`a=candidate:${foundation} 2 udp 2130706430 ${ip} ${mport} typ host generation 0`] : []),
    ])(String(randomBytes(4).readUInt32BE(0))),
    ...(endOfCandidates ? ['a=end-of-candidates'] : []),
    `a=ssrc:${ssrc} cname:${token(16)}`,
    `a=ssrc:${ssrc} msid:${msid} a0`,
    `a=ssrc:${ssrc} mslabel:${msid}`,
    `a=ssrc:${ssrc} label:${msid}a0`,
  ].join('\r\n');
}

function header(ip: string): string {
  const v = Math.floor(Date.now() / 1000);
  return ['v=0', `o=FreeSWITCH ${v} ${v + 1} IN IP4 ${ip}`, 's=FreeSWITCH', `c=IN IP4 ${ip}`, 't=0 0', `a=msid-semantic: WMS ${token(32)}`].join('\r\n');
}

/** FreeSWITCH's answer to a client's WebRTC offer. */
export function fsAnswerSdp(offer: string, ip = '127.0.0.1'): string {
  const { pt, rtpmap } = firstAudioCodec(offer);
  return `${header(ip)}\r\n${mediaBlock(ip, nextPort(), 'UDP/TLS/RTP/SAVPF', pt, rtpmap, 'active', true)}\r\n`;
}

/** FreeSWITCH's offer toward a Verto client for a call from a PCMU-only SIP leg (verto-13: RTP/SAVPF 0, no end-of-candidates). */
export function fsOfferSdp(ip = '127.0.0.1'): string {
  return `${header(ip)}\r\n${mediaBlock(ip, nextPort(), 'RTP/SAVPF', '0', 'PCMU/8000', 'actpass', false)}\r\n`;
}

/**
 * FreeSWITCH's offer in a server `verto.attach` (mod_verto.c tech_reattach:
 * switch_core_media_gen_local_sdp(SDP_OFFER) with CF_REINVITE|CF_RECOVERING
 * set): the codec and profile already negotiated with the client's SDP
 * (`remote`, switch_r_sdp), fresh ICE credentials and fingerprint,
 * a=setup:actpass, host candidates for components 1 and 2 and
 * a=end-of-candidates (real verto-07: `UDP/TLS/RTP/SAVPF 96`, OPUS/48000/2).
 */
export function fsReofferSdp(remote: string, ip = '127.0.0.1'): string {
  const { pt, rtpmap } = /^m=audio /m.test(remote) ? firstAudioCodec(remote) : { pt: '96', rtpmap: 'OPUS/48000/2' };
  const proto = /^m=audio \d+ (\S+)/m.exec(remote)?.[1] ?? 'UDP/TLS/RTP/SAVPF';
  return `${header(ip)}\r\n${mediaBlock(ip, nextPort(), proto, pt, rtpmap, 'actpass', true, true)}\r\n`;
}

/** A trunk's plain RTP answer (what sipp sends). */
export function trunkSdp(ip = '127.0.0.1'): string {
  return ['v=0', 'o=user1 53655765 2353687637 IN IP4 ' + ip, 's=-', `c=IN IP4 ${ip}`, 't=0 0', 'm=audio 6000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');
}
