import { setTimeout as sleep } from 'node:timers/promises';
import { Method, type MatrixClient } from 'matrix-js-sdk';
import { judgeSendError } from './send-errors.ts';
import { z } from 'zod';
import type { Logger } from '../log/logger.ts';
import { withDeadline } from '../net/deadline.ts';

// Back-fill of the gaps a /sync leaves (a "limited" room timeline).
//
// When a sync returns more events for a room than its timeline carries, the
// homeserver sends only the newest ones, with `limited: true` and a
// `prev_batch` token; the events before them are never seen unless the
// client pages back with GET /rooms/{roomId}/messages?dir=b&from=<prev_batch>
// (traces/real/synapse-07 calls 13 and 14). The GapFiller does that for
// every gap in a room the edge reads, and delivers the gap's events oldest
// first, each once, BEFORE the live events of the sync that came after the
// gap (those wait in the room's queue while the gap is filled; other rooms
// are not held up).

/** How far back a gap is filled: a call invite lives at most a few minutes (Element: 60 s), commands are no older. */
export const BACKFILL_HORIZON_MS = 5 * 60_000;
/** Events asked for per /messages page. */
export const BACKFILL_PAGE_LIMIT = 100;
/** Pages per gap at most (with the horizon: 1000 events of one room in 5 minutes). */
export const BACKFILL_MAX_PAGES = 10;
/** How long one gap may take, retries included; the room's live events wait that long at most. */
export const BACKFILL_DEADLINE_MS = 20_000;
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 2_000;
/** Event ids remembered per room (the stop mark of the next gap, and dedupe across gap and live events). */
const SEEN_PER_ROOM = 500;

/** A room event of a /messages page, validated at the boundary (client format, as Synapse 1.67 sends it). */
export const gapEventSchema = z.looseObject({
  event_id: z.string().min(1),
  type: z.string().min(1),
  sender: z.string().min(1),
  origin_server_ts: z.number().int().nonnegative(),
  content: z.record(z.string(), z.unknown()),
  room_id: z.string().optional(),
  state_key: z.string().optional(),
  unsigned: z.looseObject({ age: z.number().optional() }).optional(),
});
export type GapEvent = z.infer<typeof gapEventSchema>;

/** The page itself: chunk newest first (dir=b); no `end` means there is nothing older. */
const pageSchema = z.looseObject({
  chunk: z.array(z.unknown()),
  start: z.string().optional(),
  end: z.string().optional(),
});

/** One GET /messages, judged: network errors, timeouts, 5xx and 429 are worth a retry; any other refusal is final. */
export type PageResult =
  | { readonly ok: true; readonly body: unknown }
  | { readonly ok: false; readonly retry: boolean; readonly retryAfterMs: number | undefined; readonly reason: string };

export type FetchPage = (roomId: string, from: string, limit: number, timeoutMs: number, signal: AbortSignal) => Promise<PageResult>;

export type GapStop = 'seen' | 'horizon' | 'start' | 'page_cap' | 'failed';

export interface GapResult {
  /** The gap's events, oldest first, each once. */
  readonly events: readonly GapEvent[];
  /** True when the gap was paged back to its start: an event seen before, the horizon, or the room's first event. */
  readonly filled: boolean;
  readonly stop: GapStop;
  readonly pages: number;
  /** Events of the pages that failed validation, and why. */
  readonly skipped: readonly { readonly eventId: string | undefined; readonly reason: string }[];
  /** Why the gap could not be filled (stop 'failed' or 'page_cap'). */
  readonly reason: string | undefined;
}

export interface CollectOptions {
  /** An event the edge already saw in this room: paging stops there. */
  readonly seen: (eventId: string) => boolean;
  /** Events sent before this (origin_server_ts) are older than the horizon: paging stops there. */
  readonly horizonTs: number;
  readonly pageLimit: number;
  readonly maxPages: number;
  /** Retries stop at this time; each request gets what is left of it, at most requestTimeoutMs. */
  readonly deadlineAt: number;
  readonly requestTimeoutMs: number;
  readonly retryFirstMs: number;
  readonly retryMaxMs: number;
  readonly now: () => number;
  readonly signal: AbortSignal;
}

