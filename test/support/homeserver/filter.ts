// The parts of a /sync filter the simulator honours: room.rooms, room.timeline.limit,
// presence.types = [] and account_data.types = [] (sections off).
import { z } from 'zod';
import { errors } from './errors.ts';
import type { Store } from './store.ts';
import type { JsonObject } from './types.ts';

const typesList = z.object({ types: z.array(z.string()).optional() }).optional();
const filterSchema = z.object({
  room: z
    .object({
      rooms: z.array(z.string()).optional(),
      timeline: z.object({ limit: z.number().int().nonnegative().optional() }).optional(),
    })
    .optional(),
  presence: typesList,
  account_data: typesList,
});

export interface SyncFilter {
  readonly timelineLimit: number;
  readonly rooms: readonly string[] | undefined;
  readonly presence: boolean;
  readonly accountData: boolean;
}

export const DEFAULT_TIMELINE_LIMIT = 10;

export function toSyncFilter(raw: unknown): SyncFilter {
  const r = filterSchema.safeParse(raw);
  if (!r.success) throw errors.badJson(r.error.issues[0]?.message ?? 'invalid filter');
  const f = r.data;
  return {
    timelineLimit: f.room?.timeline?.limit ?? DEFAULT_TIMELINE_LIMIT,
    rooms: f.room?.rooms,
    presence: !(f.presence?.types !== undefined && f.presence.types.length === 0),
    accountData: !(f.account_data?.types !== undefined && f.account_data.types.length === 0),
  };
}

/** `filter` query parameter: inline JSON (starts with '{') or an uploaded filter id. */
export function resolveFilter(store: Store, userId: string, param: string | null): SyncFilter {
  if (param === null) return toSyncFilter({});
  if (param.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(param);
    } catch {
      throw errors.notJson();
    }
    return toSyncFilter(parsed);
  }
  const stored: JsonObject | undefined = store.filter(userId, param);
  if (stored === undefined) throw errors.invalidParam('Invalid filter ID');
  return toSyncFilter(stored);
}
