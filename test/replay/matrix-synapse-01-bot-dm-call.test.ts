// Replays traces/real/synapse-01: two js-sdk clients (the bot @edge and @alice), startup
// requests, DM creation, invite_state, join, four call events delivered to the bot.
// The capture's long-polls overlapped; here every request runs in the order the captured
// answers completed, and each long-poll becomes an immediate /sync from the client's last
// next_batch. Synapse persisted createRoom's events one /sync at a time, the simulator in
// one go, so /sync answers are compared by shape and the events each client received,
// in order and de-duplicated by event_id, are compared one by one.
import { afterEach, expect, it } from 'vitest';
import { startHomeserverSimulator, type HomeserverSimulator } from '../support/homeserver/index.ts';
import { loadTrace } from '../support/homeserver/replay-traces.ts';
import { Replayer, type CapturedCall } from '../support/homeserver/replay-steps.ts';

type Exchange = CapturedCall & { who: string; t_response: number };
const trace = loadTrace<{ exchanges: Exchange[] }>('real/synapse-01-jssdk-bot-dm-call-events.json');
let hs: HomeserverSimulator | undefined;
afterEach(async () => hs?.stop());

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});

/** Timeline events and invites of a /sync answer, as comparable records. */
function received(body: unknown): Obj[] {
  const out: Obj[] = [];
  const rooms = obj(obj(body)['rooms']);
  for (const room of Object.values(obj(rooms['join']))) {
    for (const e of (obj(obj(room)['timeline'])['events'] as unknown[] | undefined) ?? []) out.push(obj(e));
  }
  for (const room of Object.values(obj(rooms['invite']))) {
    for (const e of (obj(obj(room)['invite_state'])['events'] as unknown[] | undefined) ?? []) if ('event_id' in obj(e)) out.push(obj(e));
  }
  return out;
}

const essence = (e: Obj): Obj => ({
  type: e['type'],
  sender: e['sender'],
  state_key: e['state_key'],
  content: e['content'],
  own_echo: 'transaction_id' in obj(e['unsigned']),
  has_age: typeof obj(e['unsigned'])['age'] === 'number',
});

function dedupe(events: Obj[]): Obj[] {
  const seen = new Set<unknown>();
  return events.filter((e) => (seen.has(e['event_id']) ? false : (seen.add(e['event_id']), true)));
}

it('serves the bot-mode DM call of synapse-01 like Synapse 1.67', async () => {
  hs = await startHomeserverSimulator({
    users: [{ localpart: 'edge', password: 'edge-pass-1234' }, { localpart: 'alice', password: 'alice-pass-1234' }],
    rateLimits: false,
  });
  const r = new Replayer(hs.url);
  const since = new Map<string, string>();
  const got = new Map<string, Obj[]>([['edge', []], ['alice', []]]);
  const want = new Map<string, Obj[]>([['edge', []], ['alice', []]]);
  const diffs: string[] = [];
  const ignoreVolatile = new Set(['presence', 'device_lists', 'account_data', 'rooms']);
  for (const call of [...trace.exchanges].sort((a, b) => a.t_response - b.t_response)) {
    const isSync = call.path === '/_matrix/client/v3/sync';
    const longPoll = isSync && call.query?.['since'] !== undefined;
    const prior = since.get(call.who);
    const override = longPoll && prior !== undefined ? { since: prior, timeout: '0' } : undefined;
    const answer = await r.send(call, override, !isSync);
    if (isSync) {
      diffs.push(...r.diff(call, answer, { ignoreKeys: ignoreVolatile }));
      const next = obj(answer.body)['next_batch'];
      if (typeof next === 'string') since.set(call.who, next);
      got.get(call.who)?.push(...received(answer.body));
      want.get(call.who)?.push(...received(call.response_body));
      // Per-room shape wherever both answers carry rooms.
      const mine = obj(obj(answer.body)['rooms']);
      const theirs = obj(obj(r.ids.applyJson(call.response_body))['rooms']);
      for (const section of ['join', 'invite']) {
        const a = Object.values(obj(mine[section]))[0];
        const e = Object.values(obj(theirs[section]))[0];
        if (a !== undefined && e !== undefined) {
          diffs.push(...r.diff({ ...call, status: answer.status, response_body: e }, { status: answer.status, body: a }, { ignoreKeys: new Set(['events', 'notification_count', 'limited']) }));
        }
      }
    } else {
      diffs.push(...r.diff(call, answer, call.path.endsWith('/pushrules/') ? { arrays: 'loose', exactKeys: new Set(['kind', 'rule_id']) } : {}));
    }
  }
  expect(diffs).toEqual([]);
  for (const who of ['edge', 'alice']) {
    const mine = dedupe(got.get(who) ?? []).map(essence);
    const theirs = dedupe(want.get(who) ?? []).map((e) => essence(obj(r.ids.applyJson(e))));
    expect(mine, `events received by ${who}`).toEqual(theirs);
  }
  const edgeCalls = (got.get('edge') ?? []).filter((e) => String(e['type']).startsWith('m.call.')).map((e) => e['type']);
  expect(edgeCalls).toEqual(['m.call.invite', 'm.call.candidates', 'm.call.candidates', 'm.call.hangup']);
});
