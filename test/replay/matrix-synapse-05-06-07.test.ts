// Replays traces/real/synapse-05 (as_token as a client, masquerading), synapse-06 (429
// M_LIMIT_EXCEEDED) and synapse-07 (offline gap, /messages back-fill, initial sync, /state).
import { afterEach, expect, it } from 'vitest';
import { startHomeserverSimulator, type HomeserverSimulator, type HomeserverSimulatorOptions } from '../support/homeserver/index.ts';
import { captureRegistration, loadTrace } from '../support/homeserver/replay-traces.ts';
import { Replayer, type CapturedCall } from '../support/homeserver/replay-steps.ts';
import type { CompareOptions } from '../support/homeserver/replay-compare.ts';

type Calls = { calls: (CapturedCall & { label: string })[] };
const AS_TOKEN = 'as-token-replay';
/** /sync state sections and the GET /state array: "in no particular order". */
const STATE_EVENTS = /(\.state\.events|^\$)$/;
let hs: HomeserverSimulator | undefined;
afterEach(async () => hs?.stop());

async function start(opts: HomeserverSimulatorOptions): Promise<{ hs: HomeserverSimulator; r: Replayer }> {
  hs = await startHomeserverSimulator({
    users: [{ localpart: 'edge', password: 'edge-pass-1234' }, { localpart: 'alice', password: 'alice-pass-1234' }],
    appservices: [captureRegistration('http://127.0.0.1:9', AS_TOKEN, 'hs-token-replay')],
    ...opts,
  });
  const r = new Replayer(hs.url);
  r.tokens.set('as_token', AS_TOKEN);
  return { hs, r };
}

async function registerGhost(hs: HomeserverSimulator, localpart: string): Promise<void> {
  const res = await fetch(`${hs.url}/_matrix/client/v3/register`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${AS_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ type: 'm.login.application_service', username: localpart }),
  });
  expect(res.status).toBe(200);
}

async function replay(r: Replayer, calls: readonly (CapturedCall & { label: string })[], opts: (c: CapturedCall & { label: string }) => CompareOptions = () => ({})): Promise<string[]> {
  const diffs: string[] = [];
  for (const call of calls) diffs.push(...r.diff(call, await r.send(call), opts(call)));
  return diffs;
}

it('synapse-05: as_token as the sender bot and as a ghost', async () => {
  const { hs, r } = await start({ rateLimits: false });
  await registerGhost(hs, '_sip_+4930123456');
  hs.setDisplayname('@_sip_+4930123456:localhost', '+49 30 123456 (SIP)'); // set in synapse-02
  const trace = loadTrace<Calls>('real/synapse-05-appservice-token-as-client.json');
  // Initial-sync state comes "in no particular order" in Synapse.
  expect(await replay(r, trace.calls, () => ({ unordered: STATE_EVENTS }))).toEqual([]);
});

it('synapse-06: 429 M_LIMIT_EXCEEDED with retry_after_ms, ghosts of a rate_limited: false appservice exempt', async () => {
  // The captured server let two logins and createRoom + one send through; same buckets here.
  const { hs, r } = await start({ rateLimits: { login: { perSecond: 0.1, burst: 2 }, message: { perSecond: 0.2, burst: 3 } } });
  await registerGhost(hs, '_sip_+4930123456');
  const trace = loadTrace<Calls>('real/synapse-06-rate-limit-429.json');
  const diffs = await replay(r, trace.calls);
  expect(diffs).toEqual([]);
  const limited = hs.requests().filter((q) => q.status === 429);
  expect(limited).toHaveLength(7);
  for (const q of limited) {
    expect(q.headers['retry-after']).toBeUndefined();
    const ms = (q.response as { retry_after_ms: number }).retry_after_ms;
    expect(ms).toBeGreaterThan(1000);
  }
});

it('synapse-07: gappy incremental /sync hides the invite, /messages finds it, initial sync after restart', async () => {
  const { r } = await start({ rateLimits: false });
  const trace = loadTrace<Calls>('real/synapse-07-offline-gap-backfill-restart.json');
  // /state is "in no particular order"; everything else must match element by element.
  const diffs = await replay(r, trace.calls, () => ({ unordered: STATE_EVENTS }));
  expect(diffs).toEqual([]);
});
