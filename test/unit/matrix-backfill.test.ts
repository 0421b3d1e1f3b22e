// The back-fill of sync gaps (src/matrix/backfill.ts) against a scripted
// /messages: paging and its stop conditions, validation at the boundary,
// retries with a deadline, and the per-room queue that delivers a gap's
// events oldest first, each once, before the room's later live events.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.ts';
import { collectGap, GapFiller, type CollectOptions, type FetchPage, type GapEvent, type PageResult } from '../../src/matrix/backfill.ts';

const ROOM = '!room:localhost';
const OTHER = '!other:localhost';
const T0 = 1_800_000_000_000;
const log = createLogger('silent');

function ev(n: number, extra: Partial<GapEvent> = {}): GapEvent {
  return { event_id: `$e${n}`, type: 'm.call.invite', sender: '@alice:localhost', origin_server_ts: T0 + n * 1000, content: { call_id: `c${n}` }, room_id: ROOM, ...extra };
}

/**
 * A room history as /messages dir=b serves it: token "p<n>" = before event
 * index n; chunk newest first; `end` omitted once the first event is served
 * (unless endAtStart, as the simulator and Synapse may still give one).
 */
function history(events: readonly unknown[], opts: { endAtStart?: boolean } = {}) {
  const requests: { from: string; limit: number; timeoutMs: number }[] = [];
  const fetch: FetchPage = async (_roomId, from, limit, timeoutMs) => {
    requests.push({ from, limit, timeoutMs });
    const n = Number(from.slice(1));
    const start = Math.max(0, n - limit);
    const chunk = events.slice(start, n).reverse();
    const body: Record<string, unknown> = { chunk, start: from };
    if (start > 0 || (opts.endAtStart === true && chunk.length > 0)) body['end'] = `p${start}`;
    return { ok: true, body };
  };
  return { fetch, requests };
}

function options(over: Partial<CollectOptions> = {}): CollectOptions {
  return {
    seen: () => false,
    horizonTs: 0,
    pageLimit: 3,
    maxPages: 10,
    deadlineAt: Date.now() + 5_000,
    requestTimeoutMs: 1_000,
    retryFirstMs: 1,
    retryMaxMs: 4,
    now: Date.now,
    signal: new AbortController().signal,
    ...over,
  };
}

const ids = (events: readonly { event_id: string }[]): string[] => events.map((e) => e.event_id);
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('collectGap: paging back over a gap', () => {
  const room = range(0, 9).map((n) => ev(n));

  it('stops at the newest event the edge already saw, and returns the gap oldest first', async () => {
    const h = history(room);
    const seen = new Set(['$e2', '$e1']);
    const r = await collectGap(h.fetch, ROOM, 'p10', options({ seen: (id) => seen.has(id) }));
    expect(ids(r.events)).toEqual(range(3, 9).map((n) => `$e${n}`));
    expect(r).toMatchObject({ filled: true, stop: 'seen', pages: 3 });
    expect(h.requests.map((q) => q.from)).toEqual(['p10', 'p7', 'p4']);
  });

  it('stops at the horizon (older events are not delivered)', async () => {
    const r = await collectGap(history(room).fetch, ROOM, 'p10', options({ horizonTs: T0 + 6_500 }));
    expect(ids(r.events)).toEqual(['$e7', '$e8', '$e9']);
    expect(r).toMatchObject({ filled: true, stop: 'horizon' });
  });

  it("stops at the room's first event, with or without an `end` on the last page", async () => {
    for (const endAtStart of [false, true]) {
      const r = await collectGap(history(room, { endAtStart }).fetch, ROOM, 'p10', options());
      expect(ids(r.events)).toEqual(range(0, 9).map((n) => `$e${n}`));
      expect(r).toMatchObject({ filled: true, stop: 'start' });
    }
  });

  it('gives up at the page cap: what was found is returned, the gap counts as not filled', async () => {
    const r = await collectGap(history(room).fetch, ROOM, 'p10', options({ maxPages: 2 }));
    expect(ids(r.events)).toEqual(range(4, 9).map((n) => `$e${n}`));
    expect(r).toMatchObject({ filled: false, stop: 'page_cap', pages: 2 });
    expect(r.reason).toMatch(/2 pages/);
  });

  it('skips events that fail validation (with the reason) or belong to another room, and one repeated across pages', async () => {
    const messy: unknown[] = [
      ev(0),
      { event_id: '$noType', sender: '@alice:localhost', origin_server_ts: T0, content: {} },
      ev(2, { room_id: OTHER }),
      'not an event',
      { ...ev(4), content: 'text' },
      ev(5),
      ev(5),
      null,
    ];
    const r = await collectGap(history(messy).fetch, ROOM, 'p8', options());
    expect(ids(r.events)).toEqual(['$e0', '$e5']);
    expect(r.filled).toBe(true);
    expect(r.skipped.map((s) => [s.eventId, s.reason.split(':')[0]])).toEqual([
      [undefined, 'event'],
      ['$e4', 'content'],
      [undefined, 'event'],
      ['$e2', 'room_id'],
      ['$noType', 'type'],
    ]);
  });

  it('a malformed page fails the gap (no crash)', async () => {
    const fetch: FetchPage = async () => ({ ok: true, body: { chunk: 'nope' } });
    const r = await collectGap(fetch, ROOM, 'p1', options());
    expect(r).toMatchObject({ filled: false, stop: 'failed', events: [] });
    expect(r.reason).toMatch(/malformed: chunk/);
  });
});

