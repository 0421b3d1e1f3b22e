// GET /sync, computed from the global event stream (traces/real/synapse-01, -04, -05, -07):
// - initial sync: joined rooms with the last `limit` events, `state` = state at the start of
//   the timeline, invites with stripped state; account_data (push rules) and own presence;
// - incremental: events in (since, now]; a gap larger than the limit gives limited: true and
//   the skipped state changes in `state`; a newly joined room comes with its history, limited,
//   and (Synapse quirk, synapse-01) the user's own join event twice;
// - empty top-level sections are omitted; next_batch stays `since` when nothing is new.
import type { SyncFilter } from './filter.ts';
import { inviteRoomState, syncEvent } from './format.ts';
import { defaultPushRules, NOTIFYING_TYPES } from './pushrules.ts';
import type { Room, Store } from './store.ts';
import { streamToken, topologicalToken } from './stream.ts';
import type { JsonObject, StoredEvent } from './types.ts';

export interface SyncViewer {
  readonly userId: string;
  readonly tokenId: string;
  readonly hasDevice: boolean;
}

export interface SyncOptions {
  /** Reproduce Synapse 1.67's duplicated own join event in the first sync after joining. */
  readonly duplicateJoinQuirk: boolean;
}

function membershipAt(room: Room, userId: string, pos: number): { membership: string | undefined; event: StoredEvent | undefined } {
  let event: StoredEvent | undefined;
  for (const ev of room.timeline) {
    if (ev.streamPos > pos) break;
    if (ev.type === 'm.room.member' && ev.stateKey === userId) event = ev;
  }
  const m = event?.content['membership'];
  return { membership: typeof m === 'string' ? m : undefined, event };
}

/** Latest state event per (type, state_key) among `events`, in stream order. */
function latestState(events: readonly StoredEvent[]): StoredEvent[] {
  const byKey = new Map<string, StoredEvent>();
  for (const ev of events) if (ev.stateKey !== undefined) byKey.set(`${ev.type}\u0000${ev.stateKey}`, ev);
  return [...byKey.values()].sort((a, b) => a.streamPos - b.streamPos);
}

function notificationCount(room: Room, userId: string, upTo: number): number {
  let count = 0;
  let joined = false;
  for (const ev of room.timeline) {
    if (ev.streamPos > upTo) break;
    if (ev.type === 'm.room.member' && ev.stateKey === userId) joined = ev.content['membership'] === 'join';
    else if (joined && ev.sender !== userId && NOTIFYING_TYPES.has(ev.type)) count++;
  }
  return count;
}

interface Section {
  readonly timeline: StoredEvent[];
  readonly limited: boolean;
  readonly state: StoredEvent[];
  readonly prevBatch: string;
}

function joinedRoom(s: Section, room: Room, viewer: SyncViewer, upTo: number): JsonObject {
  const now = Date.now();
  return {
    timeline: {
      events: s.timeline.map((e) => syncEvent(e, viewer.tokenId, now)),
      prev_batch: s.prevBatch,
      limited: s.limited,
    },
    state: { events: s.state.map((e) => syncEvent(e, viewer.tokenId, now)) },
    account_data: { events: [] },
    ephemeral: { events: [] },
    unread_notifications: { notification_count: notificationCount(room, viewer.userId, upTo), highlight_count: 0 },
    summary: {},
  };
}

/** Timeline = last `limit` events of `events`; state = state from `before` plus skipped state. */
function section(history: readonly StoredEvent[], fromIndex: number, limit: number, topological: boolean): Section {
  const start = Math.max(fromIndex, history.length - limit);
  const timeline = history.slice(start);
  const first = timeline[0];
  const prevPos = first === undefined ? (history.at(-1)?.streamPos ?? 0) : first.streamPos - 1;
  return {
    timeline,
    limited: start > fromIndex,
    state: latestState(history.slice(fromIndex, start)),
    prevBatch: topological ? topologicalToken(start + 1, prevPos) : streamToken(prevPos),
  };
}

