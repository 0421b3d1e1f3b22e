import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'sdp-transform';
import { describe, expect, it } from 'vitest';
import { answerTo, classifyOffer } from '../../src/sdp/renegotiate.ts';
import { sdpForMatrix } from '../../src/sdp/for-matrix.ts';

const trace = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../../shared/traces/real/verto-04-call-sip-trunk-dtmf-client-bye.json'), 'utf8')) as {
  frames: Array<{ msg?: { params?: { sdp?: string } } }>;
};
const sdps = trace.frames.filter((f) => typeof f.msg?.params?.sdp === 'string').map((f) => f.msg!.params!.sdp!);
const OFFER = sdps[0]!;
const ANSWER = sdpForMatrix(sdps[1]!, OFFER).sdp;
const withDirection = (sdp: string, d: string) => sdp.replace(/a=(sendrecv|sendonly|recvonly|inactive)\r\n/g, `a=${d}\r\n`);

describe('m.call.negotiate offers', () => {
  it('a hold is every audio m-line sendonly or inactive; a resume is sendrecv again', () => {
    expect(classifyOffer(OFFER, withDirection(OFFER, 'sendonly'), false)).toEqual({ kind: 'hold' });
    expect(classifyOffer(OFFER, withDirection(OFFER, 'inactive'), false)).toEqual({ kind: 'hold' });
    expect(classifyOffer(OFFER, withDirection(OFFER, 'sendrecv'), true)).toEqual({ kind: 'resume' });
    expect(classifyOffer(OFFER, withDirection(OFFER, 'sendonly'), true)).toEqual({ kind: 'unchanged' });
    expect(classifyOffer(OFFER, OFFER, false)).toEqual({ kind: 'unchanged' });
  });
  it('a new ICE ufrag is an ICE restart; an added m-line a new stream; a dropped or changed one is invalid', () => {
    expect(classifyOffer(OFFER, OFFER.replace(/a=ice-ufrag:\S+/, 'a=ice-ufrag:NEWF'), false)).toEqual({ kind: 'ice_restart' });
    const video = `${OFFER}m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 VP8/90000\r\na=mid:1\r\na=sendrecv\r\n`;
    expect(classifyOffer(OFFER, video, false)).toEqual({ kind: 'new_streams', added: 1 });
    expect(classifyOffer(OFFER, 'v=0\r\n', false).kind).toBe('invalid');
  });
  it('the answer mirrors each direction, counts the version up, and refuses added m-lines', () => {
    const held = answerTo(ANSWER, withDirection(OFFER, 'sendonly'));
    expect(parse(held).media.map((m) => m.direction)).toEqual(['recvonly']);
    expect(Number(parse(held).origin!.sessionVersion)).toBe(Number(parse(ANSWER).origin!.sessionVersion) + 1);
    expect(parse(answerTo(held, withDirection(OFFER, 'sendrecv'))).media.map((m) => m.direction)).toEqual(['sendrecv']);
    const video = `${OFFER}m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 VP8/90000\r\na=mid:1\r\na=sendrecv\r\n`;
    const refused = parse(answerTo(ANSWER, video));
    expect(refused.media.map((m) => [m.type, m.port, m.direction])).toEqual([['audio', parse(ANSWER).media[0]!.port, 'sendrecv'], ['video', 0, 'inactive']]);
    expect(String(refused.groups?.find((g) => g.type === 'BUNDLE')?.mids)).toBe(String(parse(ANSWER).media[0]!.mid));
  });
});
