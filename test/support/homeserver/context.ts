// Everything a route handler needs, built once per simulator.
import type { AppservicePusher } from './appservice.ts';
import type { AsReply, AsRequestSpec } from './as-client.ts';
import { authenticate } from './auth.ts';
import type { HsRequest } from './http.ts';
import type { RateLimiter } from './ratelimit.ts';
import type { Registration } from './registration.ts';
import type { RoomService } from './rooms.ts';
import type { Store } from './store.ts';
import type { SyncControl } from './sync-control.ts';
import type { Requester } from './types.ts';

export interface HsContext {
  readonly store: Store;
  readonly rooms: RoomService;
  readonly appservices: Registration[];
  readonly pushers: AppservicePusher[];
  readonly loginLimiter: RateLimiter;
  readonly duplicateJoinQuirk: boolean;
  /** Longest a /sync long-poll may wait, whatever the client asks. */
  readonly maxSyncTimeoutMs: number;
  /** Holds on users' /sync and the timeline limit cap (test API). */
  readonly syncControl: SyncControl;
  /** A request from the homeserver to an appservice (third-party lookups). */
  readonly askAppservice: (reg: Registration, spec: AsRequestSpec, extraQuery?: string) => Promise<AsReply>;
}

export const requester = (ctx: HsContext, req: HsRequest): Requester => authenticate(req, ctx.store, ctx.appservices);

export function param(req: HsRequest, index: number): string {
  const v = req.params[index];
  if (v === undefined) throw new Error(`route parameter ${index} missing`);
  return v;
}
