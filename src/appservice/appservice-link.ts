// Appservice mode: the homeserver pushes every event the edge is interested
// in (its bridge bot's and its ghosts' rooms) as transactions; nothing is
// synced, so nothing can be skipped. The edge acts as its ghosts with the
// as_token and ?user_id=, and keeps the room state it needs from the pushed
// state events (read once per room with GET /state when it first matters).
import type { Logger } from '../log/logger.ts';
import { Listeners, type ConnectionState } from '../net/connection-state.ts';
import type { PendingSend, StateStore } from '../store/state-store.ts';
import { isCallEventType, parseCallEvent, type CallEvent } from '../matrix/call-events.ts';
import type { MatrixLink, RejectedCallEvent, RingingRoom, RoomFacts, RoomInvite, RoomMessage, TimelineStats } from '../matrix/link.ts';
import type { SendResult } from '../matrix/outbox.ts';
import { powerLevelOf } from '../matrix/power-levels.ts';
import { parseDestinationState } from '../routing/room-destination.ts';
import { AppserviceApiServer } from './api-server.ts';
import { GhostRegistry } from './ghost-registry.ts';
import { HomeserverApi, HomeserverError } from './homeserver-api.ts';
import { displayNumber, isPstnProtocol, pstnProtocol, type PhoneDirectory } from './phone-directory.ts';
import type { PushedEvent } from './pushed-events.ts';
import type { Registration } from './registration.ts';
import { RoomStates } from './room-states.ts';
import { TransactionInbox, type InboxStats } from './transaction-inbox.ts';
import { randomBytes } from 'node:crypto';

export interface AppserviceLinkOptions {
  readonly homeserverUrl: string;
  /** The bridge bot: @<sender_localpart>:<server>. */
  readonly botUserId: string;
  readonly registration: Registration;
  readonly listen: { readonly host: string; readonly port: number };
  readonly requestTimeoutMs: number;
  readonly directory: PhoneDirectory;
  readonly store: StateStore;
  readonly logger: Logger;
}

/** Longest wait for a transaction's events to be taken before it is acknowledged anyway. */
const TAKE_DEADLINE_MS = 10_000;
/** While the homeserver is unreachable, how often the edge asks it who it is. */
const PROBE_MS = 1_000;

type CallEventTaker = (event: CallEvent) => unknown;

export class AppserviceLink implements MatrixLink {
  readonly #options: AppserviceLinkOptions;
  readonly #log: Logger;
  readonly #api: HomeserverApi;
  readonly #server: AppserviceApiServer;
  readonly #inbox: TransactionInbox;
  readonly #ghosts: GhostRegistry;
  readonly #rooms = new RoomStates();
  readonly #directory: PhoneDirectory;
  readonly #store: StateStore;
  readonly #callTakers = new Set<CallEventTaker>();
  readonly #rejected = new Listeners<[RejectedCallEvent]>();
  readonly #states = new Listeners<[ConnectionState, string | undefined]>();
  readonly #messages = new Listeners<[RoomMessage]>();
  readonly #invites = new Listeners<[RoomInvite]>();
  readonly #names = new Listeners<[{ roomId: string; userId: string; displayName: string | undefined }]>();
  /** Room states being read, one request per room at a time. */
  readonly #loading = new Map<string, Promise<void>>();
  readonly #encryptedRooms = new Set<string>();
  /** DMs being created, by "<as> <user>". */
  readonly #creatingRooms = new Map<string, Promise<string>>();
  /** Invitations to the edge's users not yet answered: who invited (for a ghost's DM). */
  readonly #invitedBy = new Map<string, string>();
  #encryptedEvents = 0;
  #state: ConnectionState = 'idle';
  #probe: NodeJS.Timeout | undefined;
  #port = 0;