function issueText(error: z.ZodError): string {
  const issue = error.issues[0];
  const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'event';
  return `${where}: ${issue?.message ?? 'invalid'}`;
}

/** One page, retried on transient failures until the deadline. */
async function fetchWithRetry(fetch: FetchPage, roomId: string, from: string, o: CollectOptions): Promise<{ ok: true; body: unknown } | { ok: false; reason: string }> {
  let delay = o.retryFirstMs;
  let attempts = 0;
  for (;;) {
    if (o.signal.aborted) return { ok: false, reason: 'the Matrix client stopped' };
    const left = o.deadlineAt - o.now();
    const r = await fetch(roomId, from, o.pageLimit, Math.max(1, Math.min(o.requestTimeoutMs, left)), o.signal);
    attempts += 1;
    if (r.ok) return r;
    if (!r.retry) return { ok: false, reason: r.reason };
    const wait = r.retryAfterMs ?? delay;
    if (o.now() + wait >= o.deadlineAt) return { ok: false, reason: `${r.reason} (${attempts} attempts, deadline reached)` };
    try {
      await sleep(wait, undefined, { signal: o.signal });
    } catch {
      return { ok: false, reason: 'the Matrix client stopped' };
    }
    delay = Math.min(delay * 2, o.retryMaxMs);
  }
}

/**
 * Page back from a gap's prev_batch token until an event the edge already
 * saw, the horizon, the room's first event, or the page cap; the events
 * found are returned oldest first (whatever was found before a failure too).
 */
export async function collectGap(fetch: FetchPage, roomId: string, prevBatch: string, o: CollectOptions): Promise<GapResult> {
  const newestFirst: GapEvent[] = [];
  const ids = new Set<string>();
  const skipped: { eventId: string | undefined; reason: string }[] = [];
  let from = prevBatch;
  let pages = 0;
  const done = (stop: GapStop, reason: string | undefined = undefined): GapResult => ({
    events: newestFirst.reverse(),
    filled: stop === 'seen' || stop === 'horizon' || stop === 'start',
    stop,
    pages,
    skipped,
    reason,
  });
  for (;;) {
    if (pages >= o.maxPages) return done('page_cap', `${pages} pages of ${o.pageLimit} did not reach an event seen before or the horizon`);
    const got = await fetchWithRetry(fetch, roomId, from, o);
    if (!got.ok) return done('failed', got.reason);
    pages += 1;
    const page = pageSchema.safeParse(got.body);
    if (!page.success) return done('failed', `the /messages answer is malformed: ${issueText(page.error)}`);
    for (const raw of page.data.chunk) {
      const parsed = gapEventSchema.safeParse(raw);
      if (!parsed.success) {
        const id = (raw as { event_id?: unknown } | null)?.event_id;
        skipped.push({ eventId: typeof id === 'string' ? id : undefined, reason: issueText(parsed.error) });
        continue;
      }
      const ev = parsed.data;
      if (ev.room_id !== undefined && ev.room_id !== roomId) {
        skipped.push({ eventId: ev.event_id, reason: `room_id: ${ev.room_id} is not this room` });
        continue;
      }
      if (o.seen(ev.event_id)) return done('seen');
      if (ev.origin_server_ts < o.horizonTs) return done('horizon');
      if (ids.has(ev.event_id)) continue;
      ids.add(ev.event_id);
      newestFirst.push(ev);
    }
    const end = page.data.end;
    if (page.data.chunk.length === 0 || end === undefined || end === from) return done('start');
    from = end;
  }
}

/** Insertion-ordered set that forgets its oldest members beyond a cap. */
class RecentIds {
  readonly #ids = new Set<string>();
  readonly #cap: number;

  constructor(cap: number) {
    this.#cap = cap;
  }

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  add(id: string): void {
    this.#ids.delete(id);
    this.#ids.add(id);
    if (this.#ids.size > this.#cap) {
      const oldest = this.#ids.values().next();
      if (!oldest.done) this.#ids.delete(oldest.value);
    }
  }
}

