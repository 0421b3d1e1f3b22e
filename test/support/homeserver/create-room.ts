// POST /createRoom: the event sequence Synapse 1.67 writes for each preset
// (traces/real/synapse-01 exchanges 14-20, synapse-04 call 14).
import { z } from 'zod';
import { errors } from './errors.ts';
import { newRoomId } from './ids.ts';
import type { Store } from './store.ts';
import type { JsonObject } from './types.ts';

const PRESETS = ['private_chat', 'trusted_private_chat', 'public_chat'] as const;
const jsonObject = z.record(z.string(), z.unknown()).transform((o) => o as JsonObject);

export const createRoomSchema = z.object({
  preset: z.string().optional(),
  visibility: z.enum(['public', 'private']).optional(),
  invite: z.array(z.string()).optional(),
  is_direct: z.boolean().optional(),
  name: z.string().optional(),
  topic: z.string().optional(),
  room_alias_name: z.string().optional(),
  room_version: z.string().optional(),
  creation_content: jsonObject.optional(),
  power_level_content_override: jsonObject.optional(),
  initial_state: z.array(z.object({ type: z.string(), state_key: z.string().default(''), content: jsonObject })).optional(),
});
export type CreateRoomBody = z.infer<typeof createRoomSchema>;

export const DEFAULT_ROOM_VERSION = '9';

export function parseCreateRoom(raw: unknown): CreateRoomBody & { preset: (typeof PRESETS)[number] } {
  const r = createRoomSchema.safeParse(raw);
  if (!r.success) throw errors.badJson(r.error.issues[0]?.message ?? 'invalid createRoom body');
  const preset = r.data.preset ?? (r.data.visibility === 'public' ? 'public_chat' : 'private_chat');
  if (!(PRESETS as readonly string[]).includes(preset)) throw errors.badJson(`'${preset}' is not a valid preset`);
  return { ...r.data, preset: preset as (typeof PRESETS)[number] };
}

/** Writes the room's initial events (not the invites) and returns the room id. */
export function writeInitialEvents(store: Store, creator: string, body: ReturnType<typeof parseCreateRoom>): string {
  const roomId = newRoomId(store.serverName);
  const version = body.room_version ?? DEFAULT_ROOM_VERSION;
  store.addRoom(roomId, version);
  const put = (type: string, content: JsonObject, stateKey = ''): void => {
    store.append(roomId, { type, sender: creator, content, stateKey });
  };
  put('m.room.create', { ...(body.creation_content ?? {}), room_version: version, creator });
  const user = store.users.get(creator);
  const member: JsonObject = { membership: 'join', displayname: user?.displayname ?? null };
  if (user?.avatarUrl !== undefined) member['avatar_url'] = user.avatarUrl;
  put('m.room.member', member, creator);
  const users: JsonObject = { [creator]: 100 };
  if (body.preset === 'trusted_private_chat') for (const u of body.invite ?? []) users[u] = 100;
  put('m.room.power_levels', {
    users,
    users_default: 0,
    events: {
      'm.room.name': 50,
      'm.room.power_levels': 100,
      'm.room.history_visibility': 100,
      'm.room.canonical_alias': 50,
      'm.room.avatar': 50,
      'm.room.tombstone': 100,
      'm.room.server_acl': 100,
      'm.room.encryption': 100,
    },
    events_default: 0,
    state_default: 50,
    ban: 50,
    kick: 50,
    redact: 50,
    invite: 0,
    historical: 100,
    ...(body.power_level_content_override ?? {}),
  });
  if (body.room_alias_name !== undefined) {
    const alias = `#${body.room_alias_name}:${store.serverName}`;
    store.aliases.set(alias, roomId);
    put('m.room.canonical_alias', { alias });
  }
  put('m.room.join_rules', { join_rule: body.preset === 'public_chat' ? 'public' : 'invite' });
  put('m.room.history_visibility', { history_visibility: 'shared' });
  if (body.preset !== 'public_chat') put('m.room.guest_access', { guest_access: 'can_join' });
  for (const s of body.initial_state ?? []) put(s.type, s.content, s.state_key);
  if (body.name !== undefined) put('m.room.name', { name: body.name });
  if (body.topic !== undefined) put('m.room.topic', { topic: body.topic });
  return roomId;
}