  constructor(options: AppserviceLinkOptions) {
    this.#options = options;
    this.#log = options.logger.child({ peer: 'matrix', mode: 'appservice', userId: options.botUserId });
    this.#directory = options.directory;
    this.#store = options.store;
    this.#api = new HomeserverApi({ homeserverUrl: options.homeserverUrl, asToken: options.registration.asToken, botUserId: options.botUserId, requestTimeoutMs: options.requestTimeoutMs, logger: this.#log });
    this.#ghosts = new GhostRegistry(this.#api, options.store, this.#log);
    this.#inbox = new TransactionInbox(options.store, (events) => this.#take(events), this.#log);
    this.#server = new AppserviceApiServer(
      options.registration.hsToken,
      {
        transaction: (txnId, events) => this.#inbox.handle(txnId, events),
        userExists: (userId) => this.#userExists(userId),
        protocol: (p) => (isPstnProtocol(p) ? pstnProtocol() : undefined),
        thirdpartyUsers: async (p, fields) => (isPstnProtocol(p) ? this.#directory.lookup(p, fields) : undefined),
        thirdpartyUserOf: (userId) => this.#directory.reverse(userId),
      },
      this.#log,
    );
  }

  get state(): ConnectionState {
    return this.#state;
  }

  get userId(): string {
    return this.#options.botUserId;
  }

  /** The port the appservice API listens on (once started). */
  get port(): number {
    return this.#port;
  }

  get inboxStats(): InboxStats {
    return this.#inbox.stats;
  }

  isEdgeUser(userId: string): boolean {
    return userId === this.#options.botUserId || this.#directory.numberOf(userId) !== undefined;
  }

  onState(fn: (state: ConnectionState, reason: string | undefined) => void): () => void {
    return this.#states.add(fn);
  }

  onCallEvent(fn: (event: CallEvent) => unknown): () => void {
    this.#callTakers.add(fn);
    return () => this.#callTakers.delete(fn);
  }

  onRejectedCallEvent(fn: (info: RejectedCallEvent) => void): () => void {
    return this.#rejected.add(fn);
  }

  onRoomMessage(fn: (message: RoomMessage) => void): () => void {
    return this.#messages.add(fn);
  }

  onInvite(fn: (invite: RoomInvite) => void): () => void {
    return this.#invites.add(fn);
  }

  onDisplayNameChange(fn: (change: { roomId: string; userId: string; displayName: string | undefined }) => void): () => void {
    return this.#names.add(fn);
  }

