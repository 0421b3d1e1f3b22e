import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OutboundFixture, content } from '../support/outbound-fixture.ts';
import { httpGet } from '../support/net.ts';
import { pollUntil } from '../support/wait.ts';
import { parsePrometheusText, sampleValue, type Family } from '../../bench/prom-text.ts';
import { SETUP_LATENCY_BUCKETS } from '../../src/http/setup-latency.ts';

// /metrics, /readyz and /healthz of the built edge, scraped over HTTP while
// it runs between the simulators. The Prometheus text is parsed; every
// assertion names a metric and its exact label set.

const ANSWERS = '+4930100001';
const BUSY = '+4930100486';
const PREMIUM = '+499001234567';
const HOPS = ['matrix_invite_to_verto_invite', 'verto_answer_to_matrix_answer'] as const;

let f: OutboundFixture;

beforeAll(async () => {
  f = await OutboundFixture.start({
    name: 'metrics',
    stack: { farEnd: { default: { kind: 'answer', ringMs: 20 }, byDestination: { [BUSY]: { kind: 'reject', sipStatus: 486 } } } },
    config: { calls: { gathering_window_ms: 10_000, hangup_cause_wait_ms: 1_000, ring_timeout_s: 60 } },
  });
});

afterEach(async () => f?.expectNothingLeft());
afterAll(async () => f?.stop());

async function scrape(): Promise<Map<string, Family>> {
  const res = await httpGet(`http://127.0.0.1:${f.httpPort}/metrics`);
  expect(res.status).toBe(200);
  return parsePrometheusText(res.text);
}

async function value(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  return sampleValue(await scrape(), name, labels);
}

async function waitValue(name: string, labels: Record<string, string>, expected: number): Promise<void> {
  await pollUntil(async () => (await value(name, labels)) === expected, `${name}${JSON.stringify(labels)} = ${expected}`, 8_000);
}

