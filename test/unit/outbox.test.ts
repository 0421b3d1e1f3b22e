import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.ts';
import { MatrixOutbox, SendRefusedError, type SendResult } from '../../src/matrix/outbox.ts';
import { SqliteStateStore } from '../../src/store/sqlite-store.ts';
import type { PendingSend } from '../../src/store/state-store.ts';
import { deferred, type Deferred } from '../../src/net/deferred.ts';

const log = createLogger('silent');
const retry = { initialDelayMs: 1, maxDelayMs: 5 };

/** A homeserver that answers each PUT when the test says so, recording every attempt. */
class ScriptedHomeserver {
  readonly attempts: PendingSend[] = [];
  readonly #waiting: Array<{ send: PendingSend; reply: Deferred<SendResult> }> = [];
  readonly #arrived = new Set<() => void>();

  put = (send: PendingSend): Promise<SendResult> => {
    this.attempts.push(send);
    const reply = deferred<SendResult>();
    this.#waiting.push({ send, reply });
    for (const fn of [...this.#arrived]) fn();
    return reply.promise;
  };

  /** The next PUT waiting for an answer (waits for one to arrive, with a deadline). */
  async next(timeoutMs = 2_000): Promise<{ send: PendingSend; reply: Deferred<SendResult> }> {
    const deadline = Date.now() + timeoutMs;
    while (this.#waiting.length === 0) {
      if (Date.now() > deadline) throw new Error('no PUT arrived');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(1, deadline - Date.now()));
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.#arrived.add(done);
      });
    }
    const w = this.#waiting.shift();
    if (w === undefined) throw new Error('no PUT');
    return w;
  }

  get waiting(): number {
    return this.#waiting.length;
  }
}

const ok = (eventId: string): SendResult => ({ ok: true, eventId });
const down: SendResult = { ok: false, retry: true, retryAfterMs: undefined, reason: 'the homeserver is unreachable' };

