import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OutboundFixture, content } from '../support/outbound-fixture.ts';
import { pollUntil } from '../support/wait.ts';

// Everything refused before anything is dialled: policy (toll fraud), limits,
// malformed invites and room commands. Each refusal is checked on the wire:
// m.call.reject / m.call.hangup and a notice in the room, and NOTHING on the
// Verto or ESL side of the FreeSWITCH simulator.

let f: OutboundFixture;
/** Rings and never answers (the originate timeout is the simulator's default, 60 s). */
const RINGS_FOREVER = '+4930400099';

beforeAll(async () => {
  f = await OutboundFixture.start({
    name: 'refusals',
    stack: { farEnd: { default: { kind: 'answer', ringMs: 10 }, byDestination: { [RINGS_FOREVER]: { kind: 'no-answer' } } } },
    config: {
      policy: {
        allowed_users: ['@alice:localhost', '@carol:localhost'],
        allow_destinations: ['^\\+4930[0-9]{5,10}$', '^\\+49900[0-9]+$', '^\\+1[0-9]{10}$'],
        max_concurrent_calls_per_user: 2,
        rate_limit: { calls: 100, window_s: 60 },
      },
    },
  });
});

afterEach(async () => f.expectNothingLeft());
afterAll(async () => f?.stop());

async function expectRefused(callId: string, pattern: RegExp, since: number, roomId = f.roomId): Promise<void> {
  const reject = await f.waitEvent(f.byEdge('m.call.reject', callId), 8_000, roomId);
  expect(content(reject)).toMatchObject({ call_id: callId, version: '1' });
  await f.waitNotice(pattern, since, roomId);
}

