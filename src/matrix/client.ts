import { ClientEvent, createClient, EventTimeline, Filter, MatrixEvent, Method, RoomEvent, RoomMemberEvent, SyncState, type MatrixClient, type Room, type RoomMember } from 'matrix-js-sdk';
import { DESTINATION_STATE_TYPE, parseDestinationState } from '../routing/room-destination.ts';
import type { Logger } from '../log/logger.ts';
import type { Secret } from '../config/secret.ts';
import { Listeners, type ConnectionState } from '../net/connection-state.ts';
import { withDeadline } from '../net/deadline.ts';
import { redactUrl } from '../net/redact-url.ts';
import { isCallEventType, parseCallEvent, type CallEvent } from './call-events.ts';
import { retainedEvents, TimelineTrimmer } from './timeline-trim.ts';
import { GapFiller, messagesFetcher } from './backfill.ts';
import { powerLevelOf } from './power-levels.ts';
import { sdkLogger, silenceSdkGlobalLogger } from './sdk-logging.ts';
import type { SendResult } from './outbox.ts';
import { judgeSendError } from './send-errors.ts';
import type { PendingSend } from '../store/state-store.ts';
import type { MatrixLink, RejectedCallEvent, RingingRoom, RoomFacts, RoomInvite, RoomMessage, TimelineStats } from './link.ts';

export type { RoomFacts, RoomMessage } from './link.ts';

export interface MatrixBotOptions {
  readonly homeserverUrl: string;
  readonly userId: string;
  readonly accessToken: Secret | undefined;
  readonly password: Secret | undefined;
  readonly deviceId: string | undefined;
  readonly requestTimeoutMs: number;
  readonly syncTimeoutMs: number;
  readonly logger: Logger;
}

/** Room events per room per /sync the edge asks for (its filter's room.timeline.limit). */
export const SYNC_TIMELINE_LIMIT = 500;

/** While the homeserver is unreachable, how often the edge asks matrix-js-sdk to probe it. */
const RECONNECT_PROBE_MS = 1_000;

export class MatrixError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MatrixError';
  }
}

/**
 * Bot-mode Matrix client: logs in (token or password), long-polls /sync
 * through matrix-js-sdk, delivers m.call.* events validated, and sends
 * events with transaction ids (the sdk retries them idempotently).
 */
export class MatrixBot implements MatrixLink {
  readonly #options: MatrixBotOptions;
  readonly #log: Logger;
  readonly #callEvents = new Listeners<[CallEvent]>();
  readonly #rejected = new Listeners<[RejectedCallEvent]>();
  readonly #states = new Listeners<[ConnectionState, string | undefined]>();
  readonly #messages = new Listeners<[RoomMessage]>();
  readonly #invites = new Listeners<[RoomInvite]>();
  readonly #names = new Listeners<[{ roomId: string; userId: string; displayName: string | undefined }]>();
  #state: ConnectionState = 'idle';
  #client: MatrixClient | undefined;
  #reconnectPoll: NodeJS.Timeout | undefined;
  #startedAt = 0;
  readonly #timelines = new TimelineTrimmer();
  /** Rooms told that the edge cannot read encrypted events (once each). */
  readonly #encryptedRooms = new Set<string>();
  #encryptedEvents = 0;
  /** Syncs that skipped events in a room (a "limited" timeline: matrix-js-sdk resets it). */
  #gaps = 0;
  /** Rooms whose live events the edge has been reading (a reset before that is the history before a join, not a gap). */
  readonly #liveRooms = new Set<string>();
  /** Pages back over each gap and delivers its events before the room's later live ones (backfill.ts). */
  #gapFiller: GapFiller<MatrixEvent> | undefined;

  constructor(options: MatrixBotOptions) {
    this.#options = options;
    this.#log = options.logger.child({ peer: 'matrix', homeserver: redactUrl(options.homeserverUrl), userId: options.userId });
    silenceSdkGlobalLogger();
  }

  get state(): ConnectionState {
    return this.#state;
  }

  get userId(): string {
    return this.#options.userId;
  }

  isEdgeUser(userId: string): boolean {
    return userId === this.#options.userId;
  }

