import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboundFixture, content } from '../support/outbound-fixture.ts';
import { httpGet } from '../support/net.ts';
import { pollUntil, waitUntil } from '../support/wait.ts';

// SIGTERM: the edge admits nothing from the first moment (/readyz 503, a
// new call refused), lets live calls run for calls.drain_s, then ends the
// rest on both sides (verto.bye to FreeSWITCH, m.call.hangup to Matrix) and
// exits 0. A second SIGTERM ends them at once.

let f: OutboundFixture;
const CALLS = { gathering_window_ms: 500, hangup_cause_wait_ms: 1000, ring_timeout_s: 60 };

beforeAll(async () => {
  f = await OutboundFixture.start({ name: 'graceful-stop', stack: { farEnd: { default: { kind: 'answer', ringMs: 10 } } }, config: { calls: { ...CALLS, drain_s: 2 } } });
});
afterAll(async () => f?.stop());

async function twoAnsweredCalls(first: string, second: string) {
  const callers = [];
  for (const number of [first, second]) {
    const caller = await f.call(number);
    await f.waitEvent(f.byEdge('m.call.answer', caller.options.callId));
    callers.push(caller);
  }
  await pollUntil(() => f.fs.model.channels().length === 4, 'both calls up in FreeSWITCH');
  return callers;
}

const readyz = async () => (await httpGet(`http://127.0.0.1:${f.httpPort}/readyz`)).status;

/**
 * /readyz turns 503 as soon as the edge has taken the signal (a request can
 * reach it in the same event-loop turn as the signal, before it is handled):
 * within 200 ms, while every call is still up.
 */
async function notReadyAtOnce(): Promise<void> {
  await pollUntil(async () => (await readyz()) === 503, '/readyz 503 after SIGTERM', 200, 5);
}

describe('graceful stop', () => {
  it('drains for drain_s, then ends both calls on both sides and exits 0; /readyz 503 from the first moment', async () => {
    const callers = await twoAnsweredCalls('+4930900001', '+4930900002');
    const byesBefore = f.fs.vertoRecord.filter((r) => r.method === 'bye').length;
    const signalledAt = Date.now();
    f.edge.child.kill('SIGTERM');
    await notReadyAtOnce();
    expect(f.fs.model.channels()).toHaveLength(4);
    expect(JSON.parse((await httpGet(`http://127.0.0.1:${f.httpPort}/readyz`)).text).peers.edge).toBe('draining');

    // a new call while draining is refused, and reaches nothing
    const late = f.newCaller();
    await late.invite();
    await f.waitEvent(f.byEdge('m.call.reject', late.options.callId));
    await f.waitNotice(/restarting/, 0);

    // the two live calls run on during the drain...
    expect(f.events((e) => e['type'] === 'm.call.hangup' && e['sender'] === f.mx.edgeUserId)).toEqual([]);
    // ...and are ended on both sides once it is over
    for (const caller of callers) {
      const hangup = await f.waitEvent(f.byEdge('m.call.hangup', caller.options.callId), 8_000);
      expect(content(hangup)).toMatchObject({ reason: 'unknown_error', version: '1' });
    }
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(2_000);
    expect(f.fs.vertoRecord.filter((r) => r.method === 'bye').slice(byesBefore).map((r) => r.cause)).toEqual(['SYSTEM_SHUTDOWN', 'SYSTEM_SHUTDOWN']);
    await pollUntil(() => f.fs.model.channels().length === 0, 'no FreeSWITCH channel');
    await waitUntil(f.edge, () => f.edge.exitCode !== undefined, 'edge exit', 10_000);
    expect(f.edge.exitCode).toBe(0);
    for (const c of f.callers.splice(0)) await c.close();
  });

  it('a second SIGTERM ends the calls at once', async () => {
    await f.restartEdgeAfterExit({ calls: { ...CALLS, drain_s: 600 } });
    const callers = await twoAnsweredCalls('+4930900003', '+4930900004');
    f.edge.child.kill('SIGTERM');
    await notReadyAtOnce();
    await f.edge.waitForLine((l) => l.msg?.startsWith('draining') === true, 'draining');
    const cutAt = Date.now();
    f.edge.child.kill('SIGTERM');
    for (const caller of callers) await f.waitEvent(f.byEdge('m.call.hangup', caller.options.callId), 3_000);
    expect(Date.now() - cutAt).toBeLessThan(3_000);
    await pollUntil(() => f.fs.model.channels().length === 0, 'no FreeSWITCH channel');
    await waitUntil(f.edge, () => f.edge.exitCode !== undefined, 'edge exit', 10_000);
    expect(f.edge.exitCode).toBe(0);
    await f.restartEdgeAfterExit({ calls: { ...CALLS, drain_s: 1 } });
  });
});
