// The edge's appservice API against what a real Synapse 1.67 sent it
// (traces/real/synapse-02, -03, -08): every request replayed as captured
// (legacy paths, access_token in the query, the captured bodies) to the
// edge's listener. Every event of every transaction must parse; a
// transaction retried with the same id is handled once; the protocol and
// user queries get answers Synapse accepts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { AppserviceApiServer } from '../../src/appservice/api-server.ts';
import type { PushedEvent } from '../../src/appservice/pushed-events.ts';
import { TransactionInbox } from '../../src/appservice/transaction-inbox.ts';
import { pstnProtocol } from '../../src/appservice/phone-directory.ts';
import { Secret } from '../../src/config/secret.ts';
import { createLogger } from '../../src/log/logger.ts';
import { SqliteStateStore } from '../../src/store/sqlite-store.ts';
import { tracesRoot } from '../support/traces.ts';

const HS_TOKEN = 'hs-token-replay-0000000000';

interface Push {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

function pushesOf(name: string): Push[] {
  const d = JSON.parse(readFileSync(join(tracesRoot, 'real', name), 'utf8')) as Record<string, unknown>;
  if (Array.isArray(d['transactions'])) {
    return (d['transactions'] as Record<string, unknown>[]).map((t) => ({ method: t['method'] as string, path: t['url'] as string, headers: t['headers'] as Record<string, string>, body: t['body'] }));
  }
  return (d['messages'] as Record<string, unknown>[])
    .filter((m) => m['dir'] === 'homeserver->appservice')
    .map((m) => ({
      method: m['method'] as string,
      path: m['path'] as string,
      headers: Object.fromEntries((m['request_headers_in_wire_order'] as [string, string][] | undefined) ?? Object.entries((m['request_headers'] as Record<string, string> | undefined) ?? {})),
      body: m['request_body'],
    }));
}

let server: AppserviceApiServer | undefined;
let store: SqliteStateStore | undefined;
afterEach(async () => {
  await server?.close();
  store?.close();
});

async function replay(names: readonly string[]) {
  store = SqliteStateStore.open(':memory:');
  const taken: PushedEvent[][] = [];
  const skipped: number[] = [];
  const inbox = new TransactionInbox(store, async (events) => void taken.push([...events]), createLogger('silent'));
  server = new AppserviceApiServer(
    new Secret(HS_TOKEN),
    {
      transaction: async (txnId, events, skip) => {
        skipped.push(skip);
        await inbox.handle(txnId, events);
      },
      userExists: async (userId) => userId.startsWith('@_sip_+'),
      protocol: (p) => (p === 'm.protocol.pstn' ? pstnProtocol() : undefined),
      thirdpartyUsers: async () => [],
      thirdpartyUserOf: () => [],
    },
    createLogger('silent'),
  );
  const port = await server.listen('127.0.0.1', 0);
  const replies: Array<{ path: string; status: number; body: unknown }> = [];
  for (const name of names) {
    for (const p of pushesOf(name)) {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(p.headers)) if (!['host', 'content-length', 'accept-encoding'].includes(k.toLowerCase())) headers[k] = v.replace('<hs_token>', HS_TOKEN);
      const res = await fetch(`http://127.0.0.1:${port}${p.path.replace('<hs_token>', HS_TOKEN)}`, { method: p.method, headers, ...(p.body === undefined ? {} : { body: JSON.stringify(p.body) }) });
      replies.push({ path: p.path.split('?')[0] ?? '', status: res.status, body: (await res.json()) as unknown });
    }
  }
  return { replies, taken, skipped, inbox };
}

it('synapse-02: seven transactions on the legacy path, each event parsed, each answered 200 {}; the protocol query answered with a list of instances', async () => {
  const { replies, taken, skipped } = await replay(['synapse-02-appservice-transactions-call.json']);
  const txns = replies.filter((r) => r.path.startsWith('/transactions/'));
  expect(txns.map((r) => r.path)).toEqual(['/transactions/1', '/transactions/2', '/transactions/3', '/transactions/4', '/transactions/5', '/transactions/6', '/transactions/7']);
  for (const r of txns) expect(r).toMatchObject({ status: 200, body: {} });
  expect(skipped.every((n) => n === 0)).toBe(true);
  const types = taken.flat().map((e) => e.type);
  expect(types).toContain('m.call.invite');
  expect(types).toContain('m.room.member');
  // every pushed event carries its age (legacy top-level or unsigned)
  for (const e of taken.flat()) expect(e.ageMs).toBeTypeOf('number');
  const protocol = replies.find((r) => r.path.includes('/thirdparty/protocol/'))!;
  expect(protocol.status).toBe(200);
  expect(Array.isArray((protocol.body as Record<string, unknown>)['instances'])).toBe(true);
});

it('synapse-03: the user query answered, the transaction Synapse retried after a failure handled once', async () => {
  const { replies, taken, inbox } = await replay(['synapse-03-appservice-user-query-and-retry.json']);
  expect(replies.find((r) => r.path.startsWith('/users/'))?.status).toBe(200);
  const eights = replies.filter((r) => r.path === '/transactions/8');
  expect(eights.length).toBeGreaterThan(1);
  for (const r of eights) expect(r.status).toBe(200);
  expect(taken).toHaveLength(1);
  expect(inbox.stats).toMatchObject({ handled: 1, duplicates: eights.length - 1 });
});

it('synapse-08: a backlog of 26 transactions in order, one of them batching 7 events, all handled in order', async () => {
  const { replies, taken, skipped } = await replay(['synapse-08-appservice-backlog-after-downtime.json']);
  expect(replies).toHaveLength(26);
  for (const r of replies) expect(r.status).toBe(200);
  expect(skipped.every((n) => n === 0)).toBe(true);
  expect(taken.map((t) => t.length)).toContain(7);
  const ids = replies.map((r) => Number(r.path.split('/')[2]));
  expect(ids).toEqual([...ids].sort((a, b) => a - b));
});
