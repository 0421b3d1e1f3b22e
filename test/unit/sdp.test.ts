import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'sdp-transform';
import { describe, expect, it } from 'vitest';
import { RTCPeerConnection } from 'werift';
import { candidatesPerMLine, mergeCandidates } from '../../src/sdp/candidates.ts';
import { sdpForMatrix } from '../../src/sdp/for-matrix.ts';
import { checkClientSdp } from '../../src/sdp/offer.ts';

const REAL = resolve(import.meta.dirname, '../../../shared/traces/real');

interface Frame { dir: string; msg?: { method?: string; params?: { sdp?: unknown } } }

/** Every SDP FreeSWITCH sent and every client SDP, from the real Verto captures. */
function realSdps(): { server: Array<[string, string]>; client: Array<[string, string]> } {
  const server: Array<[string, string]> = [];
  const client: Array<[string, string]> = [];
  for (const file of readdirSync(REAL).filter((f) => /^verto-\d+-.*(?<!\.esl)\.json$/.test(f))) {
    const trace = JSON.parse(readFileSync(join(REAL, file), 'utf8')) as { frames: Frame[] };
    for (const f of trace.frames) {
      const sdp = f.msg?.params?.sdp;
      if (typeof sdp !== 'string') continue;
      if (!sdp.includes('m=audio')) continue; // verto-02 sends a stub SDP to an unauthenticated socket
      (f.dir === 'server->client' ? server : client).push([`${file} ${f.msg?.method ?? ''}`, sdp]);
    }
  }
  return { server, client };
}

const { server, client } = realSdps();

async function wereiftOffer(): Promise<{ pc: RTCPeerConnection; sdp: string }> {
  const pc = new RTCPeerConnection({});
  pc.addTransceiver('audio', { direction: 'sendrecv' });
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  return { pc, sdp: pc.localDescription?.sdp ?? '' };
}

describe('SDP for Matrix clients (real FreeSWITCH SDPs)', () => {
  it('found FreeSWITCH SDPs in the real captures', () => {
    expect(server.length).toBeGreaterThanOrEqual(5);
    expect(client.length).toBeGreaterThanOrEqual(5);
  });

  it.each(server)('%s: adds mid, BUNDLE, msid and matching metadata, keeps media', (_name, fsSdp) => {
    const offer = client[0]?.[1];
    const out = sdpForMatrix(fsSdp, offer);
    const before = parse(fsSdp);
    const after = parse(out.sdp);
    const streamIds = Object.keys(out.streamMetadata);
    expect(streamIds).toHaveLength(1);
    const streamId = streamIds[0];
    expect(String(after.groups?.[0]?.mids)).toBe('0');
    expect(after.groups?.[0]?.type).toBe('BUNDLE');
    after.media.forEach((m, i) => {
      const b = before.media[i]!;
      expect(String(m.mid)).toBe('0');
      expect(m.msid?.[0]?.id).toBe(streamId);
      expect(m.candidates).toEqual(b.candidates);
      expect(m.fingerprint ?? after.fingerprint).toEqual(b.fingerprint ?? before.fingerprint);
      expect(m.payloads).toBe(b.payloads);
      expect(m.protocol).toBe('UDP/TLS/RTP/SAVPF'); // "RTP/SAVPF" with DTLS becomes the WebRTC name
      expect(m.iceUfrag).toBe(b.iceUfrag);
    });
    expect(out.streamMetadata[streamId!]?.purpose).toBe('m.usermedia');
  });

  it('werift refuses the raw FreeSWITCH answer and accepts the normalised one', async () => {
    const answer = server.find(([n]) => n.includes('verto.answer') || n.includes('verto.media'));
    expect(answer).toBeDefined();
    const raw = await wereiftOffer();
    await expect(raw.pc.setRemoteDescription({ type: 'answer', sdp: answer![1] })).rejects.toBeDefined();
    await raw.pc.close();
    const fixed = await wereiftOffer();
    const out = sdpForMatrix(answer![1], fixed.sdp);
    await fixed.pc.setRemoteDescription({ type: 'answer', sdp: out.sdp });
    expect(fixed.pc.remoteDescription?.sdp).toContain('a=mid:');
    await fixed.pc.close();
  });
});