describe('/metrics after calls', () => {
  it('an answered call: live by direction, then ended by reason and cause; one set-up latency per hop', async () => {
    const before = await scrape();
    expect(before.get('mse_calls_live')?.type).toBe('gauge');
    expect(sampleValue(before, 'mse_calls_live', { direction: 'outbound' })).toBe(0);
    expect(sampleValue(before, 'mse_calls_live', { direction: 'inbound' })).toBe(0);
    for (const hop of HOPS) expect(sampleValue(before, 'mse_setup_latency_seconds_count', { hop, direction: 'outbound' })).toBeUndefined();

    const caller = await f.call(ANSWERS);
    await f.waitEvent(f.byEdge('m.call.answer', caller.options.callId));
    await waitValue('mse_calls_live', { direction: 'outbound' }, 1);

    const during = await scrape();
    const latency = during.get('mse_setup_latency_seconds');
    expect(latency?.type).toBe('histogram');
    for (const hop of HOPS) {
      const labels = { hop, direction: 'outbound' };
      expect(sampleValue(during, 'mse_setup_latency_seconds_count', labels), hop).toBe(1);
      const sum = sampleValue(during, 'mse_setup_latency_seconds_sum', labels) ?? -1;
      expect(sum, hop).toBeGreaterThanOrEqual(0);
      expect(sum, hop).toBeLessThan(1);
      // Cumulative buckets: the fine ones first, every one of them present, +Inf holds the one observation.
      const buckets = latency!.samples.filter((s) => s.name === 'mse_setup_latency_seconds_bucket' && s.labels['hop'] === hop);
      expect(buckets.map((s) => s.labels['le'])).toEqual([...SETUP_LATENCY_BUCKETS.map(String), '+Inf']);
      expect(buckets.map((s) => s.value)).toEqual([...buckets.map((s) => s.value)].sort((a, b) => a - b));
      expect(buckets.at(-1)?.value).toBe(1);
      expect(buckets.find((s) => s.value === 1 && Number(s.labels['le']) >= sum)).toBeDefined();
    }

    caller.hangup();
    await waitValue('mse_calls_ended', { reason: 'user_hangup', cause: 'NORMAL_CLEARING' }, 1);
    await waitValue('mse_calls_live', { direction: 'outbound' }, 0);
    await pollUntil(() => f.fs.model.channels().length === 0, 'no FreeSWITCH channel', 8_000);
  });

  it('a busy far end: counted under its own reason and the ESL cause', async () => {
    const caller = await f.call(BUSY);
    const hangup = await f.waitEvent(f.byEdge('m.call.hangup', caller.options.callId));
    expect(content(hangup)['reason']).toBe('user_busy');
    await waitValue('mse_calls_ended', { reason: 'user_busy', cause: 'USER_BUSY' }, 1);
    const after = await scrape();
    expect(sampleValue(after, 'mse_calls_ended', { reason: 'user_hangup', cause: 'NORMAL_CLEARING' })).toBe(1);
    // The invite crossed the edge; the far end never answered (the caller may have been answered for ringback before the 486).
    expect(sampleValue(after, 'mse_setup_latency_seconds_count', { hop: 'matrix_invite_to_verto_invite', direction: 'outbound' })).toBe(2);
    expect([1, 2]).toContain(sampleValue(after, 'mse_setup_latency_seconds_count', { hop: 'verto_answer_to_matrix_answer', direction: 'outbound' }));
    expect(sampleValue(after, 'mse_calls_live', { direction: 'outbound' })).toBe(0);
  });

  it('a refused call (premium-rate number): counted by refusal reason, not as a call', async () => {
    const room = f.mx.hs.createRoom(f.mx.aliceId, { invite: [f.mx.edgeUserId] } as never);
    f.mx.hs.sendStateEvent(f.mx.aliceId, room, 'org.matrix-sip-edge.destination', '', { number: PREMIUM });
    await f.waitEvent((e) => e['type'] === 'm.room.member' && e['state_key'] === f.mx.edgeUserId && content(e)['membership'] === 'join', 10_000, room);
    const before = await scrape();
    expect(sampleValue(before, 'mse_calls_refused', { reason: 'premium_denied' })).toBeUndefined();
    const vertoBefore = f.fs.vertoRecord.length;

    const caller = f.newCaller({ roomId: room });
    await caller.invite();
    await f.waitEvent(f.byEdge('m.call.reject', caller.options.callId), 8_000, room);
    await waitValue('mse_calls_refused', { reason: 'premium_denied' }, 1);

    const after = await scrape();
    expect(after.get('mse_calls_refused')?.samples.map((s) => s.labels)).toEqual([{ reason: 'premium_denied' }]);
    expect(sampleValue(after, 'mse_setup_latency_seconds_count', { hop: 'matrix_invite_to_verto_invite', direction: 'outbound' })).toBe(2);
    expect(sampleValue(after, 'mse_calls_ended', { reason: 'user_busy', cause: 'USER_BUSY' })).toBe(1);
    expect(after.get('mse_calls_ended')?.samples).toHaveLength(2);
    expect(f.fs.vertoRecord.slice(vertoBefore)).toEqual([]);
  });

  it('exposes the event-loop delay and process memory of the edge', async () => {
    const m = await scrape();
    for (const name of ['mse_process_nodejs_eventloop_lag_p99_seconds', 'mse_process_nodejs_eventloop_lag_max_seconds', 'mse_process_process_resident_memory_bytes']) {
      expect(m.get(name)?.type, name).toBe('gauge');
      expect(sampleValue(m, name), name).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('/readyz and /healthz', () => {
  it('turn not ready when ESL is lost and ready again after the edge reconnects', async () => {
    const readyz = `http://127.0.0.1:${f.httpPort}/readyz`;
    const healthz = `http://127.0.0.1:${f.httpPort}/healthz`;
    expect((await httpGet(readyz)).status).toBe(200);
    expect(await value('mse_connection_up', { peer: 'esl' })).toBe(1);
    const reconnects = (await value('mse_reconnects_total', { peer: 'esl' })) ?? 0;

    await f.fs.killEsl();
    await pollUntil(async () => (await httpGet(readyz)).status === 503, '/readyz 503 after ESL loss', 10_000);
    const down = await httpGet(readyz);
    expect(JSON.parse(down.text)).toMatchObject({ status: 'not ready', peers: { esl: expect.not.stringMatching(/^connected$/), verto: 'connected', matrix: 'connected' } });
    expect((await httpGet(healthz)).status).toBe(200);
    expect(await value('mse_connection_up', { peer: 'esl' })).toBe(0);
    expect(await value('mse_connection_up', { peer: 'verto' })).toBe(1);

    await f.fs.restartEsl();
    await pollUntil(async () => (await httpGet(readyz)).status === 200, '/readyz 200 after reconnect', 15_000);
    expect(JSON.parse((await httpGet(readyz)).text)).toMatchObject({ status: 'ready', peers: { esl: 'connected', verto: 'connected', matrix: 'connected' } });
    expect(await value('mse_connection_up', { peer: 'esl' })).toBe(1);
    expect(await value('mse_reconnects_total', { peer: 'esl' })).toBeGreaterThan(reconnects);
  });
});
