import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OutboundFixture, content } from '../support/outbound-fixture.ts';
import { pollUntil } from '../support/wait.ts';

// calls.max_duration_s: an answered call that nobody ends (a Matrix client
// that vanished without m.call.hangup) is ended by the edge at the limit,
// on both sides, and the room is told why. Asserted on the wire.

const ANSWERS = '+4930100001';

let f: OutboundFixture;

beforeAll(async () => {
  f = await OutboundFixture.start({
    name: 'max-duration',
    stack: { farEnd: { default: { kind: 'answer', ringMs: 20 } } },
    config: { calls: { gathering_window_ms: 10_000, hangup_cause_wait_ms: 1_000, ring_timeout_s: 60, max_duration_s: 2 } },
  });
});

afterEach(async () => f.expectNothingLeft());
afterAll(async () => f?.stop());

describe('an answered outbound call at calls.max_duration_s', () => {
  it('is hung up toward FreeSWITCH (ALLOTTED_TIMEOUT) and in Matrix, with a notice', async () => {
    const caller = await f.call(ANSWERS);
    const answer = await f.waitEvent(f.byEdge('m.call.answer', caller.options.callId));
    await caller.applyAnswer(content(answer));
    const since = f.notices().length;
    // The caller is answered for ringback before the far end; the limit counts from the bridge of the two legs.
    await f.waitEvent(f.byEdge('m.call.asserted_identity', caller.options.callId)); // the edge saw the bridge
    const answeredAt = Date.now();

    // Nobody hangs up: the edge does, at the limit.
    const hangup = await f.waitEvent(f.byEdge('m.call.hangup', caller.options.callId), 8_000);
    expect(Date.now() - answeredAt).toBeGreaterThanOrEqual(1_400);
    expect(content(hangup)).toMatchObject({ call_id: caller.options.callId, version: '1', reason: 'user_hangup' });
    await f.waitNotice(/limit of 2 s per call/, since);
    const bye = f.fs.vertoRecord.find((r) => r.method === 'bye');
    expect(bye?.cause).toBe('ALLOTTED_TIMEOUT');
    await pollUntil(() => f.fs.model.channels().length === 0, 'both legs gone');
    expect(await f.metrics()).toMatch(/^mse_calls_ended\{reason="user_hangup",cause="ALLOTTED_TIMEOUT"\} 1$/m);
  });
});