describe('policy refusals: nothing reaches FreeSWITCH', () => {
  const rows: Array<[string, string, RegExp, string]> = [
    ['a destination outside the allow-list', '+4940123456', /not on this bridge's list of allowed destinations/, 'destination_not_allowed'],
    ['a premium-rate number', '+499001234567', /premium-rate/, 'premium_denied'],
    ['an international number', '+12125550123', /international/, 'international_denied'],
    ['something that is not a number', 'call mom', /is not a phone number/, 'invalid_destination'],
  ];
  it.each(rows)('%s: refused at !dial, and at call time when the room state links it', async (_name, number, pattern, metric) => {
    // !dial answers at once, and forgets the room's previous number.
    expect(await f.say(`!dial ${number}`)).toMatch(pattern);
    // The room's destination state event (org.matrix-sip-edge.destination) is checked at call time.
    const room = f.mx.hs.createRoom(f.mx.aliceId, { invite: [f.mx.edgeUserId] } as never);
    f.mx.hs.sendStateEvent(f.mx.aliceId, room, 'org.matrix-sip-edge.destination', '', { number });
    await f.waitEvent((e) => e['type'] === 'm.room.member' && e['state_key'] === f.mx.edgeUserId && content(e)['membership'] === 'join', 10_000, room);
    const since = f.notices(room).length;
    const mark = f.freeswitchMark();
    const caller = f.newCaller({ roomId: room });
    await caller.invite();
    await expectRefused(caller.options.callId, pattern, since, room);
    f.expectNothingReachedFreeSwitch(mark);
    expect(await f.metrics()).toMatch(new RegExp(`mse_calls_refused\\{reason="${metric}"\\} [1-9]`));
  });

  it('an unknown user (not allowed to call) in a room the edge serves', async () => {
    const bob = f.mx.hs.registerUser('bob', { password: 'bob-pw' });
    f.mx.hs.invite(f.mx.aliceId, f.roomId, bob.userId);
    f.mx.hs.join(bob.userId, f.roomId);
    await f.say('!dial +4930123456');
    expect(await f.say('!dial +4930123457', bob.userId)).toMatch(/is not allowed/);
    const since = f.notices().length;
    const mark = f.freeswitchMark();
    const caller = f.newCaller({ userId: bob.userId });
    await caller.invite();
    await expectRefused(caller.options.callId, /is not allowed to place phone calls/, since);
    f.expectNothingReachedFreeSwitch(mark);
  });

  it('the edge does not join a room when a user who may not call invites it', async () => {
    const mallory = f.mx.hs.registerUser('mallory', { password: 'mallory-pw' });
    const room = f.mx.hs.createRoom(mallory.userId, { is_direct: true, invite: [f.mx.edgeUserId] } as never);
    // A marker event after the invite: once the edge has synced past it, it has decided.
    await f.say('!help');
    expect(f.mx.hs.events({ roomId: room, sender: f.mx.edgeUserId })).toEqual([]);
  });

  it('a third concurrent call over the limit of two', async () => {
    const first = await f.call('+4930200001');
    await f.waitEvent(f.byEdge('m.call.answer', first.options.callId));
    const second = await f.call('+4930200002');
    // both bridged (the edge asserts who each is connected to then): nothing of theirs is still on its way to FreeSWITCH
    await f.waitEvent(f.byEdge('m.call.asserted_identity', first.options.callId));
    await f.waitEvent(f.byEdge('m.call.asserted_identity', second.options.callId));
    await f.say('!dial +4930200003');
    const since = f.notices().length;
    const mark = f.freeswitchMark();
    const third = f.newCaller();
    await third.invite();
    await expectRefused(third.options.callId, /already have 2 call\(s\) in progress/, since);
    f.expectNothingReachedFreeSwitch(mark);
    first.hangup();
    second.hangup();
  });

  it('a room without a number', async () => {
    const carol = f.mx.hs.registerUser('carol', { password: 'carol-pw' });
    const room = await f.dmWith(carol.userId);
    const since = f.notices(room).length;
    const mark = f.freeswitchMark();
    const caller = f.newCaller({ userId: carol.userId, roomId: room });
    await caller.invite();
    await expectRefused(caller.options.callId, /no phone number yet/, since, room);
    f.expectNothingReachedFreeSwitch(mark);
  });
});

describe('an invite addressed to another member of the room', () => {
  it('is neither dialled nor refused by the edge', async () => {
    await f.say('!dial +4930300003');
    const since = f.notices().length;
    const forBob = f.newCaller({ invitee: '@bob:localhost' });
    await forBob.invite();
    // The next invite in the room is served; the edge read the first one before it (one /sync stream, in order).
    const next = f.newCaller();
    await next.invite();
    await f.waitEvent(f.byEdge('m.call.answer', next.options.callId));
    expect(f.fs.vertoRecord.filter((r) => r.method === 'invite' && r.invite?.dialogVariables['mse_matrix_call_id'] === forBob.options.callId)).toEqual([]);
    expect(f.events((e) => e['sender'] === f.mx.edgeUserId && content(e)['call_id'] === forBob.options.callId)).toEqual([]);
    expect(f.notices().slice(since)).toEqual([]);
    next.hangup();
  });
});

describe('malformed invites are refused with a reason; the next call still works', () => {
  const base = (callId: string) => ({ call_id: callId, party_id: 'ALICEDEVICE', version: '1', lifetime: 60_000 });
  const AUDIOLESS = 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\na=ice-ufrag:x\r\na=ice-pwd:yyyyyyyyyyyyyyyyyyyyyy\r\na=fingerprint:sha-256 AA\r\n';
  // What the edge must send back for the call on the wire: m.call.reject (v1),
  // m.call.hangup (v0 has no reject), or nothing when the invite has no usable call_id.
  type Answer = 'reject' | 'hangup v0' | 'none';
  const rows: Array<[string, (id: string) => Record<string, unknown>, RegExp, Answer]> = [
    ['no SDP', (id) => ({ ...base(id) }), /malformed.*offer/, 'reject'],
    ['no SDP, version 0', (id) => ({ call_id: id, version: 0, lifetime: 60_000 }), /malformed.*offer/, 'hangup v0'],
    ['an SDP without audio', (id) => ({ ...base(id), offer: { type: 'offer', sdp: AUDIOLESS } }), /no audio/, 'reject'],
    // 60 kB, not 1 MB: a homeserver refuses any event over 65536 bytes (the
    // spec's size limit, M_TOO_LARGE), so a 1 MB SDP never reaches the edge
    // through Matrix. (The homeserver simulator does not enforce that limit;
    // this row stays realistic anyway.) The 1 MB SDP is refused by the edge's
    // validators in test/unit/sdp.test.ts ('client SDP checks', 'm.call.invite validation').
    ['a 60 kB SDP', (id) => ({ ...base(id), offer: { type: 'offer', sdp: `v=0\r\n${'a=x-padding:0123456789\r\n'.repeat(2_500)}` } }), /larger than/, 'reject'],
    ['an expired lifetime', (id) => ({ ...base(id), lifetime: 1 }), /expired/, 'reject'],
    ['a lifetime of the wrong type', (id) => ({ ...base(id), lifetime: 'soon', offer: { type: 'offer', sdp: 'v=0\r\n' } }), /malformed.*lifetime/, 'reject'],
    ['a call_id of the wrong type', (id) => ({ ...base(id), call_id: 42, offer: { type: 'offer', sdp: 'v=0\r\n' }, x: id }), /malformed.*call_id/, 'none'],
  ];
  it.each(rows)('%s', async (_name, build, pattern, answer) => {
    await f.say('!dial +4930300001');
    const since = f.notices().length;
    const mark = f.freeswitchMark();
    const edgeCallEvents = () => f.events((e) => e['sender'] === f.mx.edgeUserId && String(e['type']).startsWith('m.call.'));
    const callEventsBefore = edgeCallEvents().length;
    const callId = `bad${Date.now()}`;
    const caller = f.newCaller();
    // A valid werift offer where the row does not replace it, so only the named field is wrong.
    await caller.pc.setLocalDescription(await caller.pc.createOffer());
    const c = build(callId);
    if (c['offer'] === undefined && !/no SDP/.test(_name)) c['offer'] = { type: 'offer', sdp: caller.pc.localDescription!.sdp };
    if (/expired/.test(_name)) c['offer'] = { type: 'offer', sdp: caller.pc.localDescription!.sdp };
    f.mx.hs.sendEvent(f.mx.aliceId, f.roomId, 'm.call.invite', c as never);
    await f.waitNotice(pattern, since);
    if (answer === 'reject') {
      const reject = await f.waitEvent(f.byEdge('m.call.reject', callId));
      expect(content(reject)).toMatchObject({ call_id: callId, version: '1' });
      expect(typeof content(reject)['party_id']).toBe('string');
      expect(f.events(f.byEdge('m.call.hangup', callId))).toEqual([]);
    } else if (answer === 'hangup v0') {
      const hangup = await f.waitEvent(f.byEdge('m.call.hangup', callId));
      expect(content(hangup)).toMatchObject({ call_id: callId, version: 0 });
      expect(f.events(f.byEdge('m.call.reject', callId))).toEqual([]);
    }
    // Exactly one call event from the edge for this invite (none without a call_id to answer).
    expect(edgeCallEvents().slice(callEventsBefore)).toHaveLength(answer === 'none' ? 0 : 1);
    f.expectNothingReachedFreeSwitch(mark);
  });

  it('the next call after all that is served', async () => {
    const caller = await f.call('+4930300002');
    await f.waitEvent(f.byEdge('m.call.answer', caller.options.callId));
    // the frame record the refusals are checked against does see a call's frames
    expect(f.fs.vertoReceived.some((t) => (JSON.parse(t) as { method?: unknown }).method === 'verto.invite')).toBe(true);
    caller.hangup();
  });
});

describe('!dtmf is validated before anything reaches ESL', () => {
  const bad: Array<[string, RegExp]> = [
    ['!dtmf 1\napi shutdown', /one line/],
    ['!dtmf 12 34', /duration must be/],
    ['!dtmf x', /not a DTMF string/],
    [`!dtmf ${'1'.repeat(200)}`, /At most 32 digits/],
  ];
  it.each(bad)('%j', async (body, pattern) => {
    const caller = await f.call('+4930400001');
    // bridged (the edge asserts who the call is connected to then): no ESL traffic of the call is still on its way
    await f.waitEvent(f.byEdge('m.call.asserted_identity', caller.options.callId));
    const mark = f.tap.text().length;
    const reply = await f.say(body);
    expect(reply).toMatch(pattern);
    expect(f.tap.text().slice(mark)).toBe('');
    caller.hangup();
    await pollUntil(async () => (await f.liveCalls()) === 0, 'call ended');
  });

  it('with no call in the room, DTMF is refused', async () => {
    const mark = f.tap.text().length;
    const reply = await f.say('!dtmf 5');
    expect(reply).toMatch(/no call of yours/);
    expect(f.tap.text().slice(mark)).not.toContain('uuid_send_dtmf');
  });

  it('while the call is still ringing, DTMF waits for the answer; the caller hanging up first, it is refused, and nothing reached ESL (uuid_send_dtmf would pre-answer the trunk leg)', async () => {
    const before = f.fs.vertoRecord.length;
    const caller = await f.call(RINGS_FOREVER);
    await f.vertoInviteFor(RINGS_FOREVER, before);
    // The trunk leg exists and rings: the call is dialled, not answered.
    await pollUntil(() => f.fs.model.channels().some((c) => c.name.startsWith('sofia/') && c.answerState === 'ringing'), 'SIP leg ringing');
    await f.waitEvent(f.byEdge('m.call.answer', caller.options.callId)); // answered for ringback: to the caller the call is up
    const mark = f.tap.text().length;
    const noticesBefore = f.notices().length;
    f.mx.hs.sendEvent(f.mx.aliceId, f.roomId, 'm.room.message', { msgtype: 'm.text', body: '!dtmf 5' });
    // Once a later /sync answer carried a marker sent after it, the edge has taken the command (it waits, unanswered).
    const marker = f.mx.hs.sendEvent(f.mx.aliceId, f.roomId, 'org.example.test.marker', {});
    await f.mx.hs.waitForRequest((r) => r.userId === f.mx.edgeUserId && r.path.endsWith('/sync') && JSON.stringify(r.response).includes(marker), 8_000);
    expect(f.notices().slice(noticesBefore)).toEqual([]);
    caller.hangup();
    expect(await f.waitNotice(/Not sent: the call ended before the far end answered/, noticesBefore)).toMatch(/Not sent/);
    await pollUntil(() => f.fs.vertoRecord.slice(before).some((r) => r.method === 'bye'), 'verto.bye after the Matrix hangup');
    expect(f.tap.text().slice(mark)).not.toContain('uuid_send_dtmf');
    // The trunk leg never answered (it was cancelled ringing).
    expect(f.fs.model.channels().filter((c) => c.name.startsWith('sofia/') && c.answered)).toEqual([]);
  });
});
