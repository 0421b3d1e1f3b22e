import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboundFixture, content } from '../support/outbound-fixture.ts';
import { pollUntil, waitUntil } from '../support/wait.ts';

// The Verto socket drops during an answered outbound call. The edge asks
// for recoverCall false (real FreeSWITCH then hangs the leg up itself; the
// simulator detaches it like any answered leg): either way the media is
// gone. The edge does not wait for FreeSWITCH or a re-attach: uuid_kill of
// the Verto leg over ESL, m.call.hangup as the party that answered, a
// notice, the outcome counted.

let f: OutboundFixture;

beforeAll(async () => {
  f = await OutboundFixture.start({ name: 'verto-loss-outbound', stack: { farEnd: { default: { kind: 'answer', ringMs: 10 } } } });
});
afterAll(async () => f?.stop());

describe('Verto connection lost during an answered outbound call', () => {
  it('hangs the Verto leg up over ESL and ends the call in Matrix at once', async () => {
    const before = f.fs.vertoRecord.length;
    const caller = await f.call('+4930500001');
    const invite = await f.vertoInviteFor('+4930500001', before);
    const answer = await f.waitEvent(f.byEdge('m.call.answer', caller.options.callId));
    await pollUntil(() => f.fs.model.channels().length === 2, 'both legs up');
    const sipLeg = f.fs.model.channels().find((c) => c.uuid !== invite.callId)!.uuid;

    const eslMark = f.tap.text().length;
    const noticesBefore = f.notices().length;
    await f.fs.killVerto();
    await waitUntil(f.tap, () => f.tap.text().slice(eslMark).includes(`api uuid_kill ${invite.callId} NETWORK_OUT_OF_ORDER\n\n`), 'uuid_kill of the Verto leg', 5_000);
    const hangup = await f.waitEvent(f.byEdge('m.call.hangup', caller.options.callId));
    // the same party as the answer, or Element would ignore it
    expect(content(hangup)).toMatchObject({ party_id: content(answer)['party_id'], version: '1', reason: 'ice_timeout' });
    await f.waitNotice(/connection to the phone system was lost/, noticesBefore);
    await pollUntil(() => f.fs.model.channel(sipLeg) === undefined && f.fs.model.channel(invite.callId) === undefined, 'both legs gone', 5_000);
    expect((await f.gauge('mse_calls_ended')).get('reason="ice_timeout",cause="NETWORK_OUT_OF_ORDER"')).toBe(1);

    await f.fs.restartVerto();
    await pollUntil(() => f.fs.verto.liveSessions().length === 1, 'a Verto session again', 15_000);
    await f.expectNothingLeft();
  });
});