export interface SyncResult {
  readonly body: JsonObject;
  readonly hasUpdates: boolean;
}

export function computeSync(
  store: Store,
  viewer: SyncViewer,
  since: number | undefined,
  filter: SyncFilter,
  opts: SyncOptions,
): SyncResult {
  const upTo = store.currentPos;
  const join: JsonObject = {};
  const invite: JsonObject = {};
  const leave: JsonObject = {};
  const now = Date.now();
  for (const room of store.rooms.values()) {
    if (filter.rooms !== undefined && !filter.rooms.includes(room.roomId)) continue;
    const history = room.timeline.filter((e) => e.streamPos <= upTo);
    const after = membershipAt(room, viewer.userId, upTo);
    const before = since === undefined ? { membership: undefined, event: undefined } : membershipAt(room, viewer.userId, since);
    const inRange = since === undefined ? 0 : history.findIndex((e) => e.streamPos > since);
    if (after.membership === 'join') {
      if (since === undefined) {
        join[room.roomId] = joinedRoom(section(history, 0, filter.timelineLimit, true), room, viewer, upTo);
      } else if (before.membership !== 'join') {
        const s = section(history, 0, filter.timelineLimit, false);
        const timeline = [...s.timeline];
        const own = after.event;
        const at = own === undefined ? -1 : timeline.indexOf(own);
        if (opts.duplicateJoinQuirk && own !== undefined && at >= 0) timeline.splice(at, 0, own);
        join[room.roomId] = joinedRoom({ ...s, timeline, limited: true }, room, viewer, upTo);
      } else if (inRange >= 0) {
        join[room.roomId] = joinedRoom(section(history, inRange, filter.timelineLimit, false), room, viewer, upTo);
      }
    } else if (after.membership === 'invite' && after.event !== undefined) {
      if (since === undefined || after.event.streamPos > since) {
        const stripped = inviteRoomState(store, room.roomId, after.event.sender);
        invite[room.roomId] = { invite_state: { events: [...stripped, syncEvent(after.event, viewer.tokenId, now)] } };
      }
    } else if (since !== undefined && after.event !== undefined && after.event.streamPos > since && (before.membership === 'join' || before.membership === 'invite')) {
      const upToLeave = history.filter((e) => e.streamPos <= (after.event?.streamPos ?? 0));
      const s = section(upToLeave, Math.max(0, inRange), filter.timelineLimit, false);
      leave[room.roomId] = {
        timeline: { events: s.timeline.map((e) => syncEvent(e, viewer.tokenId, now)), prev_batch: s.prevBatch, limited: s.limited },
        state: { events: s.state.map((e) => syncEvent(e, viewer.tokenId, now)) },
        account_data: { events: [] },
      };
    }
  }
  const rooms: JsonObject = {};
  if (Object.keys(join).length > 0) rooms['join'] = join;
  if (Object.keys(invite).length > 0) rooms['invite'] = invite;
  if (Object.keys(leave).length > 0) rooms['leave'] = leave;
  const hasUpdates = Object.keys(rooms).length > 0;
  const body: JsonObject = { next_batch: streamToken(hasUpdates || since === undefined ? upTo : since) };
  if (since === undefined && filter.accountData) {
    body['account_data'] = { events: [{ type: 'm.push_rules', content: defaultPushRules(viewer.userId) }] };
  }
  if (since === undefined && filter.presence) {
    body['presence'] = {
      events: [{ type: 'm.presence', sender: viewer.userId, content: { presence: 'online', last_active_ago: 0, currently_active: true } }],
    };
  }
  body['device_one_time_keys_count'] = viewer.hasDevice ? { signed_curve25519: 0 } : {};
  body['org.matrix.msc2732.device_unused_fallback_key_types'] = [];
  body['device_unused_fallback_key_types'] = [];
  if (hasUpdates) body['rooms'] = rooms;
  return { body, hasUpdates };
}
