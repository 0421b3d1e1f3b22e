// Room operations with Synapse's authorisation rules and answers: create, invite, join,
// leave, send (idempotent per transaction id), state, profile propagation.
import { parseCreateRoom, writeInitialEvents } from './create-room.ts';
import { errors } from './errors.ts';
import { checkCanSend } from './power.ts';
import type { RateLimiter } from './ratelimit.ts';
import type { Store } from './store.ts';
import type { JsonObject, Requester, StoredEvent } from './types.ts';

export interface RoomServiceDeps {
  readonly store: Store;
  readonly messageLimiter: RateLimiter;
  /** False for the appservice sender and for ghosts of a `rate_limited: false` appservice. */
  readonly isRateLimited: (r: Requester) => boolean;
}

export class RoomService {
  private readonly deps: RoomServiceDeps;

  constructor(deps: RoomServiceDeps) {
    this.deps = deps;
  }

  private get store(): Store {
    return this.deps.store;
  }

  private rateLimit(r: Requester, cost = 1): void {
    if (this.deps.isRateLimited(r)) this.deps.messageLimiter.take(r.userId, cost);
  }

  private memberContent(userId: string, membership: string, extra: JsonObject = {}): JsonObject {
    const user = this.store.users.get(userId);
    const content: JsonObject = { ...extra, membership };
    // An unregistered invitee (e.g. a ghost before the appservice made it) has no profile to copy.
    if ((membership === 'join' || membership === 'invite') && user?.displayname !== undefined) content['displayname'] = user.displayname;
    if ((membership === 'join' || membership === 'invite') && user?.avatarUrl !== undefined) content['avatar_url'] = user.avatarUrl;
    return content;
  }

  private checkLocal(userId: string): void {
    const server = userId.slice(userId.indexOf(':') + 1);
    if (server !== this.store.serverName) throw errors.federationDenied(server);
  }

  createRoom(r: Requester, raw: unknown): string {
    const body = parseCreateRoom(raw);
    for (const u of body.invite ?? []) this.checkLocal(u);
    this.rateLimit(r, 1 + (body.invite?.length ?? 0));
    const roomId = writeInitialEvents(this.store, r.userId, body);
    for (const u of body.invite ?? []) {
      this.store.append(roomId, {
        type: 'm.room.member',
        sender: r.userId,
        stateKey: u,
        content: this.memberContent(u, 'invite', body.is_direct === true ? { is_direct: true } : {}),
      });
    }
    return roomId;
  }

  private requireRoom(roomId: string): void {
    if (!this.store.rooms.has(roomId)) throw errors.unknownRoom();
  }

  private requireJoined(userId: string, roomId: string): void {
    this.requireRoom(roomId);
    const m = this.store.membership(roomId, userId);
    if (m !== 'join') throw errors.notInRoom(userId, roomId, m);
  }

  invite(r: Requester, roomId: string, userId: string, reason?: string): void {
    this.checkLocal(userId);
    this.requireJoined(r.userId, roomId);
    const m = this.store.membership(roomId, userId);
    if (m === 'join') throw errors.forbidden(`${userId} is already in the room.`);
    if (m === 'ban') throw errors.forbidden(`${userId} is banned from the room`);
    checkCanSend(this.store, roomId, r.userId, 'm.room.member', true);
    this.store.append(roomId, {
      type: 'm.room.member',
      sender: r.userId,
      stateKey: userId,
      content: this.memberContent(userId, 'invite', reason === undefined ? {} : { reason }),
    });
  }

  resolveRoom(roomIdOrAlias: string): string {
    if (roomIdOrAlias.startsWith('#')) {
      const roomId = this.store.aliases.get(roomIdOrAlias);
      if (roomId === undefined) throw errors.notFound(`Room alias ${roomIdOrAlias} not found`);
      return roomId;
    }
    if (!roomIdOrAlias.startsWith('!')) throw errors.invalidParam(`${roomIdOrAlias} was not legal room ID or room alias`);
    if (!this.store.rooms.has(roomIdOrAlias)) throw errors.joinUnknownRoom();
    return roomIdOrAlias;
  }

  join(r: Requester, roomIdOrAlias: string): string {
    const roomId = this.resolveRoom(roomIdOrAlias);
    const m = this.store.membership(roomId, r.userId);
    if (m === 'join') return roomId;
    const rule = this.store.stateEvent(roomId, 'm.room.join_rules', '')?.content['join_rule'];
    if (m === 'ban') throw errors.forbidden('You are banned from this room');
    if (m !== 'invite' && rule !== 'public') throw errors.forbidden('You are not invited to this room.');
    this.store.append(roomId, {
      type: 'm.room.member',
      sender: r.userId,
      stateKey: r.userId,
      content: this.memberContent(r.userId, 'join'),
    });
    return roomId;
  }

  leave(r: Requester, roomId: string, reason?: string): void {
    this.requireRoom(roomId);
    const m = this.store.membership(roomId, r.userId);
    if (m !== 'join' && m !== 'invite') throw errors.notInRoom(r.userId, roomId, m);
    this.store.append(roomId, { type: 'm.room.member', sender: r.userId, stateKey: r.userId, content: reason === undefined ? { membership: 'leave' } : { membership: 'leave', reason } });
  }

  /** PUT /rooms/{roomId}/send/{type}/{txnId}: the same txnId from the same scope returns the same event. */
  send(r: Requester, roomId: string, type: string, txnId: string, content: JsonObject, ts?: number): StoredEvent {
    const key = `send\u0000${roomId}\u0000${type}\u0000${txnId}`;
    const seen = this.store.txnLookup(r.txnScope, key);
    const prior = seen === undefined ? undefined : this.store.event(seen);
    if (prior !== undefined) return prior;
    this.requireJoined(r.userId, roomId);
    checkCanSend(this.store, roomId, r.userId, type, false);
    this.rateLimit(r);
    const ev = this.store.append(roomId, {
      type,
      sender: r.userId,
      content,
      // A device-less appservice token gets no unsigned.transaction_id on its echo (synapse-05).
      txn: r.deviceId === undefined ? undefined : { tokenId: r.tokenId, txnId },
      originServerTs: ts,
    });
    this.store.txnRemember(r.txnScope, key, ev.eventId);
    return ev;
  }

  setState(r: Requester, roomId: string, type: string, stateKey: string, content: JsonObject, ts?: number): StoredEvent {
    this.requireJoined(r.userId, roomId);
    checkCanSend(this.store, roomId, r.userId, type, true);
    this.rateLimit(r);
    return this.store.append(roomId, { type, sender: r.userId, content, stateKey, originServerTs: ts });
  }

  /** Readable room state requires current or former membership (Synapse allows reading state after leaving). */
  requireCanRead(userId: string, roomId: string): void {
    this.requireRoom(roomId);
    const m = this.store.membership(roomId, userId);
    if (m !== 'join' && m !== 'leave') throw errors.notInRoom(userId, roomId, m);
  }

  /** Synapse also rewrites the member event in every joined room when the global displayname changes. */
  setDisplayname(userId: string, displayname: string | undefined): void {
    const user = this.store.users.get(userId);
    if (user === undefined) throw errors.profileNotFound();
    user.displayname = displayname;
    for (const room of this.store.rooms.values()) {
      if (this.store.membership(room.roomId, userId) !== 'join') continue;
      this.store.append(room.roomId, {
        type: 'm.room.member',
        sender: userId,
        stateKey: userId,
        content: this.memberContent(userId, 'join'),
      });
    }
  }
}