  timelineStats(): TimelineStats {
    const inbox = this.#inbox.stats;
    return { retained: 0, dropped: 0, encrypted: this.#encryptedEvents, gaps: 0, transactions: inbox.handled, duplicateTransactions: inbox.duplicates, pushedEvents: inbox.events };
  }

  async start(): Promise<void> {
    if (this.#state !== 'idle') return;
    this.#setState('connecting', undefined);
    this.#port = await this.#server.listen(this.#options.listen.host, this.#options.listen.port);
    await this.#probeOnce();
  }

  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#setState('stopped', undefined);
    clearTimeout(this.#probe);
    this.#probe = undefined;
    await this.#server.close();
    this.#api.stop();
    this.#callTakers.clear();
    this.#rejected.clear();
    this.#messages.clear();
    this.#invites.clear();
    this.#names.clear();
    this.#states.clear();
  }

  async whoami(): Promise<string> {
    return this.#api.whoami();
  }

  async joinRoom(roomId: string, as?: string): Promise<void> {
    await this.#api.join(roomId, as);
    const joined = as ?? this.#options.botUserId;
    this.#rooms.apply(roomId, { type: 'm.room.member', stateKey: joined, content: { membership: 'join' } });
    const key = `${roomId} ${joined}`;
    const inviter = this.#invitedBy.get(key);
    this.#invitedBy.delete(key);
    // A DM someone opened with a ghost (Element's dial pad): remember whose it is.
    if (inviter !== undefined && as !== undefined && this.#directory.numberOf(as) !== undefined && this.#store.directRoom(as, inviter) === undefined) {
      this.#store.putDirectRoom(as, inviter, roomId);
    }
  }

  async declineInvite(roomId: string, as: string, reason: string): Promise<void> {
    this.#invitedBy.delete(`${roomId} ${as}`);
    await this.#api.leave(roomId, as, reason);
  }

  async roomFacts(roomId: string, userId: string): Promise<RoomFacts> {
    const known = this.#rooms.get(roomId);
    if (known === undefined || !known.complete) await this.#loadRoom(roomId);
    const room = this.#rooms.get(roomId);
    const ghosts = this.#rooms.joined(roomId, (u) => this.#directory.numberOf(u) !== undefined);
    const botIn = this.#rooms.isJoined(roomId, this.#options.botUserId);
    const ghost = ghosts.length === 1 ? ghosts[0] : undefined;
    const speaker = ghost ?? (botIn ? undefined : ghosts[0]);
    return {
      powerLevel: powerLevelOf(room?.powerLevels, userId),
      displayName: room?.members.get(userId)?.displayName,
      // A DM with a ghost calls its number; elsewhere the room's destination link (or !dial) decides.
      destination: ghost !== undefined ? this.#directory.numberOf(ghost) : parseDestinationState(room?.destination),
      speaker,
      noticeFrom: botIn ? undefined : speaker,
    };
  }

  async ringingRoom(target: { readonly room: string } | { readonly user: string }, caller: { readonly number: string; readonly name: string | undefined }): Promise<RingingRoom> {
    let ghost: string | undefined;
    try {
      ghost = this.#directory.ghostFor(caller.number);
    } catch {
      ghost = undefined; // an anonymous or non-numeric caller: the bridge bot rings
    }
    if (ghost !== undefined) await this.#ghosts.ensure(ghost, caller.name ?? displayNumber(caller.number));
    const as = ghost ?? this.#options.botUserId;
    if ('room' in target) {
      if (ghost === undefined || this.#rooms.isJoined(target.room, ghost)) return { roomId: target.room, speaker: ghost, noticeFrom: undefined };
      try {
        await this.#joinAsGhost(target.room, ghost);
        return { roomId: target.room, speaker: ghost, noticeFrom: undefined };
      } catch (err) {
        // The call must ring all the same: from the bridge bot, as in bot mode.
        this.#log.warn({ room: target.room, ghost, err: (err as Error).message }, 'the caller\'s ghost could not join the routed room (give the bridge bot the power to invite there): the bot rings instead');
        return { roomId: target.room, speaker: undefined, noticeFrom: undefined };
      }
    }
    const roomId = this.#store.directRoom(as, target.user) ?? (await this.#createDirectRoom(as, target.user));
    return { roomId, speaker: ghost, noticeFrom: ghost };
  }

  async sendEvent(roomId: string, type: string, content: Record<string, unknown>, sender?: string): Promise<string> {
    const result = await this.#api.put(roomId, type, `mse${randomBytes(12).toString('hex')}`, content, sender ?? this.#speakerIn(roomId));
    if (!result.ok) throw new HomeserverError(`send ${type}`, 0, undefined, result.reason);
    return result.eventId;
  }

  async sendNotice(roomId: string, body: string, sender?: string): Promise<string> {
    return this.sendEvent(roomId, 'm.room.message', { msgtype: 'm.notice', body }, sender);
  }

  async put(send: PendingSend): Promise<SendResult> {
    const result = await this.#api.put(send.roomId, send.type, send.txnId, { ...send.content }, send.sender ?? this.#speakerIn(send.roomId));
    if (!result.ok && result.retry && !/^\d/.test(result.reason)) this.#lost(result.reason);
    return result;
  }

  /** A new DM from `as` with a user; two calls at once for the same pair share one. */
  async #createDirectRoom(as: string, userId: string): Promise<string> {
    const key = `${as} ${userId}`;
    const running = this.#creatingRooms.get(key);
    if (running !== undefined) return running;
    const work = (async () => {
      const roomId = await this.#api.createDirectRoom(as, userId, undefined);
      this.#store.putDirectRoom(as, userId, roomId);
      this.#log.info({ room: roomId, user: userId, ghost: as }, 'created a DM to ring');
      return roomId;
    })();
    this.#creatingRooms.set(key, work);
    try {
      return await work;
    } finally {
      this.#creatingRooms.delete(key);
    }
  }

  /** Who speaks for the edge in a room when a send does not say: the bot when it is there, else the room's ghost. */
  #speakerIn(roomId: string): string | undefined {
    if (this.#rooms.isJoined(roomId, this.#options.botUserId)) return undefined;
    return this.#rooms.joined(roomId, (u) => this.#directory.numberOf(u) !== undefined)[0] ?? this.#store.ghostOfRoom(roomId);
  }

  /** A ghost joins a room it was not invited to: the bridge bot invites it first when the room asks for that. */
  async #joinAsGhost(roomId: string, ghost: string): Promise<void> {
    try {
      await this.#api.join(roomId, ghost);
    } catch (err) {
      if (!(err instanceof HomeserverError) || err.status !== 403) throw err;
      await this.#api.invite(roomId, ghost, undefined);
      await this.#api.join(roomId, ghost);
    }
    this.#rooms.apply(roomId, { type: 'm.room.member', stateKey: ghost, content: { membership: 'join' } });
  }

  async #loadRoom(roomId: string): Promise<void> {
    const running = this.#loading.get(roomId);
    if (running !== undefined) return running;
    const work = (async () => {
      const as = this.#readerOf(roomId);
      this.#rooms.beginLoad(roomId);
      try {
        this.#rooms.load(roomId, await this.#api.roomState(roomId, as));
      } catch (err) {
        this.#rooms.abortLoad(roomId);
        throw err;
      }
    })();
    this.#loading.set(roomId, work);
    try {
      await work;
    } finally {
      this.#loading.delete(roomId);
    }
  }