describe('collectGap: failures', () => {
  const room = range(0, 4).map((n) => ev(n));

  /** Fails the first `failures` requests with this result, then serves the room. */
  function flaky(failures: number, failure: PageResult) {
    const h = history(room);
    let calls = 0;
    const fetch: FetchPage = async (...args) => (++calls <= failures ? failure : h.fetch(...args));
    return { fetch, calls: () => calls };
  }

  it('retries 5xx, network errors and 429 until it gets the page', async () => {
    for (const failure of [
      { ok: false, retry: true, retryAfterMs: undefined, reason: '502 M_UNKNOWN' },
      { ok: false, retry: true, retryAfterMs: undefined, reason: 'the homeserver is unreachable' },
      { ok: false, retry: true, retryAfterMs: 2, reason: '429 M_LIMIT_EXCEEDED' },
    ] as const) {
      const f = flaky(3, failure);
      const r = await collectGap(f.fetch, ROOM, 'p5', options({ pageLimit: 10 }));
      expect(r).toMatchObject({ filled: true, stop: 'start' });
      expect(ids(r.events)).toHaveLength(5);
      expect(f.calls()).toBe(4); // 3 failures, then the page (it reaches the first event)
    }
  });

  it('does not retry a final refusal (403)', async () => {
    const f = flaky(Infinity, { ok: false, retry: false, retryAfterMs: undefined, reason: '403 M_FORBIDDEN' });
    const r = await collectGap(f.fetch, ROOM, 'p5', options());
    expect(r).toMatchObject({ filled: false, stop: 'failed', reason: '403 M_FORBIDDEN' });
    expect(f.calls()).toBe(1);
  });

  it('gives up at the deadline; each request gets at most what is left of it', async () => {
    const f = flaky(Infinity, { ok: false, retry: true, retryAfterMs: undefined, reason: '503 M_UNKNOWN' });
    const timeouts: number[] = [];
    const fetch: FetchPage = (roomId, from, limit, timeoutMs, signal) => {
      timeouts.push(timeoutMs);
      return f.fetch(roomId, from, limit, timeoutMs, signal);
    };
    const started = Date.now();
    const r = await collectGap(fetch, ROOM, 'p5', options({ deadlineAt: started + 60, retryFirstMs: 5, retryMaxMs: 10 }));
    expect(r).toMatchObject({ filled: false, stop: 'failed' });
    expect(r.reason).toMatch(/^503 M_UNKNOWN \(\d+ attempts, deadline reached\)$/);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(f.calls()).toBeGreaterThan(2);
    for (const t of timeouts) expect(t).toBeLessThanOrEqual(60);
  });

  it('a Retry-After beyond the deadline ends the wait at once', async () => {
    const f = flaky(Infinity, { ok: false, retry: true, retryAfterMs: 60_000, reason: '429 M_LIMIT_EXCEEDED' });
    const started = Date.now();
    const r = await collectGap(f.fetch, ROOM, 'p5', options({ deadlineAt: started + 5_000 }));
    expect(r.stop).toBe('failed');
    expect(f.calls()).toBe(1);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('an abort (the client stops) ends a retry wait', async () => {
    const f = flaky(Infinity, { ok: false, retry: true, retryAfterMs: 10_000, reason: '502' });
    const abort = new AbortController();
    const started = Date.now();
    const pending = collectGap(f.fetch, ROOM, 'p5', options({ signal: abort.signal, deadlineAt: started + 60_000 }));
    abort.abort();
    const r = await pending;
    expect(r).toMatchObject({ stop: 'failed', reason: 'the Matrix client stopped' });
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

/** Live events in these tests: an id and a label. */
interface Live {
  readonly id: string | undefined;
  readonly label: string;
}

/** A /messages that answers only when the test says so (to watch what waits meanwhile). */
function gatedHistory(events: readonly GapEvent[]) {
  const h = history(events);
  const gates: (() => void)[] = [];
  const fetch: FetchPage = async (...args) => {
    await new Promise<void>((resolve) => gates.push(resolve));
    return h.fetch(...args);
  };
  const openAll = (): void => {
    for (const g of gates.splice(0)) g();
  };
  return { fetch, requests: h.requests, openAll, waiting: () => gates.length };
}

function filler(fetch: FetchPage, over: { notBefore?: number; horizonMs?: number; now?: () => number } = {}) {
  const delivered: { room: string; label: string }[] = [];
  const f = new GapFiller<Live>({
    fetchPage: fetch,
    deliver: (room, e) => delivered.push({ room, label: e.label }),
    fromGap: (_room, e) => ({ id: e.event_id, label: `gap ${e.event_id}` }),
    idOf: (e) => e.id,
    log,
    requestTimeoutMs: 1_000,
    now: over.now ?? (() => T0 + 100_000),
    pageLimit: 5,
    retryFirstMs: 1,
    ...(over.notBefore === undefined ? {} : { notBefore: over.notBefore }),
    ...(over.horizonMs === undefined ? {} : { horizonMs: over.horizonMs }),
  });
  return { f, delivered, labels: (room = ROOM) => delivered.filter((d) => d.room === room).map((d) => d.label) };
}

const live = (n: number): Live => ({ id: `$e${n}`, label: `live $e${n}` });

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise<void>((r) => setImmediate(r));
  expect(check()).toBe(true);
}

describe('GapFiller: order, dedupe, buffering', () => {
  it('delivers live events at once when no gap is being filled', () => {
    const { f, labels } = filler(history([]).fetch);
    f.live(ROOM, live(1));
    f.live(ROOM, live(2));
    expect(labels()).toEqual(['live $e1', 'live $e2']);
    expect(f.busyRooms).toBe(0);
  });

  it("holds the room's later live events while its gap is filled, then delivers gap (oldest first) and live in order; other rooms are not held", async () => {
    const room = range(0, 12).map((n) => ev(n));
    const g = gatedHistory(room);
    const { f, labels } = filler(g.fetch);
    f.live(ROOM, live(0));
    f.live(ROOM, live(1));
    // a sync skipped $e2..$e9; its timeline brings $e10..$e12
    f.gap(ROOM, 'p10');
    for (const n of [10, 11, 12]) f.live(ROOM, live(n));
    f.live(OTHER, { id: '$x1', label: 'other $x1' });
    expect(labels()).toEqual(['live $e0', 'live $e1']);
    expect(labels(OTHER)).toEqual(['other $x1']);
    expect(f.busyRooms).toBe(1);
    // pages of 5: p10 -> $e9..$e5, p5 -> $e4..$e2 then $e1 (seen: stop)
    await until(() => g.waiting() === 1);
    g.openAll();
    await until(() => g.waiting() === 1);
    g.openAll();
    await f.settled();
    expect(labels()).toEqual([
      'live $e0',
      'live $e1',
      ...range(2, 9).map((n) => `gap $e${n}`),
      'live $e10',
      'live $e11',
      'live $e12',
    ]);
    expect(g.requests.map((q) => q.from)).toEqual(['p10', 'p5']);
    expect(f.counts()).toEqual({ filled: 1, unfilled: 0, events: 8, duplicates: 0 });
    expect(f.busyRooms).toBe(0);
    // and live again without waiting
    f.live(ROOM, live(13));
    expect(labels().at(-1)).toBe('live $e13');
  });

  it('delivers an event found both in the gap and live once (the gap copy, in its place)', async () => {
    const room = range(0, 5).map((n) => ev(n));
    // a homeserver whose prev_batch overlaps the timeline by one event ($e5)
    const { f, labels } = filler(history(room).fetch);
    f.live(ROOM, live(0));
    f.gap(ROOM, 'p6');
    f.live(ROOM, live(5));
    f.live(ROOM, live(5));
    f.live(ROOM, live(6));
    await f.settled();
    expect(labels()).toEqual(['live $e0', 'gap $e1', 'gap $e2', 'gap $e3', 'gap $e4', 'gap $e5', 'live $e6']);
    expect(f.counts()).toMatchObject({ events: 5, duplicates: 2 });
  });

  it('two gaps in a row in one room are filled one after the other, each before the live events that followed it', async () => {
    const room = range(0, 9).map((n) => ev(n));
    const { f, labels } = filler(history(room).fetch);
    f.live(ROOM, live(0));
    f.gap(ROOM, 'p3'); // skipped $e1, $e2
    f.live(ROOM, live(3));
    f.gap(ROOM, 'p6'); // skipped $e4, $e5
    f.live(ROOM, live(6));
    await f.settled();
    expect(labels()).toEqual(['live $e0', 'gap $e1', 'gap $e2', 'live $e3', 'gap $e4', 'gap $e5', 'live $e6']);
    expect(f.counts()).toMatchObject({ filled: 2, unfilled: 0, events: 4 });
  });

  it('does not reach back before notBefore (history older than the process) nor the horizon', async () => {
    const room = range(0, 9).map((n) => ev(n));
    const a = filler(history(room).fetch, { notBefore: T0 + 7_000 });
    a.f.gap(ROOM, 'p10');
    await a.f.settled();
    expect(a.labels()).toEqual(['gap $e7', 'gap $e8', 'gap $e9']);
    const b = filler(history(room).fetch, { horizonMs: 2_500, now: () => T0 + 10_000 });
    b.f.gap(ROOM, 'p10');
    await b.f.settled();
    expect(b.labels()).toEqual(['gap $e8', 'gap $e9']);
  });

  it('a gap that cannot be filled is counted and logged; the live events behind it still go out, in order', async () => {
    const fetch: FetchPage = async () => ({ ok: false, retry: false, retryAfterMs: undefined, reason: '403 M_FORBIDDEN' });
    const { f, labels } = filler(fetch);
    f.gap(ROOM, 'p10');
    f.live(ROOM, live(10));
    f.gap(ROOM, null); // no prev_batch at all
    f.live(ROOM, live(11));
    await f.settled();
    expect(labels()).toEqual(['live $e10', 'live $e11']);
    expect(f.counts()).toEqual({ filled: 0, unfilled: 2, events: 0, duplicates: 0 });
  });

  it('an event handler that throws does not stop the queue', async () => {
    const room = range(0, 3).map((n) => ev(n));
    const seen: string[] = [];
    const f = new GapFiller<Live>({
      fetchPage: history(room).fetch,
      deliver: (_room, e) => {
        seen.push(e.label);
        if (e.id === '$e1') throw new Error('boom');
      },
      fromGap: (_room, e) => ({ id: e.event_id, label: e.event_id }),
      idOf: (e) => e.id,
      log,
      requestTimeoutMs: 1_000,
      now: () => T0 + 10_000,
    });
    f.gap(ROOM, 'p3');
    f.live(ROOM, live(3));
    await f.settled();
    expect(seen).toEqual(['$e0', '$e1', '$e2', 'live $e3']);
  });

  it('stop() aborts a back-fill in flight: nothing is delivered after it', async () => {
    const room = range(0, 3).map((n) => ev(n));
    const g = gatedHistory(room);
    const { f, delivered } = filler(g.fetch);
    f.gap(ROOM, 'p3');
    f.live(ROOM, live(3));
    await until(() => g.waiting() === 1);
    f.stop();
    g.openAll();
    await f.settled();
    f.live(ROOM, live(4));
    f.gap(ROOM, 'p4');
    expect(delivered).toEqual([]);
    expect(f.busyRooms).toBe(0);
  });
});
