import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboundFixture, content, type Json } from '../support/outbound-fixture.ts';
import type { JsonObject } from '../support/homeserver/types.ts';
import { pollUntil } from '../support/wait.ts';

// Bot mode loses nothing either: 30 m.call.invite reach one room while the
// edge's /sync is held (the homeserver simulator does not answer it), and
// the homeserver clamps the edge's timeline limit to 10 (as some do), so the
// sync that finally comes is "limited": it carries the newest 10 events and
// a prev_batch token. The built edge pages back over the gap with
// GET /rooms/{roomId}/messages and places every call. Asserted on the wire:
// one verto.invite per Matrix call at the FreeSWITCH simulator, one
// m.call.answer per call in the room, no call twice.

const CALLS = 30;
const CLAMP = 10;
const NUMBER = '+4930123456';

/** A v1 invite whose offer carries its candidate and end-of-candidates: the edge dials at once. */
function invite(callId: string): JsonObject {
  const sdp = [
    'v=0',
    'o=- 1 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    'm=audio 50000 UDP/TLS/RTP/SAVPF 111',
    'c=IN IP4 127.0.0.1',
    'a=ice-ufrag:bUrSt',
    'a=ice-pwd:burstburstburstburstbu',
    'a=fingerprint:sha-256 4A:9C:1F:6E:22:8B:D0:3F:71:5A:C4:E9:0B:67:3D:A2:58:F1:0C:9E:B4:27:6D:83:1A:E5:F0:4C:92:3B:7E:D6',
    'a=setup:actpass',
    'a=mid:0',
    'a=sendrecv',
    'a=rtcp-mux',
    'a=rtpmap:111 opus/48000/2',
    'a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host',
    'a=end-of-candidates',
    '',
  ].join('\r\n');
  return { call_id: callId, party_id: 'ALICEDEVICE', version: '1', lifetime: 60_000, offer: { type: 'offer', sdp } };
}

let f: OutboundFixture;

beforeAll(async () => {
  f = await OutboundFixture.start({
    name: 'bot-burst-backfill',
    stack: { farEnd: { default: { kind: 'answer', ringMs: 20 } } },
    config: {
      policy: {
        allowed_users: ['@alice:localhost'],
        allow_destinations: ['^\\+49[1-9][0-9]{5,13}$'],
        max_concurrent_calls_per_user: CALLS + 5,
        rate_limit: { calls: 100, window_s: 60 },
      },
    },
  });
});
afterAll(async () => f?.stop());

describe('bot mode: a burst larger than a sync carries', () => {
  it(`${CALLS} invites behind a held /sync clamped to ${CLAMP} events: every call placed once`, async () => {
    const hs = f.mx.hs;
    const edge = f.mx.edgeUserId;
    expect(await f.say(`!dial ${NUMBER}`)).toMatch(/now go to/);
    hs.setTimelineLimitCap(CLAMP);
    const vertoBefore = f.fs.vertoRecord.length;
    const requestsBefore = hs.requests().length;

    hs.holdSync(edge);
    const callIds = Array.from({ length: CALLS }, (_, i) => `burst${i}x${Date.now()}`);
    for (const id of callIds) hs.sendEvent(f.mx.aliceId, f.roomId, 'm.call.invite', invite(id));
    // the edge's long-poll (or its next one) is parked with all 30 behind it
    await hs.waitForHeldSync(edge, 10_000);
    const released = Date.now();
    hs.releaseSync(edge);

    const invites = () => f.fs.vertoRecord.slice(vertoBefore).filter((r) => r.method === 'invite');
    const answered = () => new Set(hs.events({ roomId: f.roomId, sender: edge, type: 'm.call.answer' }).map((e) => content(e)['call_id'] as string));
    await pollUntil(() => callIds.every((id) => answered().has(id)), `m.call.answer for all ${CALLS} calls`, 20_000);
    const elapsed = Date.now() - released;

    // the sync that was let go was limited (10 events and a prev_batch), and the edge paged back from that token
    const after = hs.requests().slice(requestsBefore);
    const syncs = after.filter((q) => q.path.endsWith('/sync') && q.userId === edge);
    const gappy = syncs.find((q) => JSON.stringify(q.response).includes('"limited":true'));
    expect(gappy, 'a limited sync').toBeDefined();
    const timeline = (gappy?.response as { rooms: { join: Record<string, { timeline: { events: Json[]; prev_batch: string } }> } }).rooms.join[f.roomId]?.timeline;
    expect(timeline?.events.filter((e) => e['type'] === 'm.call.invite')).toHaveLength(CLAMP);
    const pages = after.filter((q) => q.method === 'GET' && q.path.endsWith('/messages') && q.userId === edge);
    expect(pages[0]?.query).toMatchObject({ dir: 'b', from: timeline?.prev_batch });

    // on the FreeSWITCH side: one verto.invite per Matrix call, none twice, all to the number
    const dialled = invites().map((r) => r.invite?.dialogVariables['mse_matrix_call_id']);
    expect([...dialled].sort()).toEqual([...callIds].sort());
    expect(new Set(invites().map((r) => r.callId)).size).toBe(CALLS);
    expect(invites().every((r) => r.invite?.dialogVariables['mse_destination'] === NUMBER)).toBe(true);
    // in the room: one answer per call (and no refusal)
    const answers = hs.events({ roomId: f.roomId, sender: edge, type: 'm.call.answer' }).map((e) => content(e)['call_id']);
    expect(answers.filter((id) => callIds.includes(id as string))).toHaveLength(CALLS);
    expect(hs.events({ roomId: f.roomId, sender: edge, type: 'm.call.reject' })).toEqual([]);
    // the first invites (from the gap) were dialled first
    expect(dialled.slice(0, CALLS - CLAMP)).toEqual(callIds.slice(0, CALLS - CLAMP));
    expect(await f.metrics()).toMatch(/^mse_matrix_sync_gaps_filled_total [1-9]/m);
    expect(await f.metrics()).toMatch(/^mse_matrix_sync_gaps_unfilled_total 0$/m);
    console.log(`bot-burst-backfill: ${CALLS} invites answered ${elapsed} ms after the held sync was released (${pages.length} /messages page(s))`);

    // hang every call up; nothing is left behind
    hs.setTimelineLimitCap(undefined);
    for (const id of callIds) hs.sendEvent(f.mx.aliceId, f.roomId, 'm.call.hangup', { call_id: id, party_id: 'ALICEDEVICE', version: '1', reason: 'user_hangup' });
    await f.expectNothingLeft();
    expect(f.fs.vertoRecord.slice(vertoBefore).filter((r) => r.method === 'invite')).toHaveLength(CALLS);
  }, 90_000);
});
