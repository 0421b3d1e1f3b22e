import { randomBytes } from 'node:crypto';
import { deferred, type Deferred } from '../net/deferred.ts';
import type { Logger } from '../log/logger.ts';
import { Backoff } from '../net/backoff.ts';
import type { PendingSend, StateStore } from '../store/state-store.ts';

/** How one PUT /send went. */
export type SendResult =
  | { readonly ok: true; readonly eventId: string }
  /** retry: the homeserver was unreachable, overloaded or rate-limiting; false: it refused the event for good. */
  | { readonly ok: false; readonly retry: boolean; readonly retryAfterMs: number | undefined; readonly reason: string };

export interface OutboxOptions {
  /** One PUT with the send's own transaction id. */
  readonly put: (send: PendingSend) => Promise<SendResult>;
  readonly store: Pick<StateStore, 'enqueueSend' | 'deleteSend' | 'pendingSends'>;
  readonly logger: Logger;
  readonly retry?: { readonly initialDelayMs: number; readonly maxDelayMs: number };
  /**
   * A send not acknowledged this long after it was kept (across restarts:
   * the age is the store's) is given up after its next failed attempt:
   * dropped and counted as refused. Default DEFAULT_MAX_SEND_AGE_MS.
   */
  readonly maxAgeMs?: number;
  /** The clock the age is taken with (ms since the epoch; tests). */
  readonly now?: () => number;
}

/** How long the outbox keeps retrying one send: a day (homeserver outages of hours are delivered; a send that can never go does not block its call's key forever). */
export const DEFAULT_MAX_SEND_AGE_MS = 24 * 3_600_000;

export class SendRefusedError extends Error {
  constructor(type: string, reason: string) {
    super(`the homeserver refused ${type}: ${reason}`);
    this.name = 'SendRefusedError';
  }
}

interface Queued {
  readonly send: PendingSend;
  readonly delivered: Deferred<string>;
}

/**
 * Matrix sends that must not be lost: each is written to the store with its
 * transaction id before the first attempt, retried with the same id while
 * the homeserver is unreachable (it deduplicates a PUT it already applied),
 * and forgotten only once acknowledged. Sends of one key (a call) go out in
 * order, one at a time; sends of different keys go out side by side. After
 * a restart, start() resumes what the previous process left.
 */
export class MatrixOutbox {
  readonly #options: OutboxOptions;
  readonly #log: Logger;
  readonly #queues = new Map<string, Queued[]>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #backoffs = new Map<string, Backoff>();
  /** Keys with a PUT in flight. */
  readonly #busy = new Set<string>();
  readonly #idle = new Set<() => void>();
  #running = false;
  #refused = 0;
  #retries = 0;

