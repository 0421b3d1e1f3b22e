// In-memory state of the simulated homeserver: users, access tokens, rooms, state,
// the global event stream, transaction ids and filters.
import { newAccessToken, newDeviceId, newEventId } from './ids.ts';
import { Notifier } from './notifier.ts';
import type { JsonObject, StoredEvent, TokenRecord, UserRecord } from './types.ts';

export interface Room {
  readonly roomId: string;
  readonly version: string;
  readonly timeline: StoredEvent[];
  /** Current state, keyed by `${type}\u0000${stateKey}`. */
  readonly state: Map<string, StoredEvent>;
}

export interface NewEvent {
  readonly type: string;
  readonly sender: string;
  readonly content: JsonObject;
  readonly stateKey?: string | undefined;
  readonly txn?: { readonly tokenId: string; readonly txnId: string } | undefined;
  readonly originServerTs?: number | undefined;
}

const stateKeyOf = (type: string, stateKey: string): string => `${type}\u0000${stateKey}`;

export class Store {
  readonly serverName: string;
  readonly notifier = new Notifier();
  readonly users = new Map<string, UserRecord>();
  readonly tokens = new Map<string, TokenRecord>();
  readonly rooms = new Map<string, Room>();
  readonly aliases = new Map<string, string>();
  readonly events: StoredEvent[] = [];
  private readonly eventsById = new Map<string, StoredEvent>();
  private readonly txns = new Map<string, string>();
  private readonly filters = new Map<string, JsonObject[]>();
  private tokenCounter = 0;

  constructor(serverName: string) {
    this.serverName = serverName;
  }

  get currentPos(): number {
    return this.events.length;
  }

  userIdFor(localpart: string): string {
    return `@${localpart}:${this.serverName}`;
  }

  addUser(localpart: string, opts: { password?: string; displayname?: string; appserviceId?: string }): UserRecord {
    const user: UserRecord = {
      userId: this.userIdFor(localpart),
      localpart,
      password: opts.password,
      // Synapse sets the localpart as the initial display name.
      displayname: opts.displayname ?? localpart,
      avatarUrl: undefined,
      appserviceId: opts.appserviceId,
    };
    this.users.set(user.userId, user);
    return user;
  }

  issueToken(userId: string, deviceId: string | undefined = newDeviceId(), token?: string): TokenRecord {
    const user = this.users.get(userId);
    const record: TokenRecord = {
      token: token ?? newAccessToken(user?.localpart ?? userId),
      tokenId: `tok${++this.tokenCounter}`,
      userId,
      deviceId,
      appserviceId: undefined,
    };
    this.tokens.set(record.token, record);
    return record;
  }

  addAppserviceToken(token: string, senderUserId: string, appserviceId: string): void {
    this.tokens.set(token, { token, tokenId: `as:${appserviceId}`, userId: senderUserId, deviceId: undefined, appserviceId });
  }

  revokeToken(token: string): void {
    this.tokens.delete(token);
  }

  event(eventId: string): StoredEvent | undefined {
    return this.eventsById.get(eventId);
  }

  addRoom(roomId: string, version: string): Room {
    const room: Room = { roomId, version, timeline: [], state: new Map() };
    this.rooms.set(roomId, room);
    return room;
  }

  stateEvent(roomId: string, type: string, stateKey: string): StoredEvent | undefined {
    return this.rooms.get(roomId)?.state.get(stateKeyOf(type, stateKey));
  }

  membership(roomId: string, userId: string): string | undefined {
    const ev = this.stateEvent(roomId, 'm.room.member', userId);
    const m = ev?.content['membership'];
    return typeof m === 'string' ? m : undefined;
  }

  members(roomId: string, membership: string): string[] {
    const room = this.rooms.get(roomId);
    if (room === undefined) return [];
    const out: string[] = [];
    for (const ev of room.state.values()) {
      if (ev.type === 'm.room.member' && ev.stateKey !== undefined && ev.content['membership'] === membership) {
        out.push(ev.stateKey);
      }
    }
    return out;
  }

  /** Appends an event to a room and the global stream, updates state, wakes waiters. */
  append(roomId: string, e: NewEvent): StoredEvent {
    const room = this.rooms.get(roomId);
    if (room === undefined) throw new Error(`no room ${roomId}`);
    const prev = e.stateKey === undefined ? undefined : room.state.get(stateKeyOf(e.type, e.stateKey));
    const ev: StoredEvent = {
      eventId: newEventId(),
      roomId,
      type: e.type,
      sender: e.sender,
      content: e.content,
      stateKey: e.stateKey,
      originServerTs: e.originServerTs ?? Date.now(),
      streamPos: this.events.length + 1,
      txn: e.txn,
      replaces: prev === undefined ? undefined : { eventId: prev.eventId, content: prev.content, sender: prev.sender },
    };
    this.events.push(ev);
    this.eventsById.set(ev.eventId, ev);
    room.timeline.push(ev);
    if (e.stateKey !== undefined) room.state.set(stateKeyOf(e.type, e.stateKey), ev);
    this.notifier.notify();
    return ev;
  }

  txnLookup(scope: string, key: string): string | undefined {
    return this.txns.get(`${scope}\u0000${key}`);
  }

  txnRemember(scope: string, key: string, eventId: string): void {
    this.txns.set(`${scope}\u0000${key}`, eventId);
  }

  addFilter(userId: string, filter: JsonObject): string {
    const list = this.filters.get(userId) ?? [];
    list.push(filter);
    this.filters.set(userId, list);
    return String(list.length - 1);
  }

  filter(userId: string, filterId: string): JsonObject | undefined {
    return /^\d+$/.test(filterId) ? this.filters.get(userId)?.[Number(filterId)] : undefined;
  }
}
