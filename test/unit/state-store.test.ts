import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SqliteStateStore, STATE_FILE, StoreError } from '../../src/store/sqlite-store.ts';
import { SCHEMA_VERSION } from '../../src/store/migrations.ts';
import type { CallRecord } from '../../src/store/state-store.ts';

const open: SqliteStateStore[] = [];
const tempDir = () => mkdtempSync(join(tmpdir(), 'mse-store-test-'));
function openStore(dir: string): SqliteStateStore {
  const s = SqliteStateStore.open(dir);
  open.push(s);
  return s;
}
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

const call = (id: string, extra: Partial<CallRecord> = {}): CallRecord => ({
  matrixCallId: id,
  direction: 'outbound',
  roomId: '!room:hs',
  partyId: 'edgeparty',
  peerPartyId: 'ALICEDEV',
  version: '1',
  vertoLeg: '11111111-2222-3333-4444-555555555555',
  farLeg: undefined,
  state: 'gathering',
  answered: false,
  createdAt: 1_700_000_000_000,
  ...extra,
});

describe('state store', () => {
  it('keeps the Verto session id across reopening', () => {
    const dir = tempDir();
    const first = openStore(dir).vertoSessionId();
    open.pop()?.close();
    expect(openStore(dir).vertoSessionId()).toBe(first);
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('keeps live calls with every field, updates and deletes them', () => {
    const dir = tempDir();
    const s = openStore(dir);
    s.putCall(call('c1'));
    s.putCall(call('c2', { direction: 'inbound', version: '1', peerPartyId: undefined, createdAt: 1_700_000_000_001 }));
    s.updateCall('c1', { state: 'answered', answered: true, farLeg: 'aaaaaaaa-2222-3333-4444-555555555555' });
    s.updateCall('missing', { state: 'answered' });
    open.pop()?.close();
    const again = openStore(dir);
    expect(again.calls()).toEqual([
      call('c1', { state: 'answered', answered: true, farLeg: 'aaaaaaaa-2222-3333-4444-555555555555' }),
      call('c2', { direction: 'inbound', peerPartyId: undefined, createdAt: 1_700_000_000_001 }),
    ]);
    again.deleteCall('c1');
    expect(again.calls().map((c) => c.matrixCallId)).toEqual(['c2']);
  });

  it('remembers handled appservice transactions; forgets those older than keepMs, pruning at most once a minute', () => {
    vi.useFakeTimers({ now: 1_700_000_000_000, toFake: ['Date'] });
    try {
      const s = openStore(tempDir());
      s.markTransactionHandled('t1', 1_000);
      vi.setSystemTime(1_700_000_002_000);
      // t1 is older than keepMs, but the last prune was under a minute ago
      s.markTransactionHandled('t2', 1_000);
      expect(s.transactionHandled('t1')).toBe(true);
      vi.setSystemTime(1_700_000_061_000);
      s.markTransactionHandled('t3', 1_000);
      expect(['t1', 't2', 't3'].map((id) => s.transactionHandled(id))).toEqual([false, false, true]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps sends in order with their transaction ids until deleted', () => {
    const s = openStore(tempDir());
    const a = s.enqueueSend({ txnId: 't1', key: 'c1', roomId: '!r:hs', type: 'm.call.answer', content: { call_id: 'c1' } });
    const b = s.enqueueSend({ txnId: 't2', key: 'c1', roomId: '!r:hs', type: 'm.call.hangup', content: { call_id: 'c1', reason: 'user_hangup' } });
    expect(b.seq).toBeGreaterThan(a.seq);
    expect(s.pendingSends().map((p) => [p.txnId, p.type, p.content])).toEqual([
      ['t1', 'm.call.answer', { call_id: 'c1' }],
      ['t2', 'm.call.hangup', { call_id: 'c1', reason: 'user_hangup' }],
    ]);
    s.deleteSend('t1');
    expect(s.pendingSends().map((p) => p.txnId)).toEqual(['t2']);
    expect(() => s.enqueueSend({ txnId: 't2', key: 'c1', roomId: '!r:hs', type: 'x', content: {} })).toThrow();
  });

  it('rolls back a transaction that throws', () => {
    const s = openStore(tempDir());
    s.putCall(call('c1'));
    expect(() =>
      s.atomically(() => {
        s.deleteCall('c1');
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(s.calls()).toHaveLength(1);
  });

  it('is at the current schema version, and refuses a file from a newer edge with a clear error', () => {
    const dir = tempDir();
    openStore(dir);
    open.pop()?.close();
    const db = new DatabaseSync(join(dir, STATE_FILE));
    expect((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version).toBe(SCHEMA_VERSION);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => SqliteStateStore.open(dir)).toThrow(StoreError);
    expect(() => SqliteStateStore.open(dir)).toThrow(/newer than this edge/);
  });

  it('skips a row that does not fit its type rather than trusting it', () => {
    const dir = tempDir();
    const s = openStore(dir);
    s.putCall(call('good'));
    s.enqueueSend({ txnId: 't1', key: 'good', roomId: '!r:hs', type: 'm.call.hangup', content: {} });
    open.pop()?.close();
    const db = new DatabaseSync(join(dir, STATE_FILE));
    db.exec("INSERT INTO outbox (txn_id, key, room_id, type, content, created_at) VALUES ('t2', 'k', '!r:hs', 'm.call.hangup', 'not json', 1)");
    db.close();
    const again = openStore(dir);
    expect(again.pendingSends().map((p) => p.txnId)).toEqual(['t1']);
    expect(again.calls().map((c) => c.matrixCallId)).toEqual(['good']);
  });

  it('refuses a second edge on the same directory while the first holds it', () => {
    const dir = tempDir();
    const first = openStore(dir);
    first.putCall(call('c1'));
    expect(() => SqliteStateStore.open(dir)).toThrow(/in use by another edge/);
    first.close();
    expect(openStore(dir).calls().map((c) => c.matrixCallId)).toEqual(['c1']);
  });

  it('names the directory when it cannot be opened', () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, '');
    expect(() => SqliteStateStore.open(join(file, 'state'))).toThrow(/cannot open the state store in .*a-file\/state: .*ENOTDIR/);
  });

  it('stays readable and consistent after kill -9 between any two statements', async () => {
    const dir = tempDir();
    const writer = resolve(import.meta.dirname, '../support/store/crash-writer.ts');
    let lastSessid: string | undefined;
    // Five kills, each after a different number of committed statements.
    for (const after of [1, 3, 7, 13, 20]) {
      const child = spawn(process.execPath, [writer, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      await new Promise<void>((done, fail) => {
        let lines = 0;
        const timer = setTimeout(() => fail(new Error(`writer made no progress: ${stderr}`)), 15_000);
        child.stdout.on('data', (d: Buffer) => {
          lines += d.toString().split('\n').length - 1;
          if (lines >= after) {
            clearTimeout(timer);
            child.kill('SIGKILL');
            done();
          }
        });
      });
      await new Promise((r) => child.on('exit', r));
      const s = SqliteStateStore.open(dir);
      const sessid = s.vertoSessionId();
      if (lastSessid !== undefined) expect(sessid).toBe(lastSessid);
      lastSessid = sessid;
      // At most the one call (and its send) in flight at the kill; every field of it fits its type.
      expect(s.calls().length).toBeLessThanOrEqual(1);
      expect(s.pendingSends().length).toBeLessThanOrEqual(1);
      for (const c of s.calls()) expect(c.matrixCallId).toMatch(/^call-\d+-\d+$/);
      s.atomically(() => {
        for (const c of s.calls()) s.deleteCall(c.matrixCallId);
        for (const p of s.pendingSends()) s.deleteSend(p.txnId);
      });
      s.close();
    }
  }, 60_000);
});