  /** Who can read a room's state: a ghost or the bot known to be in it. */
  #readerOf(roomId: string): string | undefined {
    const members = this.#rooms.joined(roomId, (u) => this.isEdgeUser(u));
    if (members.includes(this.#options.botUserId)) return undefined;
    return members[0] ?? this.#store.ghostOfRoom(roomId);
  }

  /** GET /users/{userId}: a ghost exists for every number the policy lets someone call (registered now). */
  async #userExists(userId: string): Promise<boolean> {
    const number = this.#directory.numberOf(userId);
    if (number === undefined || this.#directory.callable(number) === undefined) return false;
    await this.#ghosts.ensure(userId, displayNumber(number));
    return true;
  }

  /**
   * A transaction's events, in order. Resolves once each call event was
   * taken (a call admitted or refused) or at the deadline. A call that
   * ends within the same transaction (a backlog after downtime) is never
   * started: its caller has hung up already.
   */
  async #take(events: readonly PushedEvent[]): Promise<void> {
    const invited = new Set<string>();
    const endedHere = new Set<string>();
    for (const e of events) {
      const callId = e.content['call_id'];
      if (typeof callId !== 'string' || this.isEdgeUser(e.sender)) continue;
      if (e.type === 'm.call.invite') invited.add(callId);
      else if ((e.type === 'm.call.hangup' || e.type === 'm.call.reject') && invited.has(callId)) endedHere.add(callId);
    }
    const taken: Promise<unknown>[] = [];
    for (const e of events) {
      try {
        this.#dispatch(e, endedHere, taken);
      } catch (err) {
        this.#log.error({ event: e.eventId, type: e.type, err: (err as Error).message }, 'a pushed event could not be handled');
      }
    }
    if (taken.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(taken), new Promise<void>((resolve) => (timer = setTimeout(resolve, TAKE_DEADLINE_MS)))]);
    clearTimeout(timer);
  }

  #dispatch(e: PushedEvent, endedHere: ReadonlySet<string>, taken: Promise<unknown>[]): void {
    if (e.stateKey !== undefined) this.#rooms.apply(e.roomId, { type: e.type, stateKey: e.stateKey, content: e.content });
    if (e.type === 'm.room.member' && e.stateKey !== undefined) {
      this.#onMember(e, e.stateKey);
      return;
    }
    // The homeserver pushes the edge's own events back (traces/real/synapse-02): echoes.
    if (this.isEdgeUser(e.sender)) return;
    if (e.type === 'm.room.message') {
      if (e.content['msgtype'] === 'm.text' && typeof e.content['body'] === 'string') this.#messages.emit({ roomId: e.roomId, sender: e.sender, body: e.content['body'], eventId: e.eventId });
      return;
    }
    if (e.type === 'm.room.encrypted') {
      this.#onEncrypted(e.roomId, e.sender);
      return;
    }
    if (!isCallEventType(e.type)) return;
    const callId = e.content['call_id'];
    if (typeof callId === 'string' && endedHere.has(callId)) {
      if (e.type === 'm.call.invite') this.#log.info({ call: callId, room: e.roomId }, 'a call invited and ended while the edge was away: not dialled');
      return;
    }
    const ageMs = e.ageMs ?? Math.max(0, Date.now() - e.originServerTs);
    const parsed = parseCallEvent(e.type, { roomId: e.roomId, sender: e.sender, eventId: e.eventId, ageMs }, e.content);
    if (!parsed.ok) {
      this.#log.warn({ roomId: e.roomId, sender: e.sender, type: e.type, reason: parsed.reason }, 'refused a malformed call event');
      this.#rejected.emit({ roomId: e.roomId, sender: e.sender, type: e.type, reason: parsed.reason, content: e.content });
      return;
    }
    for (const take of [...this.#callTakers]) {
      const result = take(parsed.event);
      if (result instanceof Promise) taken.push(result);
    }
  }

  #onMember(e: PushedEvent, target: string): void {
    const membership = e.content['membership'];
    // Someone left (or was banned from) a DM, the edge's own users included: it is no DM to ring any more.
    if (membership === 'leave' || membership === 'ban') this.#store.forgetDirectRoomsIn(e.roomId, target);
    if (this.isEdgeUser(target)) {
      if (membership === 'invite' && !this.isEdgeUser(e.sender)) {
        if (this.#invitedBy.size < 10_000) this.#invitedBy.set(`${e.roomId} ${target}`, e.sender);
        this.#invites.emit({ roomId: e.roomId, inviter: e.sender, invitee: target });
      }
      return;
    }
    if (membership === 'leave' || membership === 'ban') return;
    const prev = e.prevContent;
    if (membership === 'join' && prev?.['membership'] === 'join' && e.content['displayname'] !== prev['displayname']) {
      this.#names.emit({ roomId: e.roomId, userId: target, displayName: typeof e.content['displayname'] === 'string' ? e.content['displayname'] : undefined });
    }
  }

  #onEncrypted(roomId: string, sender: string): void {
    this.#encryptedEvents += 1;
    if (this.#encryptedRooms.has(roomId)) return;
    this.#encryptedRooms.add(roomId);
    this.#log.warn({ room: roomId, sender }, 'an encrypted event: the edge cannot read calls or commands in encrypted rooms');
    this.sendNotice(roomId, 'This room is end-to-end encrypted, and the phone bridge cannot read encrypted calls or messages. Call from a room without encryption.').catch((err: Error) =>
      this.#log.warn({ room: roomId, err: err.message }, 'could not post the encryption notice'),
    );
  }

  #setState(state: ConnectionState, reason: string | undefined): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#states.emit(state, reason);
  }

  #lost(reason: string): void {
    if (this.#state !== 'connected') return;
    this.#log.warn({ reason }, 'homeserver unreachable');
    this.#setState('reconnecting', reason);
    this.#scheduleProbe();
  }

  #scheduleProbe(): void {
    if (this.#probe !== undefined || this.#state === 'stopped') return;
    this.#probe = setTimeout(() => {
      this.#probe = undefined;
      void this.#probeOnce();
    }, PROBE_MS);
  }

  /** whoami with the as_token: the homeserver is reachable and knows the registration. */
  async #probeOnce(): Promise<void> {
    try {
      const who = await this.#api.whoami();
      if (this.#state === 'stopped') return;
      if (who !== this.#options.botUserId) this.#log.warn({ who }, 'the homeserver says the as_token belongs to another user than matrix.user_id');
      if (this.#state !== 'connected') this.#log.info({ state: 'connected', port: this.#port }, 'Matrix connected (appservice)');
      this.#setState('connected', undefined);
    } catch (err) {
      if (this.#state === 'stopped') return;
      this.#setState('reconnecting', (err as Error).message);
      this.#scheduleProbe();
    }
  }
}