type Item<E> = { readonly kind: 'live'; readonly event: E } | { readonly kind: 'gap'; readonly prevBatch: string | null };

export interface GapFillerOptions<E> {
  readonly fetchPage: FetchPage;
  /** Hands a room event to the edge (live or from a gap: the same path). */
  readonly deliver: (roomId: string, event: E) => void;
  /** A validated gap event as the edge's event type. */
  readonly fromGap: (roomId: string, event: GapEvent) => E;
  readonly idOf: (event: E) => string | undefined;
  readonly log: Logger;
  readonly requestTimeoutMs: number;
  readonly now?: () => number;
  readonly horizonMs?: number;
  /** Nothing older than this is back-filled either (the process start: older history is not live for this edge). */
  readonly notBefore?: number;
  readonly pageLimit?: number;
  readonly maxPages?: number;
  readonly deadlineMs?: number;
  readonly retryFirstMs?: number;
  readonly retryMaxMs?: number;
  readonly seenPerRoom?: number;
}

export interface GapCounts {
  /** Gaps paged back to their start. */
  readonly filled: number;
  /** Gaps that could not be filled (failed, deadline, page cap, no prev_batch); what was found was delivered. */
  readonly unfilled: number;
  /** Events delivered from gaps. */
  readonly events: number;
  /** Events not delivered a second time (seen in a gap and live, or twice live). */
  readonly duplicates: number;
}

/**
 * Per-room queues of live events and gaps. A room without a gap being
 * filled gets its live events delivered at once; once a gap is reported,
 * the room's later live events wait behind it until it is filled (or given
 * up), then everything is delivered in order, each event id once.
 */
export class GapFiller<E> {
  readonly #o: GapFillerOptions<E>;
  readonly #now: () => number;
  readonly #seen = new Map<string, RecentIds>();
  readonly #queues = new Map<string, Item<E>[]>();
  readonly #running = new Set<Promise<void>>();
  readonly #abort = new AbortController();
  #filled = 0;
  #unfilled = 0;
  #events = 0;
  #duplicates = 0;

