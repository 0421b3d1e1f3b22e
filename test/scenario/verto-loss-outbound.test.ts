import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboundFixture, content } from '../support/outbound-fixture.ts';
import { pollUntil } from '../support/wait.ts';

// The Verto socket drops during an answered outbound call. The edge asks
// for recoverCall false, so FreeSWITCH hangs the Verto leg up itself
// (NORMAL_CLEARING, no verto_hangup_disposition; the trunk leg follows) and
// the media is gone. Whichever the edge learns first (its socket closed, or
// ESL's CHANNEL_HANGUP_COMPLETE), it ends the call at once: uuid_kill of the
// Verto leg over ESL when it noticed the socket first, m.call.hangup as the
// party that answered with ice_timeout, a notice, the outcome counted, all
// within 1 s of the drop.

let f: OutboundFixture;
const RINGS = '+4930500009';

beforeAll(async () => {
  f = await OutboundFixture.start({ name: 'verto-loss-outbound', stack: { farEnd: { byDestination: { [RINGS]: { kind: 'no-answer' } }, default: { kind: 'answer', ringMs: 10 } } } });
});
afterAll(async () => f?.stop());

describe('Verto connection lost during an answered outbound call', () => {
  it('hangs the Verto leg up over ESL and ends the call in Matrix at once', async () => {
    const before = f.fs.vertoRecord.length;
    const caller = await f.call('+4930500001');
    const invite = await f.vertoInviteFor('+4930500001', before);
    const answer = await f.waitEvent(f.byEdge('m.call.answer', caller.options.callId));
    // The edge knows the legs are bridged (it says who the call is connected to then).
    await f.waitEvent(f.byEdge('m.call.asserted_identity', caller.options.callId));
    const sipLeg = f.fs.model.channels().find((c) => c.uuid !== invite.callId)!.uuid;

    const noticesBefore = f.notices().length;
    const droppedAt = Date.now();
    await f.fs.killVerto();
    const left = () => Math.max(1, droppedAt + 1_000 - Date.now());
    const hangup = await f.waitEvent(f.byEdge('m.call.hangup', caller.options.callId), left());
    // the same party as the answer, or Element would ignore it
    expect(content(hangup)).toMatchObject({ party_id: content(answer)['party_id'], version: '1', reason: 'ice_timeout' });
    await f.waitNotice(/connection to the phone system was lost/, noticesBefore);
    await pollUntil(() => f.fs.model.channel(sipLeg) === undefined && f.fs.model.channel(invite.callId) === undefined, 'both legs gone', left(), 10);
    expect((await f.gauge('mse_calls_ended')).get('reason="ice_timeout",cause="NETWORK_OUT_OF_ORDER"')).toBe(1);

    await f.fs.restartVerto();
    await pollUntil(() => f.fs.verto.liveSessions().length === 1, 'a Verto session again', 15_000);
    await f.expectNothingLeft();
  });

  it('while the trunk rings: FreeSWITCH drops the unanswered legs, the edge ends the call in Matrix within 1 s', async () => {
    const before = f.fs.vertoRecord.length;
    const caller = await f.call(RINGS);
    const invite = await f.vertoInviteFor(RINGS, before);
    await pollUntil(() => f.fs.model.channels().length === 2, 'the trunk rings');
    const legs = f.fs.model.channels().map((c) => c.uuid);
    const noticesBefore = f.notices().length;
    const droppedAt = Date.now();
    await f.fs.killVerto();
    const left = () => Math.max(1, droppedAt + 1_000 - Date.now());
    const hangup = await f.waitEvent(f.byEdge('m.call.hangup', caller.options.callId), left());
    expect(content(hangup)).toMatchObject({ version: '1', reason: 'unknown_error' });
    await pollUntil(() => legs.every((l) => f.fs.model.channel(l) === undefined), 'both legs gone', left(), 10);
    expect(invite.callId).toBe(legs.find((l) => l === invite.callId));
    await f.waitNotice(/connection to the phone system was lost/, noticesBefore);
    await f.fs.restartVerto();
    await pollUntil(() => f.fs.verto.liveSessions().length === 1, 'a Verto session again', 15_000);
    await f.expectNothingLeft();
  });
});