  constructor(options: OutboxOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'outbox' });
  }

  /** Sends not yet acknowledged (queued or in flight). */
  get pending(): number {
    let n = 0;
    for (const q of this.#queues.values()) n += q.length;
    return n;
  }

  get stats(): { pending: number; refused: number; retries: number } {
    return { pending: this.pending, refused: this.#refused, retries: this.#retries };
  }

  /** Resume the sends a previous process left in the store, and deliver from now on. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    // The store holds every kept send in order: the previous run's, and any
    // queued in this one before start (they keep their waiters).
    const queued = new Map<string, Queued>();
    for (const q of this.#queues.values()) for (const item of q) queued.set(item.send.txnId, item);
    this.#queues.clear();
    const kept = this.#options.store.pendingSends();
    const resumed = kept.filter((s) => !queued.has(s.txnId)).length;
    if (resumed > 0) this.#log.info({ sends: resumed }, 'resuming Matrix sends left by the previous run');
    for (const send of kept) this.#push(send, queued.get(send.txnId));
    for (const key of this.#queues.keys()) this.#pump(key);
  }

  /** Stop delivering (what is left stays in the store for the next start); pending promises stay unsettled. */
  stop(): void {
    this.#running = false;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }

  /**
   * Keep the send (synchronously, in the store) and deliver it after the
   * sends of the same key. Resolves with the event id once the homeserver
   * acknowledged it; rejects with SendRefusedError if it refused it for good.
   */
  enqueue(key: string, roomId: string, type: string, content: Record<string, unknown>, sender?: string): Promise<string> {
    const send = this.#options.store.enqueueSend({ txnId: newTxnId(), key, roomId, type, content, sender });
    const queued = this.#push(send);
    if (this.#running) this.#pump(key);
    return queued.delivered.promise;
  }

  /** Resolves when nothing is queued (or at the deadline, with false). */
  drained(timeoutMs: number): Promise<boolean> {
    if (this.pending === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.#idle.delete(onIdle);
        resolve(ok);
      };
      const onIdle = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.#idle.add(onIdle);
    });
  }

  #push(send: PendingSend, existing?: Queued): Queued {
    const queued: Queued = existing ?? { send, delivered: deferred<string>() };
    // A caller that does not wait for delivery must not cause an unhandled rejection.
    queued.delivered.promise.catch(() => undefined);
    const q = this.#queues.get(send.key);
    if (q === undefined) this.#queues.set(send.key, [queued]);
    else q.push(queued);
    return queued;
  }

  #pump(key: string): void {
    if (!this.#running || this.#busy.has(key) || this.#timers.has(key)) return;
    const head = this.#queues.get(key)?.[0];
    if (head === undefined) return;
    this.#busy.add(key);
    void this.#attempt(key, head);
  }

  async #attempt(key: string, head: Queued): Promise<void> {
    let result: SendResult;
    try {
      result = await this.#options.put(head.send);
    } catch (err) {
      result = { ok: false, retry: true, retryAfterMs: undefined, reason: (err as Error).message };
    }
    this.#busy.delete(key);
    const backoff = this.#backoffs.get(key);
    const age = (this.#options.now ?? Date.now)() - head.send.createdAt;
    let gaveUp = false;
    if (!result.ok && result.retry && age >= (this.#options.maxAgeMs ?? DEFAULT_MAX_SEND_AGE_MS)) {
      gaveUp = true;
      this.#log.warn(
        { key, type: head.send.type, txnId: head.send.txnId, attempts: (backoff?.attempt ?? 0) + 1, ageS: Math.round(age / 1000), reason: result.reason },
        'a Matrix send was not acknowledged in time; given up and dropped',
      );
      result = { ...result, retry: false, reason: `not acknowledged after ${Math.round(age / 1000)} s (last: ${result.reason})` };
    }
    if (!result.ok && result.retry) {
      this.#retries += 1;
      const keyBackoff = backoff ?? new Backoff(this.#options.retry ?? { initialDelayMs: 250, maxDelayMs: 5_000 });
      this.#backoffs.set(key, keyBackoff);
      const delay = Math.max(result.retryAfterMs ?? 0, keyBackoff.next());
      if (keyBackoff.attempt === 1 || keyBackoff.attempt % 10 === 0) {
        this.#log.warn({ key, type: head.send.type, txnId: head.send.txnId, attempt: keyBackoff.attempt, retryInMs: delay, reason: result.reason }, 'a Matrix send failed; retrying with the same transaction id');
      }
      if (!this.#running) return;
      this.#timers.set(key, setTimeout(() => {
        this.#timers.delete(key);
        this.#pump(key);
      }, delay));
      return;
    }
    this.#backoffs.delete(key);
    this.#options.store.deleteSend(head.send.txnId);
    const q = this.#queues.get(key);
    q?.shift();
    if (q !== undefined && q.length === 0) this.#queues.delete(key);
    if (result.ok) head.delivered.resolve(result.eventId);
    else {
      this.#refused += 1;
      if (!gaveUp) this.#log.error({ key, type: head.send.type, room: head.send.roomId, reason: result.reason }, 'the homeserver refused a Matrix send; dropped');
      head.delivered.reject(new SendRefusedError(head.send.type, result.reason));
    }
    if (this.#queues.has(key)) this.#pump(key);
    else if (this.#queues.size === 0) for (const fn of [...this.#idle]) fn();
  }
}

/** A transaction id unique to this edge's sends (the homeserver scopes ids per access token). */
function newTxnId(): string {
  return `mse.${Date.now().toString(36)}.${randomBytes(9).toString('base64url')}`;
}