  constructor(options: GapFillerOptions<E>) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  counts(): GapCounts {
    return { filled: this.#filled, unfilled: this.#unfilled, events: this.#events, duplicates: this.#duplicates };
  }

  /** Rooms whose live events wait behind a gap right now. */
  get busyRooms(): number {
    return this.#queues.size;
  }

  /** A live event of a room: delivered now, or queued behind the room's gap. */
  live(roomId: string, event: E): void {
    if (this.#abort.signal.aborted) return;
    const queue = this.#queues.get(roomId);
    if (queue !== undefined) queue.push({ kind: 'live', event });
    else this.#deliver(roomId, event);
  }

  /** A sync skipped events in this room; `prevBatch` is the token before its timeline (null: none given). */
  gap(roomId: string, prevBatch: string | null): void {
    if (this.#abort.signal.aborted) return;
    const queue = this.#queues.get(roomId);
    if (queue !== undefined) {
      queue.push({ kind: 'gap', prevBatch });
      return;
    }
    this.#queues.set(roomId, [{ kind: 'gap', prevBatch }]);
    const run = this.#drain(roomId).finally(() => this.#running.delete(run));
    this.#running.add(run);
  }

  /** Resolves when every room's queue is empty (for tests and an orderly stop). */
  async settled(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }

  /** Aborts the back-fills in flight (their timers and requests) and drops what waits. */
  stop(): void {
    this.#abort.abort();
    this.#queues.clear();
  }

  async #drain(roomId: string): Promise<void> {
    for (;;) {
      const queue = this.#queues.get(roomId);
      const item = queue?.shift();
      if (queue === undefined || item === undefined) {
        this.#queues.delete(roomId);
        return;
      }
      if (item.kind === 'live') this.#deliver(roomId, item.event);
      else await this.#fill(roomId, item.prevBatch);
      if (this.#abort.signal.aborted) return;
    }
  }

  async #fill(roomId: string, prevBatch: string | null): Promise<void> {
    const log = this.#o.log;
    if (prevBatch === null) {
      this.#unfilled += 1;
      log.warn({ room: roomId }, 'a sync skipped events in this room and gave no prev_batch: the gap could not be filled, call events in it were not seen');
      return;
    }
    const started = this.#now();
    const seen = this.#seenIn(roomId);
    let result: GapResult;
    try {
      result = await collectGap(this.#o.fetchPage, roomId, prevBatch, {
        seen: (id) => seen.has(id),
        horizonTs: Math.max(started - (this.#o.horizonMs ?? BACKFILL_HORIZON_MS), this.#o.notBefore ?? 0),
        pageLimit: this.#o.pageLimit ?? BACKFILL_PAGE_LIMIT,
        maxPages: this.#o.maxPages ?? BACKFILL_MAX_PAGES,
        deadlineAt: started + (this.#o.deadlineMs ?? BACKFILL_DEADLINE_MS),
        requestTimeoutMs: this.#o.requestTimeoutMs,
        retryFirstMs: this.#o.retryFirstMs ?? RETRY_FIRST_MS,
        retryMaxMs: this.#o.retryMaxMs ?? RETRY_MAX_MS,
        now: this.#now,
        signal: this.#abort.signal,
      });
    } catch (err) {
      result = { events: [], filled: false, stop: 'failed', pages: 0, skipped: [], reason: (err as Error).message };
    }
    if (this.#abort.signal.aborted) return;
    for (const s of result.skipped) log.warn({ room: roomId, eventId: s.eventId, reason: s.reason }, 'skipped an event of a back-filled gap: it failed validation');
    let delivered = 0;
    for (const ev of result.events) {
      if (this.#deliver(roomId, this.#o.fromGap(roomId, ev))) delivered += 1;
    }
    this.#events += delivered;
    const facts = { room: roomId, events: delivered, pages: result.pages, stop: result.stop, ms: this.#now() - started };
    if (result.filled) {
      this.#filled += 1;
      log.info(facts, 'back-filled a gap a sync left in this room');
    } else {
      this.#unfilled += 1;
      log.warn({ ...facts, reason: result.reason }, 'a gap a sync left in this room could not be filled: call events in it may not have been seen');
    }
  }

  /** Delivers an event unless its id was delivered before in this room; true when delivered. */
  #deliver(roomId: string, event: E): boolean {
    const id = this.#o.idOf(event);
    if (id !== undefined) {
      const seen = this.#seenIn(roomId);
      if (seen.has(id)) {
        this.#duplicates += 1;
        return false;
      }
      seen.add(id);
    }
    try {
      this.#o.deliver(roomId, event);
    } catch (err) {
      this.#o.log.error({ room: roomId, eventId: id, err: (err as Error).message }, 'handling a room event failed');
    }
    return true;
  }

  #seenIn(roomId: string): RecentIds {
    let seen = this.#seen.get(roomId);
    if (seen === undefined) {
      seen = new RecentIds(this.#o.seenPerRoom ?? SEEN_PER_ROOM);
      this.#seen.set(roomId, seen);
    }
    return seen;
  }
}

/**
 * GET /rooms/{roomId}/messages?dir=b&from=...&limit=... through
 * matrix-js-sdk's authenticated http (its base URL, token and prefix),
 * judged like a send (MatrixBot.put): network errors, timeouts, 5xx and 429
 * are transient, any other refusal final.
 */
export function messagesFetcher(client: MatrixClient): FetchPage {
  return async (roomId, from, limit, timeoutMs, signal) => {
    const path = `/rooms/${encodeURIComponent(roomId)}/messages`;
    try {
      const body = await withDeadline(
        client.http.authedRequest<unknown>(Method.Get, path, { dir: 'b', from, limit: String(limit) }, undefined, { localTimeoutMs: timeoutMs, abortSignal: signal, priority: 'auto' }),
        timeoutMs + 1_000,
        'GET /messages',
      );
      return { ok: true, body };
    } catch (err) {
      // judged as a send is: 4xx final, 5xx / 429 / no answer worth a retry
      return judgeSendError(err);
    }
  };
}
