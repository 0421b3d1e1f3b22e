import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboundFixture, content } from '../support/outbound-fixture.ts';
import { pollUntil, waitUntil } from '../support/wait.ts';

// Nothing is lost silently: an edge that crashes mid-call leaves an
// answered Verto leg detached in FreeSWITCH. The next edge reconciles over
// ESL at start: it hangs that channel up (on the wire) and ends the call
// in its Matrix room.

let f: OutboundFixture;

beforeAll(async () => {
  f = await OutboundFixture.start({ name: 'reconcile', stack: { farEnd: { default: { kind: 'answer', ringMs: 10 } } } });
});
afterAll(async () => f?.stop());

describe('restart after a crash', () => {
  it('hangs up the orphaned channel and ends the call in Matrix', async () => {
    const before = f.fs.vertoRecord.length;
    const caller = await f.call('+4930500001');
    const invite = await f.vertoInviteFor('+4930500001', before);
    const answer = await f.waitEvent(f.byEdge('m.call.answer', caller.options.callId));
    await pollUntil(() => f.fs.model.channels().length === 2, 'both legs up');

    const eslMark = f.tap.sent.length;
    await f.crashAndRestartEdge();

    // The answered Verto leg survived the socket loss (detached), until the new edge killed it.
    await waitUntil(f.tap, () => f.tap.sent.slice(eslMark).join('').includes(`uuid_kill ${invite.callId}`), 'uuid_kill of the orphan', 10_000);
    await pollUntil(() => f.fs.model.channels().length === 0, 'no channel left', 5_000);
    const hangup = await f.waitEvent((e) => e['type'] === 'm.call.hangup' && e['sender'] === f.mx.edgeUserId && content(e)['call_id'] === caller.options.callId);
    // The same party as the answer, or Element would ignore it.
    expect(content(hangup)['party_id']).toBe(content(answer)['party_id']);
    await f.waitNotice(/bridge restarted/, 0);
    await f.expectNothingLeft();
  });
});
