// GET /sync: long-poll that answers as soon as something for this user arrives, or after
// `timeout` ms with nothing (same next_batch). A held user's request is not answered until
// the hold is released (test API holdSync). Every wait ends when the simulator stops.
import { requester, type HsContext } from '../context.ts';
import { errors } from '../errors.ts';
import { resolveFilter } from '../filter.ts';
import { ok, type HsResponse } from '../http.ts';
import { route, type Route } from '../router.ts';
import { parseToken } from '../stream.ts';
import { computeSync } from '../sync.ts';

export function syncRoutes(ctx: HsContext): Route[] {
  return [
    route('GET', 'C/sync', async (req): Promise<HsResponse> => {
      const r = requester(ctx, req);
      // "We no longer support AS users using /sync directly" (traces/real/synapse-05 call 1).
      if (r.isAppserviceSender) throw errors.internal();
      const sinceRaw = req.query.get('since');
      const since = sinceRaw === null ? undefined : parseToken(sinceRaw);
      if (sinceRaw !== null && since === undefined) throw errors.invalidStreamToken();
      const timeoutRaw = Number(req.query.get('timeout') ?? '0');
      const timeout = Number.isFinite(timeoutRaw) && timeoutRaw > 0 ? Math.min(timeoutRaw, ctx.maxSyncTimeoutMs) : 0;
      const asked = resolveFilter(ctx.store, r.userId, req.query.get('filter'));
      const viewer = { userId: r.userId, tokenId: r.tokenId, hasDevice: r.deviceId !== undefined };
      const opts = { duplicateJoinQuirk: ctx.duplicateJoinQuirk };
      const deadline = Date.now() + timeout;
      const sincePos = since === undefined ? undefined : Math.min(since, ctx.store.currentPos);
      for (;;) {
        await ctx.syncControl.whileHeld(r.userId);
        // The cap as it is now (a test may change it while a long-poll waits).
        const filter = { ...asked, timelineLimit: ctx.syncControl.clampLimit(asked.timelineLimit) };
        const result = computeSync(ctx.store, viewer, sincePos, filter, opts);
        const left = deadline - Date.now();
        if (sincePos === undefined || result.hasUpdates || left <= 0 || ctx.store.notifier.isStopped) {
          if (sinceRaw !== null && !result.hasUpdates) result.body['next_batch'] = sinceRaw;
          return ok(result.body);
        }
        await ctx.store.notifier.wait(left);
      }
    }),
  ];
}
