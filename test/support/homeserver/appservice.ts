// Pushes events to one registered appservice the way Synapse does (traces/real/synapse-02,
// -03, -08; traces/matrix/10): increasing integer transaction ids from 1; at most 100 events
// per transaction; events that pile up while one is outstanding go into the next one; a
// failed transaction is retried unchanged (same id, same events) after 2 s, doubling up to
// 512 s; unknown users in the namespace are queried (GET users/{userId}) first.
import { callAppservice, type AppserviceApi, type AsReply } from './as-client.ts';
import { inviteRoomState, legacyEvent } from './format.ts';
import { matchesAny, type Registration } from './registration.ts';
import type { Store } from './store.ts';
import type { JsonObject, StoredEvent } from './types.ts';

export const MAX_EVENTS_PER_TRANSACTION = 100;

export interface PusherOptions {
  readonly api: AppserviceApi;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly requestTimeoutMs: number;
}

export interface TransactionAttempt {
  readonly txnId: number;
  readonly eventIds: readonly string[];
  readonly body: JsonObject;
  readonly status: number | 'network-error';
  readonly at: number;
}

interface Txn {
  readonly id: number;
  readonly events: readonly StoredEvent[];
}

export class AppservicePusher {
  readonly registration: Registration;
  readonly attempts: TransactionAttempt[] = [];
  private readonly store: Store;
  private readonly opts: PusherOptions;
  private readonly abort = new AbortController();
  private readonly queried = new Set<string>();
  private queue: StoredEvent[] = [];
  private inFlight: Txn | undefined;
  private sending = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private nextTxnId = 1;
  private scannedPos: number;
  private stopped = false;
  private readonly attemptListeners = new Set<() => void>();

  constructor(store: Store, registration: Registration, opts: PusherOptions) {
    this.store = store;
    this.registration = registration;
    this.opts = opts;
    this.scannedPos = store.currentPos;
  }

  get senderUserId(): string {
    return this.store.userIdFor(this.registration.senderLocalpart);
  }

  /** Whether this appservice gets `ev` (synapse ApplicationService.is_interested_in_event). */
  isInterested(ev: StoredEvent): boolean {
    const reg = this.registration;
    if (ev.sender === this.senderUserId || matchesAny(reg.users, ev.sender)) return true;
    if (ev.type === 'm.room.member' && ev.stateKey !== undefined && (ev.stateKey === this.senderUserId || matchesAny(reg.users, ev.stateKey))) return true;
    if (matchesAny(reg.rooms, ev.roomId)) return true;
    const alias = this.store.stateEvent(ev.roomId, 'm.room.canonical_alias', '')?.content['alias'];
    if (typeof alias === 'string' && matchesAny(reg.aliases, alias)) return true;
    return this.store.members(ev.roomId, 'join').some((u) => u === this.senderUserId || matchesAny(reg.users, u));
  }

  /** Called synchronously after each new event. */
  onNewEvents(): void {
    if (this.stopped || this.registration.url === null) return;
    for (const ev of this.store.events.slice(this.scannedPos)) if (this.isInterested(ev)) this.queue.push(ev);
    this.scannedPos = this.store.currentPos;
    this.kick();
  }

  /** Queues arbitrary stored events (test API: push a transaction on demand). */
  enqueue(events: readonly StoredEvent[]): void {
    this.queue.push(...events);
    this.kick();
  }

  get pending(): number {
    return this.queue.length + (this.inFlight?.events.length ?? 0);
  }

  private kick(): void {
    if (this.stopped || this.sending || this.retryTimer !== undefined) return;
    if (this.inFlight === undefined) {
      if (this.queue.length === 0) return;
      const events = this.queue.slice(0, MAX_EVENTS_PER_TRANSACTION);
      this.queue = this.queue.slice(events.length);
      this.inFlight = { id: this.nextTxnId++, events };
    }
    this.sending = true;
    void this.attempt(this.inFlight).finally(() => {
      this.sending = false;
      this.kick();
    });
  }

  private serialise(ev: StoredEvent, now: number): JsonObject {
    const out = legacyEvent(ev, now);
    if (ev.type === 'm.room.member' && ev.content['membership'] === 'invite') {
      const stripped = inviteRoomState(this.store, ev.roomId, ev.sender);
      out['invite_room_state'] = stripped;
      const unsigned = out['unsigned'];
      if (typeof unsigned === 'object' && unsigned !== null && !Array.isArray(unsigned)) unsigned['invite_room_state'] = stripped;
    }
    return out;
  }

  private async queryUnknownUsers(events: readonly StoredEvent[]): Promise<void> {
    const candidates = new Set<string>();
    for (const ev of events) {
      candidates.add(ev.sender);
      if (ev.type === 'm.room.member' && ev.stateKey !== undefined) candidates.add(ev.stateKey);
    }
    for (const userId of candidates) {
      if (this.queried.has(userId) || this.store.users.has(userId) || userId === this.senderUserId) continue;
      if (!matchesAny(this.registration.users, userId) || !userId.endsWith(`:${this.store.serverName}`)) continue;
      this.queried.add(userId);
      await this.queryUser(userId).catch(() => undefined);
    }
  }

  /** GET users/{userId}: does the appservice want this user to exist? */
  queryUser(userId: string): Promise<AsReply> {
    const enc = encodeURIComponent(userId);
    return callAppservice(
      this.registration,
      this.opts.api,
      { method: 'GET', v1Path: `/_matrix/app/v1/users/${enc}`, legacyPath: `/users/${enc}` },
      this.abort.signal,
      this.opts.requestTimeoutMs,
    );
  }

  private async attempt(txn: Txn): Promise<void> {
    await this.queryUnknownUsers(txn.events);
    if (this.stopped) return;
    const now = Date.now();
    const body: JsonObject = { events: txn.events.map((e) => this.serialise(e, now)) };
    let status: number | 'network-error';
    try {
      const reply = await callAppservice(
        this.registration,
        this.opts.api,
        { method: 'PUT', v1Path: `/_matrix/app/v1/transactions/${txn.id}`, legacyPath: `/transactions/${txn.id}`, body },
        this.abort.signal,
        this.opts.requestTimeoutMs,
      );
      status = reply.status;
    } catch {
      status = 'network-error';
    }
    if (this.stopped) return;
    this.attempts.push({ txnId: txn.id, eventIds: txn.events.map((e) => e.eventId), body, status, at: Date.now() });
    for (const l of [...this.attemptListeners]) l();
    if (typeof status === 'number' && status >= 200 && status < 300) {
      this.inFlight = undefined;
      this.failures = 0;
      return;
    }
    const delay = Math.min(this.opts.retryBaseMs * 2 ** this.failures, this.opts.retryMaxMs);
    this.failures++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, delay);
  }

  subscribeAttempts(listener: () => void): () => void {
    this.attemptListeners.add(listener);
    return () => this.attemptListeners.delete(listener);
  }

  stop(): void {
    this.attemptListeners.clear();
    this.stopped = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.abort.abort();
  }
}