describe('Matrix outbox', () => {
  it('sends one call\'s events in order, one at a time; other calls go side by side', async () => {
    const hs = new ScriptedHomeserver();
    const store = SqliteStateStore.open(':memory:');
    const outbox = new MatrixOutbox({ put: hs.put, store, logger: log, retry });
    outbox.start();
    const answer = outbox.enqueue('c1', '!r:hs', 'm.call.answer', { call_id: 'c1' });
    const hangup = outbox.enqueue('c1', '!r:hs', 'm.call.hangup', { call_id: 'c1' });
    const other = outbox.enqueue('c2', '!r:hs', 'm.call.invite', { call_id: 'c2' });
    const first = await hs.next();
    const second = await hs.next();
    expect([first.send.type, second.send.type].sort()).toEqual(['m.call.answer', 'm.call.invite']);
    expect(hs.waiting).toBe(0);
    first.reply.resolve(ok('$1'));
    second.reply.resolve(ok('$2'));
    const third = await hs.next();
    expect(third.send.type).toBe('m.call.hangup');
    third.reply.resolve(ok('$3'));
    expect(await Promise.all([answer, hangup, other])).toEqual([first.send.type === 'm.call.answer' ? '$1' : '$2', '$3', first.send.type === 'm.call.answer' ? '$2' : '$1']);
    expect(store.pendingSends()).toEqual([]);
    expect(await outbox.drained(100)).toBe(true);
    outbox.stop();
    store.close();
  });

  it('retries with the same transaction id while the homeserver is down', async () => {
    const hs = new ScriptedHomeserver();
    const store = SqliteStateStore.open(':memory:');
    const outbox = new MatrixOutbox({ put: hs.put, store, logger: log, retry });
    outbox.start();
    const sent = outbox.enqueue('c1', '!r:hs', 'm.call.hangup', { call_id: 'c1' });
    for (let i = 0; i < 3; i += 1) (await hs.next()).reply.resolve(down);
    (await hs.next()).reply.resolve({ ok: false, retry: true, retryAfterMs: 3, reason: '429 M_LIMIT_EXCEEDED' });
    (await hs.next()).reply.resolve(ok('$e'));
    expect(await sent).toBe('$e');
    expect(new Set(hs.attempts.map((a) => a.txnId)).size).toBe(1);
    expect(hs.attempts).toHaveLength(5);
    expect(outbox.stats.retries).toBe(4);
    outbox.stop();
    store.close();
  });

  it('drops a send the homeserver refused for good, and goes on with the next', async () => {
    const hs = new ScriptedHomeserver();
    const store = SqliteStateStore.open(':memory:');
    const outbox = new MatrixOutbox({ put: hs.put, store, logger: log, retry });
    outbox.start();
    const refused = outbox.enqueue('c1', '!r:hs', 'm.call.answer', { call_id: 'c1' });
    const next = outbox.enqueue('c1', '!r:hs', 'm.call.hangup', { call_id: 'c1' });
    (await hs.next()).reply.resolve({ ok: false, retry: false, retryAfterMs: undefined, reason: '403 M_FORBIDDEN' });
    await expect(refused).rejects.toThrow(SendRefusedError);
    (await hs.next()).reply.resolve(ok('$h'));
    expect(await next).toBe('$h');
    expect(outbox.stats.refused).toBe(1);
    outbox.stop();
    store.close();
  });

  it('gives a send up once it is older than maxAgeMs and still failing: dropped, counted as refused, the next send of its call goes', async () => {
    const hs = new ScriptedHomeserver();
    const store = SqliteStateStore.open(':memory:');
    let clock = Date.now();
    const outbox = new MatrixOutbox({ put: hs.put, store, logger: log, retry, maxAgeMs: 60_000, now: () => clock });
    outbox.start();
    const stuck = outbox.enqueue('c1', '!r:hs', 'm.call.hangup', { call_id: 'c1' });
    const next = outbox.enqueue('c1', '!r:hs', 'm.room.message', { msgtype: 'm.notice', body: 'cut off' });
    const first = await hs.next();
    first.reply.resolve(down);
    const second = await hs.next();
    clock = first.send.createdAt + 59_999;
    second.reply.resolve({ ok: false, retry: true, retryAfterMs: undefined, reason: '502 (not a Matrix error)' });
    const last = await hs.next();
    expect(last.send.type).toBe('m.call.hangup');
    clock = first.send.createdAt + 60_000;
    last.reply.resolve(down);
    await expect(stuck).rejects.toThrow(/not acknowledged after 60 s/);
    const notice = await hs.next();
    expect(notice.send.type).toBe('m.room.message');
    notice.reply.resolve(ok('$n'));
    expect(await next).toBe('$n');
    expect(outbox.stats).toEqual({ pending: 0, refused: 1, retries: 2 });
    expect(store.pendingSends()).toEqual([]);
    outbox.stop();
    store.close();
  });

  it('an old send that goes through is delivered: the age only ends retries', async () => {
    const hs = new ScriptedHomeserver();
    const store = SqliteStateStore.open(':memory:');
    const outbox = new MatrixOutbox({ put: hs.put, store, logger: log, retry, maxAgeMs: 1_000, now: () => Date.now() + 10_000 });
    outbox.start();
    const sent = outbox.enqueue('c1', '!r:hs', 'm.call.hangup', { call_id: 'c1' });
    (await hs.next()).reply.resolve(ok('$h'));
    expect(await sent).toBe('$h');
    expect(outbox.stats.refused).toBe(0);
    outbox.stop();
    store.close();
  });

  it('resumes what a previous process left, with the same transaction ids, in order', async () => {
    const store = SqliteStateStore.open(':memory:');
    const before = new MatrixOutbox({ put: () => new Promise<SendResult>(() => undefined), store, logger: log, retry });
    // never started: the process "died" with both sends kept
    void before.enqueue('c1', '!r:hs', 'm.call.hangup', { call_id: 'c1' });
    void before.enqueue('c1', '!r:hs', 'm.room.message', { msgtype: 'm.notice', body: 'cut off' });
    const kept = store.pendingSends().map((s) => s.txnId);
    const hs = new ScriptedHomeserver();
    const after = new MatrixOutbox({ put: hs.put, store, logger: log, retry });
    after.start();
    const a = await hs.next();
    a.reply.resolve(ok('$1'));
    const b = await hs.next();
    b.reply.resolve(ok('$2'));
    expect([a.send.txnId, b.send.txnId]).toEqual(kept);
    expect([a.send.type, b.send.type]).toEqual(['m.call.hangup', 'm.room.message']);
    expect(await after.drained(1_000)).toBe(true);
    expect(store.pendingSends()).toEqual([]);
    after.stop();
    store.close();
  });

  it('a send queued before start goes after the previous run\'s sends of the same call, once', async () => {
    const store = SqliteStateStore.open(':memory:');
    const before = new MatrixOutbox({ put: () => new Promise<SendResult>(() => undefined), store, logger: log, retry });
    void before.enqueue('c1', '!r:hs', 'm.call.asserted_identity', { call_id: 'c1' });
    const hs = new ScriptedHomeserver();
    const after = new MatrixOutbox({ put: hs.put, store, logger: log, retry });
    const hangup = after.enqueue('c1', '!r:hs', 'm.call.hangup', { call_id: 'c1' });
    after.start();
    (await hs.next()).reply.resolve(ok('$1'));
    (await hs.next()).reply.resolve(ok('$2'));
    expect(await hangup).toBe('$2');
    expect(hs.attempts.map((a) => a.type)).toEqual(['m.call.asserted_identity', 'm.call.hangup']);
    expect(await after.drained(1_000)).toBe(true);
    expect(hs.attempts).toHaveLength(2);
    after.stop();
    store.close();
  });

  it('stop() leaves unacknowledged sends in the store and clears its timers', async () => {
    const hs = new ScriptedHomeserver();
    const store = SqliteStateStore.open(':memory:');
    const outbox = new MatrixOutbox({ put: hs.put, store, logger: log, retry: { initialDelayMs: 60_000, maxDelayMs: 60_000 } });
    outbox.start();
    void outbox.enqueue('c1', '!r:hs', 'm.call.hangup', { call_id: 'c1' });
    (await hs.next()).reply.resolve(down);
    expect(await outbox.drained(20)).toBe(false);
    outbox.stop();
    expect(store.pendingSends()).toHaveLength(1);
    store.close();
  });
});
