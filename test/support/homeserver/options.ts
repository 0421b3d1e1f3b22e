// Options of startHomeserverSimulator and their defaults.
import type { AppserviceApi } from './as-client.ts';
import type { RateLimit } from './ratelimit.ts';
import type { JsonObject } from './types.ts';

export interface SimulatorUser {
  readonly localpart: string;
  readonly password?: string;
  readonly displayname?: string;
}

export interface HomeserverSimulatorOptions {
  /** Default 'localhost' (as in the captures). */
  readonly serverName?: string;
  readonly host?: string;
  /** Default 0 (any free port). */
  readonly port?: number;
  /** Users created at start (password login works for them). */
  readonly users?: readonly SimulatorUser[];
  /** Appservice registrations: YAML text (traces/matrix/11) or objects. */
  readonly appservices?: readonly (string | object)[];
  /**
   * How transactions, user queries and third-party queries reach the appservice:
   * 'v1' = current spec and Synapse >= 1.81 (/_matrix/app/v1/..., Authorization: Bearer);
   * 'legacy' = Synapse 1.67 as captured (/transactions/{id}?access_token=, /users/{id},
   * /_matrix/app/unstable/thirdparty/...). Default 'v1'.
   */
  readonly appserviceApi?: AppserviceApi;
  /** First retry delay of a failed transaction (Synapse: 2000 ms, doubling). */
  readonly appserviceRetryBaseMs?: number;
  /** Cap of the retry delay (Synapse: 512 s). */
  readonly appserviceRetryMaxMs?: number;
  readonly appserviceTimeoutMs?: number;
  /**
   * Synapse's default limits apply unless overridden: messages 0.2/s burst 10 per user,
   * logins 0.17/s burst 3 per address. `false` turns a limiter (or all) off.
   */
  readonly rateLimits?: false | { readonly message?: RateLimit | false; readonly login?: RateLimit | false };
  /** Synapse 1.67's duplicated own join event in the first sync after a join. Default true. */
  readonly duplicateJoinQuirk?: boolean;
  /**
   * Upper bound on a /sync filter's room.timeline.limit, as some homeservers clamp what a
   * client asks for (a burst larger than this gives a limited timeline). Default: none.
   */
  readonly timelineLimitCap?: number;
  /** Upper bound for a /sync long-poll. Default 60000. */
  readonly maxSyncTimeoutMs?: number;
  /**
   * Called synchronously as each event is stored, before any client sees it,
   * with the event as events() returns it (the benchmark timestamps arrivals).
   */
  readonly onEventStored?: (event: JsonObject) => void;
}

export const SYNAPSE_MESSAGE_LIMIT: RateLimit = { perSecond: 0.2, burst: 10 };
export const SYNAPSE_LOGIN_LIMIT: RateLimit = { perSecond: 0.17, burst: 3 };

export function limitFor(opts: HomeserverSimulatorOptions, kind: 'message' | 'login'): RateLimit | undefined {
  if (opts.rateLimits === false) return undefined;
  const v = opts.rateLimits?.[kind];
  if (v === false) return undefined;
  return v ?? (kind === 'message' ? SYNAPSE_MESSAGE_LIMIT : SYNAPSE_LOGIN_LIMIT);
}
