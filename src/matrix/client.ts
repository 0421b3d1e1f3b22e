import { ClientEvent, createClient, RoomEvent, SyncState, type MatrixClient, type MatrixEvent, type Room } from 'matrix-js-sdk';
import { logger as sdkGlobalLogger } from 'matrix-js-sdk/lib/logger.js';
import type { Logger } from '../log/logger.ts';
import type { Secret } from '../config/secret.ts';
import { Listeners, type ConnectionState } from '../net/connection-state.ts';
import { withDeadline } from '../net/deadline.ts';
import { isCallEventType, parseCallEvent, type CallEvent } from './call-events.ts';

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

export class MatrixError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MatrixError';
  }
}

/** matrix-js-sdk's own global logger writes to the console; the edge logs through pino only. */
function silenceSdkGlobalLogger(): void {
  const l = sdkGlobalLogger as unknown as { setLevel?: (level: string) => void };
  l.setLevel?.('silent');
}

/** The sdk's per-client logger, forwarded to pino at debug level (no secrets: tokens travel in headers). */
function sdkLogger(log: Logger) {
  const fwd = (level: 'debug' | 'warn') => (...msg: unknown[]) => log[level]({ sdk: msg.map((m) => (m instanceof Error ? m.message : String(m))).join(' ').slice(0, 500) }, 'matrix-js-sdk');
  const l = {
    trace: () => undefined,
    debug: () => undefined,
    info: fwd('debug'),
    warn: fwd('debug'),
    error: fwd('warn'),
    getChild: () => l,
  };
  return l;
}

/**
 * Bot-mode Matrix client: logs in (token or password), long-polls /sync
 * through matrix-js-sdk, delivers m.call.* events validated, and sends
 * events with transaction ids (the sdk retries them idempotently).
 */
export class MatrixBot {
  readonly #options: MatrixBotOptions;
  readonly #log: Logger;
  readonly #callEvents = new Listeners<[CallEvent]>();
  readonly #rejected = new Listeners<[{ roomId: string; sender: string; type: string; reason: string; content: unknown }]>();
  readonly #states = new Listeners<[ConnectionState, string | undefined]>();
  #state: ConnectionState = 'idle';
  #client: MatrixClient | undefined;
  #startedAt = 0;

  constructor(options: MatrixBotOptions) {
    this.#options = options;
    this.#log = options.logger.child({ peer: 'matrix', homeserver: options.homeserverUrl, userId: options.userId });
    silenceSdkGlobalLogger();
  }

  get state(): ConnectionState {
    return this.#state;
  }

  onCallEvent(fn: (event: CallEvent) => void): () => void {
    return this.#callEvents.add(fn);
  }

  /** A call event that failed validation (the call layer answers it). */
  onRejectedCallEvent(fn: (info: { roomId: string; sender: string; type: string; reason: string; content: unknown }) => void): () => void {
    return this.#rejected.add(fn);
  }

  onState(fn: (state: ConnectionState, reason: string | undefined) => void): () => void {
    return this.#states.add(fn);
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
    client.on(ClientEvent.Sync, (state: SyncState, _prev: SyncState | null, data?: { error?: Error }) => this.#onSync(state, data?.error));
    client.on(RoomEvent.Timeline, (event: MatrixEvent, room: Room | undefined, toStartOfTimeline: boolean | undefined) => {
      if (toStartOfTimeline || room === undefined) return;
      this.#onTimelineEvent(event, room.roomId);
    });
    await client.startClient({ initialSyncLimit: 0, pollTimeout: this.#options.syncTimeoutMs, lazyLoadMembers: true });
  }

  /** Send a room event; the transaction id makes a retry idempotent. */
  async sendEvent(roomId: string, type: string, content: Record<string, unknown>, txnId?: string): Promise<string> {
    const client = this.#requireClient();
    const res = await withDeadline(
      // The sdk's typed overloads cover only known event types; call events are sent as generic content.
      (client.sendEvent as unknown as (r: string, t: string, c: Record<string, unknown>, x?: string) => Promise<{ event_id: string }>)(roomId, type, content, txnId),
      this.#options.requestTimeoutMs,
      `send ${type}`,
    );
    return res.event_id;
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
    if (client) {
      client.stopClient();
      client.removeAllListeners();
      client.http.abort();
    }
    this.#callEvents.clear();
    this.#rejected.clear();
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
    this.#states.emit(state, reason);
  }

  #onSync(state: SyncState, error: Error | undefined): void {
    if (this.#state === 'stopped') return;
    if (state === SyncState.Prepared || state === SyncState.Syncing) {
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
}
