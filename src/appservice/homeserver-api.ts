// The edge's requests to the homeserver as an application service: the
// as_token on every request, `?user_id=` to act as a ghost (traces/real/
// synapse-02, -05), over a keep-alive JSON client (json-http.ts), without
// a /sync: in appservice mode every event comes from the homeserver's
// transactions.
import type { Logger } from '../log/logger.ts';
import type { Secret } from '../config/secret.ts';
import type { SendResult } from '../matrix/outbox.ts';
import { judgeSendError } from '../matrix/send-errors.ts';
import { JsonHttp } from './json-http.ts';

export interface HomeserverApiOptions {
  readonly homeserverUrl: string;
  readonly asToken: Secret;
  /** The bridge bot (sender_localpart): requests without `as` act as it. */
  readonly botUserId: string;
  readonly requestTimeoutMs: number;
  readonly logger: Logger;
}

export const Method = { Get: 'GET', Put: 'PUT', Post: 'POST' } as const;
type Method = (typeof Method)[keyof typeof Method];

/** A refusal the homeserver gave (status and errcode), or a failure to reach it (status 0). */
export class HomeserverError extends Error {
  readonly status: number;
  readonly errcode: string | undefined;
  readonly retryAfterMs: number | undefined;
  constructor(what: string, status: number, errcode: string | undefined, detail: string, retryAfterMs?: number) {
    super(`${what}: ${status === 0 ? detail : `${status} ${errcode ?? ''} ${detail}`.trim()}`);
    this.name = 'HomeserverError';
    this.status = status;
    this.errcode = errcode;
    this.retryAfterMs = retryAfterMs;
  }

  /** As send-errors.ts reads a failure: the HTTP status, when one came. */
  get httpStatus(): number | undefined {
    return this.status === 0 ? undefined : this.status;
  }

  getRetryAfterMs(): number | undefined {
    return this.retryAfterMs;
  }
}

const CLIENT = '_matrix/client/v3';

export class HomeserverApi {
  readonly #http: JsonHttp;
  readonly #options: HomeserverApiOptions;

  constructor(options: HomeserverApiOptions) {
    this.#options = options;
    this.#http = new JsonHttp(options.homeserverUrl, options.asToken.reveal(), options.requestTimeoutMs);
  }

  async request<T>(what: string, method: Method, path: string, as: string | undefined, body?: Record<string, unknown>, query: Record<string, string> = {}): Promise<T> {
    const params = as === undefined || as === this.#options.botUserId ? query : { ...query, user_id: as };
    let answer;
    try {
      answer = await this.#http.call(method, `${CLIENT}${path}`, params, body);
    } catch (err) {
      throw new HomeserverError(what, 0, undefined, (err as Error).message);
    }
    if (answer.status >= 200 && answer.status < 300) return answer.body as T;
    const b = (typeof answer.body === 'object' && answer.body !== null ? answer.body : {}) as { errcode?: unknown; error?: unknown; retry_after_ms?: unknown };
    const retryAfterMs = typeof b.retry_after_ms === 'number' ? b.retry_after_ms : answer.retryAfterMs;
    throw new HomeserverError(what, answer.status, typeof b.errcode === 'string' ? b.errcode.slice(0, 64) : undefined, typeof b.error === 'string' ? b.error.slice(0, 200) : '', retryAfterMs);
  }

  /** Register a ghost; one already registered (M_USER_IN_USE) is fine. */
  async register(localpart: string): Promise<void> {
    try {
      await this.request('register', Method.Post, '/register', undefined, { type: 'm.login.application_service', username: localpart, inhibit_login: true });
    } catch (err) {
      if (err instanceof HomeserverError && err.errcode === 'M_USER_IN_USE') return;
      throw err;
    }
  }

  async setDisplayName(userId: string, displayName: string): Promise<void> {
    await this.request('set display name', Method.Put, `/profile/${encodeURIComponent(userId)}/displayname`, userId, { displayname: displayName });
  }

  async join(roomId: string, as: string | undefined): Promise<void> {
    await this.request('join', Method.Post, `/join/${encodeURIComponent(roomId)}`, as, {});
  }

  async leave(roomId: string, as: string | undefined, reason: string): Promise<void> {
    await this.request('leave', Method.Post, `/rooms/${encodeURIComponent(roomId)}/leave`, as, { reason });
  }

  async invite(roomId: string, userId: string, as: string | undefined): Promise<void> {
    await this.request('invite', Method.Post, `/rooms/${encodeURIComponent(roomId)}/invite`, as, { user_id: userId });
  }

  /** A new DM from `as` with `userId` (is_direct, trusted_private_chat): the room id. */
  async createDirectRoom(as: string, userId: string, name: string | undefined): Promise<string> {
    const res = await this.request<{ room_id?: unknown }>('createRoom', Method.Post, '/createRoom', as, {
      is_direct: true,
      invite: [userId],
      preset: 'trusted_private_chat',
      ...(name === undefined ? {} : { name }),
    });
    if (typeof res.room_id !== 'string') throw new HomeserverError('createRoom', 200, undefined, 'the answer had no room_id');
    return res.room_id;
  }

  /** The room's current state, read as `as` (who must be in the room). */
  async roomState(roomId: string, as: string | undefined): Promise<unknown> {
    return this.request<unknown>('room state', Method.Get, `/rooms/${encodeURIComponent(roomId)}/state`, as);
  }

  async joinedRooms(as: string | undefined): Promise<readonly string[]> {
    const res = await this.request<{ joined_rooms?: unknown }>('joined rooms', Method.Get, '/joined_rooms', as);
    return Array.isArray(res.joined_rooms) ? res.joined_rooms.filter((r): r is string => typeof r === 'string') : [];
  }

  async whoami(): Promise<string> {
    const res = await this.request<{ user_id?: unknown }>('whoami', Method.Get, '/account/whoami', undefined);
    if (typeof res.user_id !== 'string') throw new HomeserverError('whoami', 200, undefined, 'the answer had no user_id');
    return res.user_id;
  }

  /** One PUT /send with its transaction id, judged for the outbox as in bot mode (src/matrix/send-errors.ts). */
  async put(roomId: string, type: string, txnId: string, content: Record<string, unknown>, as: string | undefined): Promise<SendResult> {
    try {
      const res = await this.request<{ event_id?: unknown }>(`send ${type}`, Method.Put, `/rooms/${encodeURIComponent(roomId)}/send/${encodeURIComponent(type)}/${encodeURIComponent(txnId)}`, as, content);
      return { ok: true, eventId: typeof res.event_id === 'string' ? res.event_id : '' };
    } catch (err) {
      return judgeSendError(err);
    }
  }

  stop(): void {
    this.#http.close();
  }
}
