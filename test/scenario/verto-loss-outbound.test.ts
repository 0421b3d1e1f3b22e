import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboundFixture, content } from '../support/outbound-fixture.ts';
import { WeriftCallee } from '../support/matrix-caller.ts';

const seenAgain = new Set<string>();
import { pollUntil } from '../support/wait.ts';

// The Verto socket drops during an answered outbound call. The edge asks
// for recoverCall false, so FreeSWITCH hangs the Verto leg up itself and the
// media is gone; the trunk leg the edge originated has park_after_bridge and
// waits, parked (traces/real/ctl-08). The lost Matrix call ends with a notice
// saying so, and the user is rung again in the same room as soon as Verto is
// back: answering bridges a new media leg to the same trunk leg; no answer
// within calls.recovery_ring_s ends it. A call still ringing when the socket
// drops just fails (FreeSWITCH drops its legs).

let f: OutboundFixture;
const RINGS = '+4930500009';

beforeAll(async () => {
  f = await OutboundFixture.start({
    name: 'verto-loss-outbound',
    stack: { farEnd: { byDestination: { [RINGS]: { kind: 'no-answer' } }, default: { kind: 'answer', ringMs: 10 } } },
    config: { calls: { gathering_window_ms: 500, hangup_cause_wait_ms: 1000, ring_timeout_s: 60, drain_s: 1, recovery_ring_s: 3 } },
  });
});
afterAll(async () => f?.stop());

describe('Verto connection lost during an answered outbound call', () => {
  it('the far end survives: its trunk leg waits parked, the user is rung again within 2 s of Verto being back, answering bridges a new media leg to the same trunk leg', async () => {
    const before = f.fs.vertoRecord.length;
    const caller = await f.call('+4930500001');
    const invite = await f.vertoInviteFor('+4930500001', before);
    const answer = await f.waitEvent(f.byEdge('m.call.answer', caller.options.callId));
    await caller.applyAnswer(content(answer));
    await f.waitEvent(f.byEdge('m.call.asserted_identity', caller.options.callId)); // bridged
    const trunkLeg = f.fs.model.channels().find((c) => c.uuid !== invite.callId)!.uuid;

    const noticesBefore = f.notices().length;
    await f.fs.killVerto();
    // The lost call ends in Matrix, as the party that answered, saying what happens next.
    const hangup = await f.waitEvent(f.byEdge('m.call.hangup', caller.options.callId), 2_000);
    expect(content(hangup)).toMatchObject({ party_id: content(answer)['party_id'], version: '1', reason: 'ice_failed' });
    await f.waitNotice(/was interrupted: answer to continue/, noticesBefore);
    expect(f.fs.model.channel(trunkLeg)?.hungUp).toBe(false);
    // the far end hears hold music while it waits
    await pollUntil(() => f.fs.model.channel(trunkLeg)?.hearsHoldMusic === 'local_stream://moh', 'hold music for the waiting far end', 2_000);
    expect(f.tap.text()).toContain(`api uuid_broadcast ${trunkLeg} local_stream://moh aleg\n\n`);

    await f.fs.restartVerto();
    await pollUntil(() => f.fs.verto.liveSessions().length === 1, 'a Verto session again', 15_000);
    const backAt = Date.now();
    const again = await f.waitEvent((e) => e['type'] === 'm.call.invite' && e['sender'] === f.mx.edgeUserId && content(e)['call_id'] !== caller.options.callId, 4_000);
    expect(Date.now() - backAt).toBeLessThan(2_000);
    seenAgain.add(again['event_id'] as string);
    expect(content(again)).toMatchObject({ version: '1', invitee: f.mx.aliceId });
    // All this while, the far end was never hung up.
    expect(f.fs.model.channel(trunkLeg)?.hungUp).toBe(false);

    const device = new WeriftCallee(f.mx.hs, f.mx.aliceId, f.roomId, 'ALICEAGAIN');
    try {
      await device.answer(again);
      await pollUntil(() => {
        const trunk = f.fs.model.channel(trunkLeg);
        return trunk !== undefined && trunk.bridgedTo !== undefined && trunk.bridgedTo !== invite.callId;
      }, 'the trunk leg bridged to the new media leg', 8_000);
      expect(f.fs.model.channel(trunkLeg)?.hungUp).toBe(false);
      expect(f.fs.model.channel(trunkLeg)?.hearsHoldMusic).toBeUndefined();
      // The user hangs up the continued call: the trunk leg goes too.
      f.mx.hs.sendEvent(f.mx.aliceId, f.roomId, 'm.call.hangup', { call_id: content(again)['call_id'], party_id: 'ALICEAGAIN', version: '1', reason: 'user_hangup' } as never);
      await pollUntil(() => f.fs.model.channel(trunkLeg) === undefined || f.fs.model.channel(trunkLeg)?.hungUp === true, 'the trunk leg ended with the call', 8_000);
    } finally {
      await device.close();
    }
    await caller.close();
    await f.expectNothingLeft();
  });

  it('not answered within calls.recovery_ring_s: the waiting trunk leg is ended', async () => {
    const before = f.fs.vertoRecord.length;
    const caller = await f.call('+4930500002');
    const invite = await f.vertoInviteFor('+4930500002', before);
    await caller.applyAnswer(content(await f.waitEvent(f.byEdge('m.call.answer', caller.options.callId))));
    await f.waitEvent(f.byEdge('m.call.asserted_identity', caller.options.callId));
    const trunkLeg = f.fs.model.channels().find((c) => c.uuid !== invite.callId)!.uuid;
    await f.fs.killVerto();
    await f.fs.restartVerto();
    const again = await f.waitEvent((e) => e['type'] === 'm.call.invite' && e['sender'] === f.mx.edgeUserId && content(e)['call_id'] !== caller.options.callId && !seenAgain.has(e['event_id'] as string), 8_000);
    seenAgain.add(again['event_id'] as string);
    // nobody answers (recovery_ring_s is 3 here): the edge ends the ring again and the trunk leg
    await f.waitEvent((e) => e['type'] === 'm.call.hangup' && e['sender'] === f.mx.edgeUserId && content(e)['call_id'] === content(again)['call_id'], 8_000);
    await pollUntil(() => f.fs.model.channel(trunkLeg) === undefined || f.fs.model.channel(trunkLeg)?.hungUp === true, 'the trunk leg ended', 8_000);
    await caller.close();
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