  /** Room events held in memory (live timelines), dropped from them since start, encrypted ones the edge could not read, syncs with a gap (and how many were back-filled). */
  timelineStats(): TimelineStats {
    const g = this.#gapFiller?.counts() ?? { filled: 0, unfilled: 0, events: 0 };
    return { retained: retainedEvents(this.#client?.getRooms() ?? []), dropped: this.#timelines.dropped, encrypted: this.#encryptedEvents, gaps: this.#gaps, gapsFilled: g.filled, gapsUnfilled: g.unfilled, backfilledEvents: g.events };
  }

  onCallEvent(fn: (event: CallEvent) => unknown): () => void {
    return this.#callEvents.add(fn);
  }

  /** A call event that failed validation (the call layer answers it). */
  onRejectedCallEvent(fn: (info: RejectedCallEvent) => void): () => void {
    return this.#rejected.add(fn);
  }

  onState(fn: (state: ConnectionState, reason: string | undefined) => void): () => void {
    return this.#states.add(fn);
  }

  /** A text message in a room (commands such as !dial, !dtmf). */
  onRoomMessage(fn: (message: RoomMessage) => void): () => void {
    return this.#messages.add(fn);
  }

  /** The edge's user was invited to a room. */
  onInvite(fn: (invite: RoomInvite) => void): () => void {
    return this.#invites.add(fn);
  }

  /** A member's display name changed. */
  onDisplayNameChange(fn: (change: { roomId: string; userId: string; displayName: string | undefined }) => void): () => void {
    return this.#names.add(fn);
  }

  async joinRoom(roomId: string): Promise<void> {
    await withDeadline(this.#requireClient().joinRoom(roomId), this.#options.requestTimeoutMs, 'join');
  }

  /** A bot leaves invitations it will not take pending (as before): nothing is sent. */
  async declineInvite(): Promise<void> {}

  async ringingRoom(target: { readonly room: string } | { readonly user: string }): Promise<RingingRoom> {
    const roomId = 'room' in target ? target.room : await this.directRoomWith(target.user);
    return { roomId, speaker: undefined, noticeFrom: undefined };
  }

  /**
   * The edge's DM with a user: a joined room of two where the other member
   * is that user (joined or invited), else a new one (is_direct, invited).
   */
  async directRoomWith(userId: string): Promise<string> {
    const client = this.#requireClient();
    for (const room of client.getRooms()) {
      if (room.getMyMembership() !== 'join') continue;
      const others = room.getMembers().filter((m) => m.userId !== this.#options.userId && (m.membership === 'join' || m.membership === 'invite'));
      if (others.length === 1 && others[0]?.userId === userId) return room.roomId;
    }
    const created = await withDeadline(
      client.createRoom({ is_direct: true, invite: [userId], preset: 'trusted_private_chat' as never }),
      this.#options.requestTimeoutMs,
      'createRoom',
    );
    this.#log.info({ room: created.room_id, user: userId }, 'created a DM to ring');
    return created.room_id;
  }

  /** What the room says about a user and itself: power level, display name, linked number. */
  async roomFacts(roomId: string, userId: string): Promise<RoomFacts> {
    const room = this.#client?.getRoom(roomId) ?? null;
    if (room === null) return { powerLevel: 0, displayName: undefined, destination: undefined, speaker: undefined, noticeFrom: undefined };
    const state = room.currentState;
    const levels: unknown = state.getStateEvents('m.room.power_levels', '')?.getContent();
    const destination = parseDestinationState(state.getStateEvents(DESTINATION_STATE_TYPE, '')?.getContent());
    return { powerLevel: powerLevelOf(levels, userId), displayName: room.getMember(userId)?.rawDisplayName, destination, speaker: undefined, noticeFrom: undefined };
  }

  async start(): Promise<void> {
    if (this.#state !== 'idle') return;
    this.#setState('connecting', undefined);
    const accessToken = await this.#accessToken();
    const client = createClient({
      baseUrl: this.#options.homeserverUrl,
      userId: this.#options.userId,
      accessToken,
      deviceId: this.#options.deviceId,
      localTimeoutMs: this.#options.requestTimeoutMs,
      logger: sdkLogger(this.#log),
    });
    this.#client = client;
    this.#startedAt = Date.now();
    const gapFiller = new GapFiller<MatrixEvent>({
      fetchPage: messagesFetcher(client),
      deliver: (roomId, event) => this.#onTimelineEvent(event, roomId),
      fromGap: (roomId, event) => new MatrixEvent({ ...event, room_id: roomId }),
      idOf: (event) => event.getId(),
      log: this.#log,
      requestTimeoutMs: this.#options.requestTimeoutMs,
      notBefore: this.#startedAt,
    });
    this.#gapFiller = gapFiller;
    client.on(ClientEvent.Sync, (state: SyncState, _prev: SyncState | null, data?: { error?: Error }) => this.#onSync(state, data?.error));
    client.on(RoomEvent.Timeline, (event: MatrixEvent, room: Room | undefined, toStartOfTimeline: boolean | undefined) => {
      if (toStartOfTimeline || room === undefined) return;
      this.#timelines.touch(room);
      this.#liveRooms.add(room.roomId);
      gapFiller.live(room.roomId, event);
    });
    client.on(RoomEvent.TimelineReset, (room: Room | undefined) => {
      // The edge's own trims reset timelines too; any other reset is a sync that skipped events.
      if (room === undefined || this.#timelines.trimming || !this.#liveRooms.has(room.roomId)) return;
      this.#gaps += 1;
      this.#log.warn({ room: room.roomId }, 'a sync skipped events in this room (limited timeline): paging back over the gap');
      gapFiller.gap(room.roomId, room.getLiveTimeline().getPaginationToken(EventTimeline.BACKWARDS));
    });
    client.on(RoomMemberEvent.Membership, (event: MatrixEvent, member: RoomMember) => {
      if (member.userId === this.#options.userId && member.membership === 'invite') {
        this.#invites.emit({ roomId: member.roomId, inviter: event.getSender(), invitee: this.#options.userId });
      }
    });
    // Up to SYNC_TIMELINE_LIMIT events per room per sync (Synapse's default is 10): a slow edge, or
    // one back from a homeserver outage, gets a whole burst of call events instead of a gap.
    const filter = new Filter(this.#options.userId);
    filter.setDefinition({ room: { timeline: { limit: SYNC_TIMELINE_LIMIT } } });
    await client.startClient({ initialSyncLimit: 0, pollTimeout: this.#options.syncTimeoutMs, lazyLoadMembers: true, filter });
  }

  /** Send a room event; the transaction id makes a retry idempotent. */
  async sendEvent(roomId: string, type: string, content: Record<string, unknown>): Promise<string> {
    const client = this.#requireClient();
    const res = await withDeadline(
      // The sdk's typed overloads cover only known event types; call events are sent as generic content.
      (client.sendEvent as unknown as (r: string, t: string, c: Record<string, unknown>) => Promise<{ event_id: string }>)(roomId, type, content),
      this.#options.requestTimeoutMs,
      `send ${type}`,
    );
    return res.event_id;
  }

  /**
   * One PUT of a kept send, with its own transaction id, judged for the
   * outbox by HTTP status whatever the error's class (send-errors.ts):
   * network errors, timeouts, 5xx and 429 are worth a retry (with the same
   * id); any other 4xx is final.
   */
  async put(send: PendingSend): Promise<SendResult> {
    const client = this.#client;
    if (client === undefined) return { ok: false, retry: true, retryAfterMs: undefined, reason: 'the Matrix client is not started' };
    const path = `/rooms/${encodeURIComponent(send.roomId)}/send/${encodeURIComponent(send.type)}/${encodeURIComponent(send.txnId)}`;
    try {
      const res = await withDeadline(client.http.authedRequest<{ event_id?: unknown }>(Method.Put, path, undefined, { ...send.content }), this.#options.requestTimeoutMs, `send ${send.type}`);
      return { ok: true, eventId: typeof res.event_id === 'string' ? res.event_id : '' };
    } catch (err) {
      return judgeSendError(err);
    }
  }

  async sendNotice(roomId: string, body: string): Promise<string> {
    return this.sendEvent(roomId, 'm.room.message', { msgtype: 'm.notice', body });
  }

  async whoami(): Promise<string> {
    const res = await withDeadline(this.#requireClient().whoami(), this.#options.requestTimeoutMs, 'whoami');
    return res.user_id;
  }

  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    const client = this.#client;
    this.#client = undefined;
    this.#setState('stopped', undefined);
    this.#gapFiller?.stop();
    if (client) {
      client.stopClient();
      client.removeAllListeners();
      client.http.abort();
    }
    this.#timelines.forget();
    this.#callEvents.clear();
    this.#rejected.clear();
    this.#messages.clear();
    this.#invites.clear();
    this.#names.clear();
    this.#states.clear();
  }

  #requireClient(): MatrixClient {
    if (this.#client === undefined) throw new MatrixError('the Matrix client is not started');
    return this.#client;
  }

  async #accessToken(): Promise<string> {
    if (this.#options.accessToken) return this.#options.accessToken.reveal();
    if (!this.#options.password) throw new MatrixError('no matrix.access_token and no matrix.password');
    const tmp = createClient({ baseUrl: this.#options.homeserverUrl, localTimeoutMs: this.#options.requestTimeoutMs, logger: sdkLogger(this.#log) });
    try {
      const res = await tmp.loginRequest({
        type: 'm.login.password',
        identifier: { type: 'm.id.user', user: this.#options.userId },
        password: this.#options.password.reveal(),
        device_id: this.#options.deviceId,
        initial_device_display_name: 'matrix-sip-edge',
      });
      return res.access_token;
    } catch (err) {
      throw new MatrixError(`login as ${this.#options.userId} failed: ${(err as Error).message}`);
    } finally {
      tmp.stopClient();
    }
  }

  #setState(state: ConnectionState, reason: string | undefined): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#pollWhileReconnecting(state === 'reconnecting');
    this.#states.emit(state, reason);
  }

  /**
   * matrix-js-sdk probes a homeserver it lost every 2-7 s (random, after each
   * failed probe): events sent meanwhile wait that long once it is back, and
   * a process killed in that window never sees them. While reconnecting, the
   * edge asks for a probe every second instead (one GET /versions).
   */
  #pollWhileReconnecting(on: boolean): void {
    clearInterval(this.#reconnectPoll);
    this.#reconnectPoll = undefined;
    if (on) this.#reconnectPoll = setInterval(() => this.#client?.retryImmediately(), RECONNECT_PROBE_MS);
  }

  #onSync(state: SyncState, error: Error | undefined): void {
    if (this.#state === 'stopped') return;
    if (state === SyncState.Prepared || state === SyncState.Syncing) {
      // The sync response is processed: history the edge never reads can go.
      this.#timelines.trim();
      // A room joined at a processed sync is read live from now on: a later limited timeline in it is a gap.
      for (const room of this.#client?.getRooms() ?? []) if (room.getMyMembership() === 'join') this.#liveRooms.add(room.roomId);
      if (this.#state !== 'connected') this.#log.info({ state: 'connected' }, 'Matrix connected');
      this.#setState('connected', undefined);
    } else if (state === SyncState.Error || state === SyncState.Reconnecting) {
      const reason = error?.message ?? `sync ${state.toLowerCase()}`;
      if (this.#state === 'connected') this.#log.warn({ reason }, 'Matrix sync lost');
      this.#setState('reconnecting', reason);
    } else if (state === SyncState.Stopped) {
      this.#setState('stopped', 'sync stopped');
    }
  }

  #onTimelineEvent(event: MatrixEvent, roomId: string): void {
    const type = event.getType();
    if (type === 'm.room.member') {
      const c = event.getContent();
      const prev = event.getPrevContent();
      const userId = event.getStateKey();
      if (userId !== undefined && c['membership'] === 'join' && prev['membership'] === 'join' && c['displayname'] !== prev['displayname']) {
        this.#names.emit({ roomId, userId, displayName: typeof c['displayname'] === 'string' ? c['displayname'] : undefined });
      }
      return;
    }
    if (type === 'm.room.message') {
      const content = event.getContent();
      const sender = event.getSender();
      if (sender !== undefined && sender !== this.#options.userId && content['msgtype'] === 'm.text' && typeof content['body'] === 'string') {
        this.#messages.emit({ roomId, sender, body: content['body'], eventId: event.getId() ?? '' });
      }
      return;
    }
    if (type === 'm.room.encrypted') {
      this.#onEncrypted(event, roomId);
      return;
    }
    if (!isCallEventType(type)) return;
    const sender = event.getSender();
    const eventId = event.getId();
    if (sender === undefined || eventId === undefined || sender === this.#options.userId) return;
    const unsignedAge = event.getUnsigned().age;
    const ageMs = typeof unsignedAge === 'number' ? unsignedAge : undefined;
    // Events from before this process started are history, not live calls.
    if (event.getTs() < this.#startedAt - 5 * 60_000 && ageMs === undefined) return;
    const content: unknown = event.getContent();
    const parsed = parseCallEvent(type, { roomId, sender, eventId, ageMs }, content);
    if (parsed.ok) this.#callEvents.emit(parsed.event);
    else {
      this.#log.warn({ roomId, sender, type, reason: parsed.reason }, 'refused a malformed call event');
      this.#rejected.emit({ roomId, sender, type, reason: parsed.reason, content });
    }
  }

  /** The edge has no end-to-end encryption: say so (log, count, one notice per room) rather than drop calls and commands unseen. */
  #onEncrypted(event: MatrixEvent, roomId: string): void {
    const sender = event.getSender();
    if (sender === undefined || sender === this.#options.userId) return;
    this.#encryptedEvents += 1;
    if (this.#encryptedRooms.has(roomId)) return;
    this.#encryptedRooms.add(roomId);
    this.#log.warn({ room: roomId, sender }, 'an encrypted event: the edge cannot read calls or commands in encrypted rooms');
    this.sendNotice(roomId, 'This room is end-to-end encrypted, and the phone bridge cannot read encrypted calls or messages. Call from a room without encryption.').catch((err: Error) =>
      this.#log.warn({ room: roomId, err: err.message }, 'could not post the encryption notice'),
    );
  }
}