describe('FreeSWITCH offers toward Matrix (inbound)', () => {
  it('werift refuses the raw FreeSWITCH offer (RTP/SAVPF 0, no mid) and answers the normalised one', async () => {
    const offer = server.find(([n]) => n.includes('verto-13') && n.includes('verto.invite'));
    expect(offer).toBeDefined();
    const raw = new RTCPeerConnection({});
    await expect(raw.setRemoteDescription({ type: 'offer', sdp: offer![1] })).rejects.toBeDefined();
    await raw.close();
    const pc = new RTCPeerConnection({});
    await pc.setRemoteDescription({ type: 'offer', sdp: sdpForMatrix(offer![1]).sdp });
    const answer = await pc.createAnswer();
    expect(answer.sdp).toContain('m=audio 9 UDP/TLS/RTP/SAVPF 0');
    await pc.close();
  });
});

describe('candidate coalescing', () => {
  const offer = client[0]![1];

  it('adds candidates to the m-line named by sdpMid, keeps the rest byte for byte', () => {
    const srflx = 'candidate:842163049 1 udp 1677729535 203.0.113.7 54400 typ srflx raddr 10.0.0.1 rport 54400 generation 0';
    const relay = 'candidate:99 1 udp 41885439 198.51.100.9 3478 typ relay raddr 203.0.113.7 rport 54400';
    const r = mergeCandidates(offer, [{ candidate: srflx, sdpMid: '0', sdpMLineIndex: 0 }, { candidate: relay, sdpMLineIndex: 0 }], true);
    expect(r.added).toEqual([2]);
    expect(r.refused).toEqual([]);
    const lines = candidatesPerMLine(r.sdp)[0]!;
    expect(lines).toContain(srflx);
    expect(lines).toContain(relay);
    expect(r.sdp).toContain('a=end-of-candidates');
    for (const line of offer.split('\r\n').filter((l) => l !== '')) expect(r.sdp).toContain(line);
  });

  it('skips duplicates of candidates already in the SDP', () => {
    const existing = candidatesPerMLine(offer)[0]![0]!;
    const r = mergeCandidates(offer, [{ candidate: existing, sdpMid: '0' }], false);
    expect(r.added).toEqual([0]);
  });

  it.each([
    ['a line break', 'candidate:1 1 udp 1 10.0.0.1 5000 typ host\r\na=inject'],
    ['garbage', 'hello'],
    ['a bad type', 'candidate:1 1 udp 1 10.0.0.1 5000 typ evil'],
  ])('refuses a candidate with %s', (_n, candidate) => {
    const r = mergeCandidates(offer, [{ candidate, sdpMid: '0' }], false);
    expect(r.refused).toHaveLength(1);
    expect(r.sdp).not.toContain('inject');
  });

  it('refuses a candidate for an m-line that does not exist', () => {
    const r = mergeCandidates(offer, [{ candidate: 'candidate:1 1 udp 1 10.0.0.1 5000 typ host', sdpMid: '7' }], false);
    expect(r.refused[0]?.reason).toMatch(/no m-line/);
  });
});

describe('client SDP checks', () => {
  it('accepts every real client offer', () => {
    for (const [, sdp] of client) expect(checkClientSdp(sdp).ok).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['not SDP', 'hello'],
    ['no audio', 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n'],
    ['too large (1 MB)', `v=0\r\n${'a=x-padding:0123456789abcdef\r\n'.repeat(35_000)}`],
  ])('refuses %s', (_n, sdp) => {
    expect(checkClientSdp(sdp).ok).toBe(false);
  });

  it('refuses an audio m-line without ICE credentials', () => {
    const noIce = client[0]![1].split('\r\n').filter((l) => !l.startsWith('a=ice-')).join('\r\n');
    expect(checkClientSdp(noIce)).toEqual({ ok: false, reason: 'audio m-line has no ICE credentials' });
  });
});
