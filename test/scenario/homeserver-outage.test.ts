import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboundFixture, content } from '../support/outbound-fixture.ts';
import { httpGet } from '../support/net.ts';
import { pollUntil } from '../support/wait.ts';

// The homeserver goes away (every /sync and keep-alive fails) and comes
// back: the edge reports it (/readyz), recovers without a restart, and
// serves the next call.

let f: OutboundFixture;

beforeAll(async () => {
  f = await OutboundFixture.start({ name: 'hs-outage' });
});
afterAll(async () => f?.stop());

describe('homeserver outage', () => {
  it('is reported and recovered from without a restart', async () => {
    const readyz = `http://127.0.0.1:${f.httpPort}/readyz`;
    const down = { status: 502, body: { errcode: 'M_UNKNOWN', error: 'Bad gateway' }, times: Infinity };
    f.mx.hs.injectFault({ path: /\/sync|\/versions/, ...down });
    await pollUntil(async () => (await httpGet(readyz)).status === 503, '/readyz 503 while the homeserver is down', 40_000, 100);
    expect(JSON.parse((await httpGet(readyz)).text).peers.matrix).toBe('reconnecting');
    f.mx.hs.clearFaults();
    await pollUntil(async () => (await httpGet(readyz)).status === 200, '/readyz 200 after it returns', 40_000, 100);
    const caller = await f.call('+4930600001');
    await f.waitEvent(f.byEdge('m.call.answer', caller.options.callId));
    expect(f.events(f.byEdge('m.call.answer', caller.options.callId)).map((e) => content(e)['version'])).toEqual(['1']);
    caller.hangup();
    await f.expectNothingLeft();
    expect(f.edge.exitCode).toBeUndefined();
  }, 90_000);
});
