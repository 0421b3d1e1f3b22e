// Test-side actions and observations: act as another client (@alice) without HTTP, read
// every event and request, wait for them with a deadline, drive appservice pushes.
import type { AppservicePusher, TransactionAttempt } from './appservice.ts';
import type { CreateRoomBody } from './create-room.ts';
import { legacyEvent } from './format.ts';
import type { Recorder, RequestRecord } from './recorder.ts';
import type { RoomService } from './rooms.ts';
import type { Store } from './store.ts';
import type { SyncControl } from './sync-control.ts';
import type { JsonObject, Requester } from './types.ts';
import { waitFor } from './wait.ts';

export interface RegisteredUser {
  readonly userId: string;
  readonly accessToken: string;
  readonly deviceId: string;
}

export interface EventFilter {
  readonly roomId?: string;
  readonly type?: string;
  readonly sender?: string;
}

const DEFAULT_WAIT_MS = 5000;

export class TestApi {
  private readonly store: Store;
  private readonly rooms: RoomService;
  private readonly recorder: Recorder;
  private readonly pushers: readonly AppservicePusher[];
  private readonly syncControl: SyncControl;
  private txnCounter = 0;

  constructor(store: Store, rooms: RoomService, recorder: Recorder, pushers: readonly AppservicePusher[], syncControl: SyncControl) {
    this.store = store;
    this.rooms = rooms;
    this.recorder = recorder;
    this.pushers = pushers;
    this.syncControl = syncControl;
  }

  /**
   * Stop answering this user's /sync: requests in a long-poll or arriving from now on are
   * parked (not answered) until releaseSync, then answered with everything that arrived.
   */
  holdSync(userId: string): void {
    this.syncControl.hold(userId);
  }

  releaseSync(userId: string): void {
    this.syncControl.release(userId);
  }

  /** Resolves once at least one /sync of this user is parked by a hold. */
  waitForHeldSync(userId: string, timeoutMs = DEFAULT_WAIT_MS): Promise<number> {
    return waitFor((cb) => this.syncControl.subscribe(cb), () => (this.syncControl.parked(userId) > 0 ? this.syncControl.parked(userId) : undefined), timeoutMs, `a held /sync of ${userId}`);
  }

  /** Clamp every /sync filter's room.timeline.limit to this (undefined: no clamp). */
  setTimelineLimitCap(limit: number | undefined): void {
    this.syncControl.setTimelineLimitCap(limit);
  }

  /** Test-API actions are not rate limited (tokenId prefix "test:"). */
  private as(userId: string): Requester {
    if (!this.store.users.has(userId)) throw new Error(`homeserver simulator: unknown user ${userId}`);
    return { userId, deviceId: 'TESTAPI', txnScope: `test:${userId}`, tokenId: `test:${userId}`, appserviceId: undefined, isAppserviceSender: false };
  }

  registerUser(localpart: string, opts: { password?: string; displayname?: string } = {}): RegisteredUser {
    const userId = this.store.userIdFor(localpart);
    if (!this.store.users.has(userId)) this.store.addUser(localpart, opts);
    return this.login(userId);
  }

  /** A fresh access token and device for an existing user. */
  login(userId: string): RegisteredUser {
    const t = this.store.issueToken(userId);
    return { userId, accessToken: t.token, deviceId: t.deviceId ?? '' };
  }

  createRoom(userId: string, body: CreateRoomBody = {}): string {
    return this.rooms.createRoom(this.as(userId), body);
  }

  invite(userId: string, roomId: string, target: string): void {
    this.rooms.invite(this.as(userId), roomId, target);
  }

  join(userId: string, roomIdOrAlias: string): string {
    return this.rooms.join(this.as(userId), roomIdOrAlias);
  }

  leave(userId: string, roomId: string): void {
    this.rooms.leave(this.as(userId), roomId);
  }

  sendEvent(userId: string, roomId: string, type: string, content: JsonObject, txnId = `t${++this.txnCounter}`): string {
    return this.rooms.send(this.as(userId), roomId, type, txnId, content).eventId;
  }

  sendStateEvent(userId: string, roomId: string, type: string, stateKey: string, content: JsonObject): string {
    return this.rooms.setState(this.as(userId), roomId, type, stateKey, content).eventId;
  }

  setDisplayname(userId: string, displayname: string): void {
    this.rooms.setDisplayname(userId, displayname);
  }

  /** Every event stored, in stream order, in client format with room_id. */
  events(filter: EventFilter = {}): JsonObject[] {
    return this.store.events
      .filter((e) => (filter.roomId === undefined || e.roomId === filter.roomId) && (filter.type === undefined || e.type === filter.type) && (filter.sender === undefined || e.sender === filter.sender))
      .map((e) => legacyEvent(e));
  }

  waitForEvent(predicate: (ev: JsonObject) => boolean, timeoutMs = DEFAULT_WAIT_MS): Promise<JsonObject> {
    return waitFor((cb) => this.store.notifier.subscribe(cb), () => this.events().find(predicate), timeoutMs, 'a matching event');
  }

  requests(): readonly RequestRecord[] {
    return this.recorder.records;
  }

  waitForRequest(predicate: (r: RequestRecord) => boolean, timeoutMs = DEFAULT_WAIT_MS): Promise<RequestRecord> {
    return waitFor((cb) => this.recorder.subscribe(cb), () => this.recorder.records.find(predicate), timeoutMs, 'a matching request');
  }

  private pusher(appserviceId?: string): AppservicePusher {
    const p = appserviceId === undefined ? this.pushers[0] : this.pushers.find((x) => x.registration.id === appserviceId);
    if (p === undefined) throw new Error(`homeserver simulator: no appservice ${appserviceId ?? ''} registered`);
    return p;
  }

  /** Every transaction attempt made to the appservice (retries included), in order. */
  transactions(appserviceId?: string): readonly TransactionAttempt[] {
    return this.pusher(appserviceId).attempts;
  }

  waitForTransaction(predicate: (t: TransactionAttempt) => boolean, timeoutMs = DEFAULT_WAIT_MS, appserviceId?: string): Promise<TransactionAttempt> {
    const p = this.pusher(appserviceId);
    return waitFor(
      (cb) => p.subscribeAttempts(cb),
      () => p.attempts.find(predicate),
      timeoutMs,
      'a matching appservice transaction',
    );
  }

  /** Pushes already-stored events to the appservice again, in a new transaction. */
  pushToAppservice(eventIds: readonly string[], appserviceId?: string): void {
    const events = eventIds.map((id) => {
      const ev = this.store.event(id);
      if (ev === undefined) throw new Error(`homeserver simulator: no event ${id}`);
      return ev;
    });
    this.pusher(appserviceId).enqueue(events);
  }
}
