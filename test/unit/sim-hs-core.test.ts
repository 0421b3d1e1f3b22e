// Homeserver simulator behaviour not covered by the trace replays: long-poll timing,
// stop() with a pending long-poll, transaction-id scopes, faults, the request record.
import { afterEach, expect, it } from 'vitest';
import { startHomeserverSimulator, type HomeserverSimulator } from '../support/homeserver/index.ts';

let hs: HomeserverSimulator | undefined;
afterEach(async () => hs?.stop());

async function get(path: string, token: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${hs?.url ?? ''}${path}`, { headers: { Authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function put(path: string, token: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${hs?.url ?? ''}${path}`, { method: 'PUT', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

it('a long-poll /sync answers as soon as an event for the user arrives, and at the timeout otherwise', async () => {
  hs = await startHomeserverSimulator({ rateLimits: false });
  const edge = hs.registerUser('edge');
  hs.registerUser('alice');
  const room = hs.createRoom('@alice:localhost', { invite: ['@edge:localhost'] });
  hs.join('@edge:localhost', room);
  const first = await get('/_matrix/client/v3/sync?timeout=0', edge.accessToken);
  const since = String(first.body['next_batch']);
  const started = Date.now();
  const pending = get(`/_matrix/client/v3/sync?timeout=20000&since=${since}`, edge.accessToken);
  const id = hs.sendEvent('@alice:localhost', room, 'm.call.invite', { call_id: 'c', party_id: 'p', version: '1', lifetime: 60000, offer: { type: 'offer', sdp: 'v=0' } });
  const answer = await pending;
  expect(Date.now() - started).toBeLessThan(5000);
  const events = ((answer.body['rooms'] as { join: Record<string, { timeline: { events: { event_id: string }[] } }> }).join[room]?.timeline.events ?? []).map((e) => e.event_id);
  expect(events).toEqual([id]);

  const next = String(answer.body['next_batch']);
  const t0 = Date.now();
  const empty = await get(`/_matrix/client/v3/sync?timeout=200&since=${next}`, edge.accessToken);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
  expect(empty.body['next_batch']).toBe(next);
  expect(empty.body['rooms']).toBeUndefined();
});

it('stop() ends a pending long-poll and closes its socket', async () => {
  hs = await startHomeserverSimulator();
  const edge = hs.registerUser('edge');
  const first = await get('/_matrix/client/v3/sync?timeout=0', edge.accessToken);
  const pending = fetch(`${hs.url}/_matrix/client/v3/sync?timeout=60000&since=${String(first.body['next_batch'])}`, { headers: { Authorization: `Bearer ${edge.accessToken}` } }).then(
    (r) => r.status,
    () => 'closed',
  );
  const t0 = Date.now();
  await hs.stop();
  expect(['closed', 200]).toContain(await pending);
  expect(Date.now() - t0).toBeLessThan(2000);
  await expect(fetch(`${hs.url}/_matrix/client/versions`)).rejects.toThrow();
});

it('transaction ids are scoped per access token for users and per appservice for ghosts', async () => {
  hs = await startHomeserverSimulator({
    rateLimits: false,
    appservices: [{ id: 'as', url: null, as_token: 'AS', hs_token: 'HS', sender_localpart: 'bot', namespaces: { users: [{ regex: '@_sip_.*', exclusive: true }] } }],
  });
  const a1 = hs.registerUser('alice');
  const a2 = hs.login('@alice:localhost');
  const room = hs.createRoom('@alice:localhost', { preset: 'public_chat' });
  const path = `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.message/same`;
  const one = await put(path, a1.accessToken, { body: '1' });
  const again = await put(path, a1.accessToken, { body: '1' });
  const other = await put(path, a2.accessToken, { body: '1' });
  expect(again.body['event_id']).toBe(one.body['event_id']);
  expect(other.body['event_id']).not.toBe(one.body['event_id']);

  for (const lp of ['_sip_1', '_sip_2']) {
    const res = await fetch(`${hs.url}/_matrix/client/v3/register`, { method: 'POST', headers: { Authorization: 'Bearer AS' }, body: JSON.stringify({ type: 'm.login.application_service', username: lp }) });
    expect(res.status).toBe(200);
    hs.join(`@${lp}:localhost`, room);
  }
  const g1 = await put(`${path}x?user_id=${encodeURIComponent('@_sip_1:localhost')}`, 'AS', { body: 'g' });
  const g2 = await put(`${path}x?user_id=${encodeURIComponent('@_sip_2:localhost')}`, 'AS', { body: 'g' });
  // Synapse keys appservice txn ids by (path, appservice): the second ghost gets the first one's event.
  expect(g2.body['event_id']).toBe(g1.body['event_id']);
});

it('records every request and answers injected faults', async () => {
  hs = await startHomeserverSimulator({ rateLimits: false });
  const edge = hs.registerUser('edge');
  const room = hs.createRoom('@edge:localhost');
  hs.injectFault({ method: 'PUT', path: '/send/', status: 500, body: { errcode: 'M_UNKNOWN', error: 'Internal server error' } });
  const path = `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.call.hangup/t1`;
  const failed = await put(path, edge.accessToken, { call_id: 'c' });
  expect(failed.status).toBe(500);
  expect(hs.events({ type: 'm.call.hangup' })).toEqual([]);
  const ok = await put(path, edge.accessToken, { call_id: 'c' });
  expect(ok.status).toBe(200);
  const sends = hs.requests().filter((r) => r.method === 'PUT');
  expect(sends.map((r) => [r.status, r.userId, r.body])).toEqual([
    [500, '@edge:localhost', { call_id: 'c' }],
    [200, '@edge:localhost', { call_id: 'c' }],
  ]);
  const missing = await fetch(`${hs.url}/_matrix/client/v3/account/whoami`);
  expect(await missing.json()).toEqual({ errcode: 'M_MISSING_TOKEN', error: 'Missing access token' });
});

it('holdSync parks a user\'s /sync while events pile up (past its timeout); the capped timeline limit makes the answer limited', async () => {
  hs = await startHomeserverSimulator({ rateLimits: false, timelineLimitCap: 3 });
  const edge = hs.registerUser('edge');
  const bob = hs.registerUser('bob');
  hs.registerUser('alice');
  const room = hs.createRoom('@alice:localhost', { invite: ['@edge:localhost', '@bob:localhost'] });
  hs.join('@edge:localhost', room);
  hs.join('@bob:localhost', room);
  const since = String((await get('/_matrix/client/v3/sync?timeout=0', edge.accessToken)).body['next_batch']);
  const bobSince = String((await get('/_matrix/client/v3/sync?timeout=0', bob.accessToken)).body['next_batch']);
  hs.holdSync('@edge:localhost');
  let answered = false;
  const filter = encodeURIComponent(JSON.stringify({ room: { timeline: { limit: 500 } } }));
  const pending = get(`/_matrix/client/v3/sync?timeout=50&since=${since}&filter=${filter}`, edge.accessToken).then((r) => {
    answered = true;
    return r;
  });
  const ids = Array.from({ length: 5 }, (_, i) => hs!.sendEvent('@alice:localhost', room, 'm.room.message', { msgtype: 'm.text', body: `m${i}` }));
  expect(await hs.waitForHeldSync('@edge:localhost')).toBe(1);
  // another user is not held
  const forBob = await get(`/_matrix/client/v3/sync?timeout=0&since=${bobSince}`, bob.accessToken);
  expect(forBob.body['rooms']).toBeDefined();
  // longer than the long-poll's own timeout: still parked
  await hs.waitForEvent(() => false, 150).catch(() => undefined);
  expect(answered).toBe(false);
  hs.releaseSync('@edge:localhost');
  const answer = await pending;
  const timeline = (answer.body['rooms'] as { join: Record<string, { timeline: { events: { event_id: string }[]; limited: boolean; prev_batch: string } }> }).join[room]?.timeline;
  expect(timeline?.events.map((e) => e.event_id)).toEqual(ids.slice(-3));
  expect(timeline?.limited).toBe(true);
  // /messages from its prev_batch gives the two skipped ones, newest first
  const page = await get(`/_matrix/client/v3/rooms/${encodeURIComponent(room)}/messages?dir=b&limit=2&from=${timeline?.prev_batch ?? ''}`, edge.accessToken);
  expect((page.body['chunk'] as { event_id: string }[]).map((e) => e.event_id)).toEqual([ids[1], ids[0]]);
});
