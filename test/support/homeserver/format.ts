// Event serialisation per audience, as Synapse 1.67 does it (traces/real/synapse-01, -02, -07):
// - /sync: no room_id; unsigned.age; unsigned.transaction_id only for the sending token;
// - appservice transactions, /messages, /state: room_id plus the legacy top-level
//   copies age, user_id (and prev_content, replaces_state for state changes).
import type { Store } from './store.ts';
import type { JsonObject, StoredEvent } from './types.ts';

function unsignedOf(ev: StoredEvent, now: number): JsonObject {
  const u: JsonObject = {};
  if (ev.replaces !== undefined) {
    u['replaces_state'] = ev.replaces.eventId;
    u['prev_content'] = ev.replaces.content;
    u['prev_sender'] = ev.replaces.sender;
  }
  u['age'] = Math.max(0, now - ev.originServerTs);
  return u;
}

export function syncEvent(ev: StoredEvent, viewerTokenId: string | undefined, now = Date.now()): JsonObject {
  const out: JsonObject = { type: ev.type, sender: ev.sender, content: ev.content };
  if (ev.stateKey !== undefined) out['state_key'] = ev.stateKey;
  out['origin_server_ts'] = ev.originServerTs;
  const unsigned = unsignedOf(ev, now);
  if (ev.txn !== undefined && viewerTokenId !== undefined && ev.txn.tokenId === viewerTokenId) {
    unsigned['transaction_id'] = ev.txn.txnId;
  }
  out['unsigned'] = unsigned;
  out['event_id'] = ev.eventId;
  return out;
}

/** Client event with room_id and the legacy top-level fields (age, user_id, prev_content, replaces_state). */
export function legacyEvent(ev: StoredEvent, now = Date.now()): JsonObject {
  const unsigned = unsignedOf(ev, now);
  const out: JsonObject = { type: ev.type, room_id: ev.roomId, sender: ev.sender, content: ev.content };
  if (ev.stateKey !== undefined) out['state_key'] = ev.stateKey;
  out['origin_server_ts'] = ev.originServerTs;
  out['unsigned'] = unsigned;
  out['event_id'] = ev.eventId;
  out['user_id'] = ev.sender;
  out['age'] = unsigned['age'] ?? 0;
  if (ev.replaces !== undefined) {
    out['prev_content'] = ev.replaces.content;
    out['replaces_state'] = ev.replaces.eventId;
  }
  return out;
}

export function strippedEvent(ev: StoredEvent): JsonObject {
  return { type: ev.type, state_key: ev.stateKey ?? '', content: ev.content, sender: ev.sender };
}

const PREJOIN_TYPES = ['m.room.join_rules', 'm.room.canonical_alias', 'm.room.avatar', 'm.room.encryption', 'm.room.name', 'm.room.topic'];

/** Stripped state shown to an invitee: Synapse's room_prejoin_state, the inviter's member event, create. */
export function inviteRoomState(store: Store, roomId: string, inviter: string): JsonObject[] {
  const out: JsonObject[] = [];
  for (const type of PREJOIN_TYPES) {
    const ev = store.stateEvent(roomId, type, '');
    if (ev !== undefined) out.push(strippedEvent(ev));
  }
  const member = store.stateEvent(roomId, 'm.room.member', inviter);
  if (member !== undefined) out.push(strippedEvent(member));
  const create = store.stateEvent(roomId, 'm.room.create', '');
  if (create !== undefined) out.push(strippedEvent(create));
  return out;
}
