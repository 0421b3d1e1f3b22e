import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OutboundFixture, content } from '../support/outbound-fixture.ts';
import { pollUntil } from '../support/wait.ts';

// Policy rows that need their own config: a minimum power level in the room,
// a tight per-user rate limit, and a refused version 0 invite (v0 has no
// m.call.reject: the edge must answer with m.call.hangup). Each refusal is
// checked on the wire: the Matrix event, a notice, and nothing on the Verto
// or ESL side of the FreeSWITCH simulator.

let f: OutboundFixture;

const CAROL = '@carol:localhost';
const DAVE = '@dave:localhost';

beforeAll(async () => {
  f = await OutboundFixture.start({
    name: 'policy',
    stack: { farEnd: { default: { kind: 'answer', ringMs: 10 } } },
    config: {
      policy: {
        allowed_users: ['@alice:localhost', CAROL, DAVE],
        min_power_level: 50,
        allow_destinations: ['^\\+4930[0-9]{5,10}$'],
        max_concurrent_calls_per_user: 5,
        // Per user: two call attempts an hour.
        rate_limit: { calls: 2, window_s: 3_600 },
      },
    },
  });
  f.mx.hs.registerUser('carol', { password: 'carol-pw' });
  f.mx.hs.registerUser('dave', { password: 'dave-pw' });
});

afterEach(async () => f.expectNothingLeft());
afterAll(async () => f?.stop());

async function refusalsCounted(reason: string): Promise<number> {
  const m = new RegExp(`^mse_calls_refused\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(await f.metrics());
  return m === null ? 0 : Number(m[1]);
}

describe('policy.min_power_level', () => {
  it('a caller below the room\'s minimum power level is refused; a caller above it in the same room is dialled', async () => {
    // Carol's room: she has 100, Alice joins with users_default 0 (< 50).
    const room = f.mx.hs.createRoom(CAROL, { invite: [f.mx.edgeUserId, f.mx.aliceId] } as never);
    f.mx.hs.sendStateEvent(CAROL, room, 'org.matrix-sip-edge.destination', '', { number: '+4930123456' });
    f.mx.hs.join(f.mx.aliceId, room);
    await f.waitEvent((e) => e['type'] === 'm.room.member' && e['state_key'] === f.mx.edgeUserId && content(e)['membership'] === 'join', 10_000, room);

    // A room command from Alice is refused for the same reason.
    expect(await f.say('!dial +4930123457', f.mx.aliceId, room)).toMatch(/needs power level 50; you have 0/);

    const refusedBefore = await refusalsCounted('power_level_too_low');
    const since = f.notices(room).length;
    const mark = f.freeswitchMark();
    const alice = f.newCaller({ roomId: room });
    await alice.invite();
    const reject = await f.waitEvent(f.byEdge('m.call.reject', alice.options.callId), 8_000, room);
    expect(content(reject)).toMatchObject({ call_id: alice.options.callId, version: '1' });
    await f.waitNotice(/needs power level 50; you have 0/, since, room);
    f.expectNothingReachedFreeSwitch(mark);
    expect(await refusalsCounted('power_level_too_low')).toBe(refusedBefore + 1);

    // Control: the room and its number are fine, Carol (power level 100) is dialled.
    const before = f.fs.vertoRecord.length;
    const carol = f.newCaller({ userId: CAROL, roomId: room });
    await carol.invite();
    await f.vertoInviteFor('+4930123456', before);
    await f.waitEvent(f.byEdge('m.call.answer', carol.options.callId), 8_000, room);
    carol.hangup();
    await pollUntil(() => f.fs.vertoRecord.slice(before).some((r) => r.method === 'bye'), 'verto.bye after the Matrix hangup');
  });
});

describe('policy.rate_limit', () => {
  it('a third call attempt within the window is refused, though no call is in progress', async () => {
    const room = await f.dmWith(DAVE);
    for (const number of ['+4930200011', '+4930200012']) {
      const before = f.fs.vertoRecord.length;
      const caller = await f.call(number, { userId: DAVE, roomId: room });
      await f.vertoInviteFor(number, before);
      await f.waitEvent(f.byEdge('m.call.answer', caller.options.callId), 8_000, room);
      caller.hangup();
      await pollUntil(() => f.fs.vertoRecord.slice(before).some((r) => r.method === 'bye'), 'verto.bye after the Matrix hangup');
      await pollUntil(async () => (await f.liveCalls()) === 0, 'call ended');
    }
    await f.say('!dial +4930200013', DAVE, room);
    const refusedBefore = await refusalsCounted('rate_limit');
    const since = f.notices(room).length;
    const mark = f.freeswitchMark();
    const third = f.newCaller({ userId: DAVE, roomId: room });
    await third.invite();
    const reject = await f.waitEvent(f.byEdge('m.call.reject', third.options.callId), 8_000, room);
    expect(content(reject)).toMatchObject({ call_id: third.options.callId, version: '1' });
    await f.waitNotice(/Too many calls: at most 2 in 3600 s/, since, room);
    f.expectNothingReachedFreeSwitch(mark);
    expect(await refusalsCounted('rate_limit')).toBe(refusedBefore + 1);

    // The limit is per user: Alice, in her own room, is still dialled.
    const before = f.fs.vertoRecord.length;
    const alice = await f.call('+4930200014');
    await f.vertoInviteFor('+4930200014', before);
    await f.waitEvent(f.byEdge('m.call.answer', alice.options.callId));
    alice.hangup();
    await pollUntil(() => f.fs.vertoRecord.slice(before).some((r) => r.method === 'bye'), 'verto.bye after the Matrix hangup');
  });
});

describe('a refused version 0 invite', () => {
  it('is answered with m.call.hangup in version 0 (v0 has no m.call.reject), a notice, nothing to FreeSWITCH', async () => {
    // A room linked to a number outside the allow-list: refused by policy before anything is dialled.
    const room = f.mx.hs.createRoom(f.mx.aliceId, { invite: [f.mx.edgeUserId] } as never);
    f.mx.hs.sendStateEvent(f.mx.aliceId, room, 'org.matrix-sip-edge.destination', '', { number: '+4940123456' });
    await f.waitEvent((e) => e['type'] === 'm.room.member' && e['state_key'] === f.mx.edgeUserId && content(e)['membership'] === 'join', 10_000, room);
    const since = f.notices(room).length;
    const mark = f.freeswitchMark();
    const caller = f.newCaller({ roomId: room, version: 0 });
    await caller.invite();
    const hangup = await f.waitEvent(f.byEdge('m.call.hangup', caller.options.callId), 8_000, room);
    expect(content(hangup)).toMatchObject({ call_id: caller.options.callId, version: 0 });
    expect(content(hangup)['party_id']).toBeUndefined();
    await f.waitNotice(/not on this bridge's list of allowed destinations/, since, room);
    expect(f.events(f.byEdge('m.call.reject', caller.options.callId), room)).toEqual([]);
    f.expectNothingReachedFreeSwitch(mark);
  });
});
