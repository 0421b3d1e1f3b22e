import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AdmissionFixture, ADMITTED_DID, FS_SIP, RECONNECT } from '../support/drachtio/admission-fixture.ts';
import { AttemptRecorder } from '../support/drachtio/attempt-recorder.ts';
import { content } from '../support/outbound-fixture.ts';
import type { TrunkCall } from '../support/drachtio/trunk.ts';
import { callIdOf, getHeader, isRequest, statusOf, type SipMessage } from '../support/drachtio/sip-message.ts';
import { httpGet } from '../support/net.ts';
import { pollUntil, waitUntil } from '../support/wait.ts';

// The built edge in admission mode (sip.admission: drachtio) against the
// drachtio-server simulator, with FreeSWITCH's SIP profile behind it modelled
// on the FreeSWITCH simulator (shipped public context, inbound and admission
// on). Each outcome is asserted on the wire: what the trunk got back, what
// reached FreeSWITCH, and for an admitted call the ringing Matrix room.

let a: AdmissionFixture;

beforeAll(async () => {
  a = await AdmissionFixture.start('sip-admission');
});
afterAll(async () => a?.stop());

afterEach(async () => {
  await a.f.expectNothingLeft();
});

async function finalOf(call: TrunkCall, timeoutMs = 8_000): Promise<SipMessage> {
  await waitUntil(call, () => call.final !== undefined, `final answer to ${call.callId}`, timeoutMs);
  return call.final as SipMessage;
}

/** Statuses drachtio-server sent for a call, from the simulator's record of the wire. */
const onWire = (callId: string): number[] =>
  a.sim.network.record.filter((e) => e.dir === 'out' && e.message !== undefined && callIdOf(e.message) === callId && !isRequest(e.message)).map((e) => statusOf(e.message as SipMessage));

const readyz = async () => JSON.parse((await httpGet(`http://127.0.0.1:${a.f.httpPort}/readyz`)).text || '{}') as { status?: string; peers?: Record<string, string> };
const counter = async (outcome: string, method = 'INVITE') => Number(new RegExp(`^mse_sip_admissions_total\\{method="${method}",outcome="${outcome}"\\} (\\d+)$`, 'm').exec(await a.f.metrics())?.[1] ?? 0);

/** An admitted call rings Alice's DM; the trunk then cancels it. */
async function ringThenCancel(call: TrunkCall): Promise<void> {
  // the route names Alice: the edge rings her in its DM with her
  const invite = await a.f.mx.hs.waitForEvent((e) => e['type'] === 'm.call.invite' && e['sender'] === a.f.mx.edgeUserId && !seen.has(e['event_id'] as string), 10_000);
  seen.add(invite['event_id'] as string);
  call.cancel();
  expect(statusOf(await finalOf(call))).toBe(487);
  const callId = content(invite)['call_id'];
  await a.f.mx.hs.waitForEvent((e) => e['type'] === 'm.call.hangup' && content(e)['call_id'] === callId, 10_000);
}
const seen = new Set<string>();

