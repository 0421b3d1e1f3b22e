import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboundFixture, content } from '../support/outbound-fixture.ts';
import type { RequestRecord } from '../support/homeserver/index.ts';
import { pollUntil } from '../support/wait.ts';

// Nothing lost toward Matrix: the homeserver is down when a call ends, the
// edge is killed and restarted while it is still down, then the homeserver
// comes back. The hangup the edge owed was kept in its store with its
// transaction id: exactly one m.call.hangup reaches the room, and every
// attempt of it, by both processes, used the same transaction id.

let f: OutboundFixture;

beforeAll(async () => {
  f = await OutboundFixture.start({ name: 'hs-down-restart', stack: { farEnd: { default: { kind: 'answer', ringMs: 10 } } } });
});
afterAll(async () => f?.stop());

const hangupPut = (callId: string) => (r: RequestRecord): boolean =>
  r.method === 'PUT' && r.path.includes('/send/m.call.hangup/') && (r.body as { call_id?: unknown } | undefined)?.call_id === callId;

describe('homeserver down while a call ends, edge restarted meanwhile', () => {
  it('delivers the hangup exactly once, with the transaction id it was first tried with', async () => {
    const before = f.fs.vertoRecord.length;
    const caller = await f.call('+4930800001');
    const invite = await f.vertoInviteFor('+4930800001', before);
    const answer = await f.waitEvent(f.byEdge('m.call.answer', caller.options.callId));
    await pollUntil(() => f.fs.model.channels().length === 2, 'both legs up');
    const sipLeg = f.fs.model.channels().find((c) => c.uuid !== invite.callId)!;
    // FreeSWITCH's verto.display comes after the answer; its m.call.asserted_identity goes first (sends of a call keep their order)
    await f.waitEvent(f.byEdge('m.call.asserted_identity', caller.options.callId));

    f.mx.hs.injectFault({ path: /./, status: 502, body: { errcode: 'M_UNKNOWN', error: 'Bad gateway' }, times: Infinity });
    const mark = f.mx.hs.requests().length;
    f.fs.model.endAnsweredLeg(sipLeg, 'NORMAL_CLEARING');
    const first = await f.mx.hs.waitForRequest(hangupPut(caller.options.callId), 8_000);
    expect(first.status).toBe(502);
    const txnId = first.path.split('/').pop();
    expect(txnId).toMatch(/^mse\./);
    await pollUntil(() => f.fs.model.channels().length === 0, 'both legs gone in FreeSWITCH');

    await f.crashAndRestartEdge({ waitReady: false });
    // the new process retries the kept send while the homeserver is still down
    const attemptsBefore = f.mx.hs.requests().filter(hangupPut(caller.options.callId)).length;
    await pollUntil(() => f.mx.hs.requests().filter(hangupPut(caller.options.callId)).length > attemptsBefore, 'the restarted edge retries the hangup', 10_000);
    expect(f.events(f.byEdge('m.call.hangup', caller.options.callId))).toEqual([]);

    f.mx.hs.clearFaults();
    const hangup = await f.waitEvent(f.byEdge('m.call.hangup', caller.options.callId), 15_000);
    expect(content(hangup)).toMatchObject({ call_id: caller.options.callId, party_id: content(answer)['party_id'], version: '1', reason: 'user_hangup' });
    await pollUntil(async () => (await fetch(`http://127.0.0.1:${f.httpPort}/readyz`)).status === 200, 'edge ready', 40_000, 100);

    // caught up: two marker events seen by the edge's /sync, then nothing more may come
    for (const n of [1, 2]) {
      const id = f.mx.hs.sendEvent(f.mx.aliceId, f.roomId, 'org.example.test.marker', { n });
      await f.mx.hs.waitForRequest((r) => r.userId === f.mx.edgeUserId && r.path.endsWith('/sync') && JSON.stringify(r.response).includes(id), 10_000);
    }
    expect(f.events(f.byEdge('m.call.hangup', caller.options.callId))).toHaveLength(1);
    const attempts = f.mx.hs.requests().slice(mark).filter(hangupPut(caller.options.callId));
    expect(attempts.length).toBeGreaterThanOrEqual(3);
    expect(new Set(attempts.map((r) => r.path.split('/').pop()))).toEqual(new Set([txnId]));
    expect(attempts.filter((r) => r.status === 200)).toHaveLength(1);
    await f.expectNothingLeft();
  }, 90_000);
});