describe('SIP admission through drachtio-server', () => {
  it('is ready only with drachtio connected, and says so in /readyz', async () => {
    const r = await readyz();
    expect(r.status).toBe('ready');
    expect(r.peers?.['drachtio']).toBe('connected');
  });

  it('refuses a stranger (403), an unrouted DID (404), drops a scanner; nothing reaches FreeSWITCH', async () => {
    const stranger = a.trunk('203.0.113.66').invite({ did: ADMITTED_DID });
    expect(statusOf(await finalOf(stranger))).toBe(403);
    const carrier = a.trunk('198.51.100.10');
    const unrouted = carrier.invite({ did: '+493099999999' });
    expect(statusOf(await finalOf(unrouted))).toBe(404);
    const scannerBefore = await counter('scanner');
    const scanner = carrier.invite({ did: ADMITTED_DID, userAgent: 'friendly-scanner' });
    await pollUntil(async () => (await counter('scanner')) === scannerBefore + 1, 'the scanner counted');
    // drachtio-server's own 100 Trying, and nothing from the edge
    expect(onWire(scanner.callId)).toEqual([100]);
    expect(onWire(stranger.callId)).toEqual([100, 403]);
    expect(onWire(unrouted.callId)).toEqual([100, 404]);
    expect(a.freeswitch.invites).toHaveLength(0);
    expect(a.f.fs.model.channels()).toHaveLength(0);
    expect(await counter('forbidden_source')).toBe(1);
    expect(await counter('unknown_did')).toBe(1);
  });

  it('proxies an admitted call to FreeSWITCH\'s public context with the decision header; the mapped room rings', async () => {
    const before = a.freeswitch.invites.length;
    const call = a.trunk('198.51.100.11').invite({ did: ADMITTED_DID, callerNumber: '+4917012345678', callerName: 'Erika' });
    await waitUntil(a.freeswitch, () => a.freeswitch.invites.length > before, 'the INVITE at FreeSWITCH');
    const invite = a.freeswitch.invites[before] as SipMessage;
    expect(getHeader(invite, 'X-MSE-Route')).toBe('route-0');
    expect(getHeader(invite, 'record-route')).toBe('<sip:127.0.0.1:5070;lr>');
    expect(invite.startLine).toBe(`INVITE sip:${ADMITTED_DID}@127.0.0.1:5080 SIP/2.0`);
    // in FreeSWITCH: a channel in the public context that carries the header as sip_h_X-MSE-Route
    const uuid = a.freeswitch.channelOf(call.callId);
    expect(uuid).toBeDefined();
    const channel = a.f.fs.model.channel(uuid ?? '');
    expect(channel?.profile.context).toBe('matrix-sip-edge-public');
    expect(a.f.fs.model.getVariable(uuid ?? '', 'sip_h_X-MSE-Route')).toBe('route-0');
    await ringThenCancel(call);
    expect(await counter('accepted')).toBeGreaterThanOrEqual(1);
  });

  it('refuses (400) an INVITE from an allowed trunk carrying its own X-MSE-Route: the forged value never reaches FreeSWITCH', async () => {
    // drachtio-server cannot take the trunk's copy out on proxy (it appends the edge's after it, and
    // mod_sofia reads the first), so the edge refuses such an INVITE instead of proxying it
    const before = await counter('forged_header');
    const invitesBefore = a.freeswitch.invites.length;
    const call = a.trunk('198.51.100.17').invite({ did: ADMITTED_DID, extraHeaders: [{ name: 'X-MSE-Route', value: 'route-9' }] });
    // the final answer, or the INVITE at FreeSWITCH if it were proxied
    await waitUntil(a.sim, () => call.final !== undefined || a.freeswitch.invites.length > invitesBefore, 'the INVITE answered or proxied', 8_000);
    // the simulator's wire record: nothing of this call went to FreeSWITCH's SIP port, and nothing sent anywhere carries the header
    const sent = a.sim.network.record.filter((e) => e.dir === 'out' && e.message !== undefined && callIdOf(e.message) === call.callId);
    expect(sent.filter((e) => /^x-mse-route\s*:/im.test(e.raw)).map((e) => e.raw)).toEqual([]);
    expect(sent.filter((e) => e.peer.address === FS_SIP.address && e.peer.port === FS_SIP.port)).toEqual([]);
    expect(a.freeswitch.invites.length).toBe(invitesBefore);
    expect(statusOf(await finalOf(call))).toBe(400);
    expect(onWire(call.callId)).toEqual([100, 400]);
    expect(a.freeswitch.channelOf(call.callId)).toBeUndefined();
    expect(await counter('forged_header')).toBe(before + 1);
  });

  it('answers OPTIONS from a trunk with 200 and from a stranger with 403', async () => {
    const carrier = a.trunk('198.51.100.12');
    const stranger = a.trunk('192.0.2.99');
    carrier.options();
    stranger.options();
    await waitUntil(a.sim, () => carrier.optionsResponses.length === 1 && stranger.optionsResponses.length === 1, 'OPTIONS answered');
    expect(statusOf(carrier.optionsResponses[0] as SipMessage)).toBe(200);
    expect(statusOf(stranger.optionsResponses[0] as SipMessage)).toBe(403);
  });

  it('answers 486 when the trunk is at its concurrent-call limit, and admits again once the call ended', async () => {
    const first = a.trunk('198.51.100.13').invite({ did: ADMITTED_DID });
    await waitUntil(a.freeswitch, () => a.freeswitch.channelOf(first.callId) !== undefined, 'the first call at FreeSWITCH');
    const invitesBefore = a.freeswitch.invites.length;
    const second = a.trunk('198.51.100.14').invite({ did: ADMITTED_DID });
    expect(statusOf(await finalOf(second))).toBe(486);
    expect(onWire(second.callId)).toEqual([100, 486]);
    expect(a.freeswitch.invites.length).toBe(invitesBefore);
    await ringThenCancel(first);
    // the slot is free again (proxy failed with 487, FreeSWITCH reported the hangup over ESL)
    const third = a.trunk('198.51.100.15').invite({ did: ADMITTED_DID });
    await ringThenCancel(third);
  });

  it('answers 503 with Retry-After above the per-source rate; the INVITE never reaches FreeSWITCH and is counted as rate_limited', async () => {
    const bulk = a.trunk('198.51.100.200');
    const calls = [bulk.invite({ did: ADMITTED_DID }), bulk.invite({ did: ADMITTED_DID })];
    await waitUntil(a.freeswitch, () => calls.every((c) => a.freeswitch.channelOf(c.callId) !== undefined), 'two calls at FreeSWITCH');
    const invitesBefore = a.freeswitch.invites.length;
    const rateLimitedBefore = await counter('rate_limited');
    const trunkBusyBefore = await counter('trunk_busy');
    const acceptedBefore = await counter('accepted');
    const thirdCall = bulk.invite({ did: ADMITTED_DID });
    const third = await finalOf(thirdCall);
    expect(statusOf(third)).toBe(503);
    expect(Number(getHeader(third, 'retry-after'))).toBeGreaterThan(0);
    expect(onWire(thirdCall.callId)).toEqual([100, 503]);
    // FreeSWITCH's SIP endpoint received no INVITE for it, and nothing of the call was sent to its port
    expect(a.freeswitch.invites.length).toBe(invitesBefore);
    expect(a.freeswitch.invites.filter((m) => callIdOf(m) === thirdCall.callId)).toEqual([]);
    expect(a.freeswitch.channelOf(thirdCall.callId)).toBeUndefined();
    expect(a.sim.network.record.filter((e) => e.dir === 'out' && e.message !== undefined && callIdOf(e.message) === thirdCall.callId && e.peer.address === FS_SIP.address && e.peer.port === FS_SIP.port)).toEqual([]);
    // counted under its own outcome (the bulk trunk's busy_status is 503 too: not a trunk_busy, not accepted)
    const metrics = await a.f.metrics();
    expect(metrics).toMatch(new RegExp(`^mse_sip_admissions_total\\{method="INVITE",outcome="rate_limited"\\} ${rateLimitedBefore + 1}$`, 'm'));
    expect(await counter('trunk_busy')).toBe(trunkBusyBefore);
    expect(await counter('accepted')).toBe(acceptedBefore);
    for (const c of calls) c.cancel();
    for (const c of calls) expect(statusOf(await finalOf(c))).toBe(487);
  });

  it('reconnects with backoff when drachtio-server goes away and comes back; /readyz follows; calls are admitted again', async () => {
    const port = a.sim.port;
    await a.sim.close();
    // in drachtio-server's place on its admin port: a plain TCP server that records when the edge
    // connects and hangs up at once, so every attempt of the edge is seen on the wire
    const attempts = new AttemptRecorder();
    await attempts.listen(port);
    try {
      await pollUntil(async () => (await readyz()).peers?.['drachtio'] === 'reconnecting', '/readyz: drachtio reconnecting', 8_000);
      await waitUntil(attempts, () => attempts.times.length >= 7, 'seven connection attempts', 15_000);
      expect((await httpGet(`http://127.0.0.1:${a.f.httpPort}/readyz`)).status).toBe(503);
      const gaps = attempts.times.slice(1, 7).map((t, i) => Math.round(t - (attempts.times[i] as number)));
      const seen = `gaps between attempts: ${gaps.join(', ')} ms`;
      // The recorder listens before the edge's first retry (>= 80 ms after the drop), so the gap
      // after attempt k is the edge's (k+1)-th backoff delay: min(max, initial * 2^(k+1)), less up to
      // 20 % jitter; sipSection has initial 100, max 1000, so ~200, ~400, ~800, then ~1000.
      const { initial_delay_ms: initial, max_delay_ms: max } = RECONNECT;
      const slack = 400; // connect and scheduling time on a busy machine
      gaps.forEach((g, k) => {
        const base = Math.min(max, initial * 2 ** (k + 1));
        expect(g, `gap ${k}; ${seen}`).toBeGreaterThanOrEqual(base * 0.8 - 50);
        expect(g, `gap ${k}; ${seen}`).toBeLessThanOrEqual(base + slack);
      });
      // growing, then capped at the configured max (never above it, no longer doubling)
      expect(gaps[1] as number, seen).toBeGreaterThan(gaps[0] as number);
      expect(gaps[2] as number, seen).toBeGreaterThan(gaps[1] as number);
      for (const g of gaps.slice(3)) expect(g, seen).toBeLessThanOrEqual(max + slack);
    } finally {
      await attempts.close();
    }
    await a.sim.listen(port);
    await pollUntil(async () => (await readyz()).status === 'ready', '/readyz ready again', 10_000);
    expect((await readyz()).peers?.['drachtio']).toBe('connected');
    const call = a.trunk('198.51.100.16').invite({ did: ADMITTED_DID });
    await waitUntil(a.freeswitch, () => a.freeswitch.channelOf(call.callId) !== undefined, 'the call at FreeSWITCH');
    await ringThenCancel(call);
  });
});
