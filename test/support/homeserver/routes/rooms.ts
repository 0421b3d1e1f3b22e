// Room endpoints: createRoom, join, invite, leave, send, state, members, messages.
import { z } from 'zod';
import { param, requester, type HsContext } from '../context.ts';
import { errors } from '../errors.ts';
import { legacyEvent } from '../format.ts';
import { jsonBody, ok, type HsRequest } from '../http.ts';
import { route, type Route } from '../router.ts';
import type { JsonObject, Requester } from '../types.ts';
import { messagesPage } from '../messages.ts';

const contentSchema = z.record(z.string(), z.unknown());
const inviteSchema = z.object({ user_id: z.string(), reason: z.string().optional() });

function content(req: HsRequest): JsonObject {
  const parsed = contentSchema.safeParse(jsonBody(req));
  if (!parsed.success) throw errors.badJson('Content must be a JSON object.');
  return parsed.data as JsonObject;
}

/** Appservices may set origin_server_ts with ?ts= (timestamp massaging). */
function massagedTs(r: Requester, req: HsRequest): number | undefined {
  const ts = req.query.get('ts');
  if (r.appserviceId === undefined || ts === null || !/^\d+$/.test(ts)) return undefined;
  return Number(ts);
}

function joinHandler(ctx: HsContext) {
  return (req: HsRequest): ReturnType<typeof ok> => {
    const r = requester(ctx, req);
    jsonBody(req);
    return ok({ room_id: ctx.rooms.join(r, param(req, 0)) });
  };
}

export function roomRoutes(ctx: HsContext): Route[] {
  const { store, rooms } = ctx;
  return [
    route('POST', 'C/createRoom', (req) => {
      const r = requester(ctx, req);
      return ok({ room_id: rooms.createRoom(r, jsonBody(req)) });
    }),
    route('POST', 'C/join/{}', joinHandler(ctx)),
    route('POST', 'C/rooms/{}/join', joinHandler(ctx)),
    route('POST', 'C/rooms/{}/invite', (req) => {
      const r = requester(ctx, req);
      const parsed = inviteSchema.safeParse(jsonBody(req));
      if (!parsed.success) throw errors.missingParam('Missing parameter: user_id');
      rooms.invite(r, param(req, 0), parsed.data.user_id, parsed.data.reason);
      return ok({});
    }),
    route('POST', 'C/rooms/{}/leave', (req) => {
      const r = requester(ctx, req);
      // Synapse keeps a string `reason` in the membership content (spec: POST /leave body).
      const body = jsonBody(req);
      const reason = typeof body === 'object' && body !== null && typeof (body as Record<string, unknown>)['reason'] === 'string' ? ((body as Record<string, unknown>)['reason'] as string) : undefined;
      rooms.leave(r, param(req, 0), reason);
      return ok({});
    }),
    route('PUT', 'C/rooms/{}/send/{}/{}', (req) => {
      const r = requester(ctx, req);
      const ev = rooms.send(r, param(req, 0), param(req, 1), param(req, 2), content(req), massagedTs(r, req));
      return ok({ event_id: ev.eventId });
    }),
    route('PUT', 'C/rooms/{}/state/{}/{*}', (req) => {
      const r = requester(ctx, req);
      const ev = rooms.setState(r, param(req, 0), param(req, 1), param(req, 2), content(req), massagedTs(r, req));
      return ok({ event_id: ev.eventId });
    }),
    route('PUT', 'C/rooms/{}/state/{}', (req) => {
      const r = requester(ctx, req);
      const ev = rooms.setState(r, param(req, 0), param(req, 1), '', content(req), massagedTs(r, req));
      return ok({ event_id: ev.eventId });
    }),
    route('GET', 'C/rooms/{}/state/{}/{*}', (req) => {
      const r = requester(ctx, req);
      rooms.requireCanRead(r.userId, param(req, 0));
      const ev = store.stateEvent(param(req, 0), param(req, 1), param(req, 2));
      if (ev === undefined) throw errors.notFound('Event not found.');
      return ok(ev.content);
    }),
    route('GET', 'C/rooms/{}/state/{}', (req) => {
      const r = requester(ctx, req);
      rooms.requireCanRead(r.userId, param(req, 0));
      const ev = store.stateEvent(param(req, 0), param(req, 1), '');
      if (ev === undefined) throw errors.notFound('Event not found.');
      return ok(ev.content);
    }),
    route('GET', 'C/rooms/{}/state', (req) => {
      const r = requester(ctx, req);
      const roomId = param(req, 0);
      rooms.requireCanRead(r.userId, roomId);
      const now = Date.now();
      return ok([...(store.rooms.get(roomId)?.state.values() ?? [])].map((e) => legacyEvent(e, now)));
    }),
    route('GET', 'C/rooms/{}/members', (req) => {
      const r = requester(ctx, req);
      const roomId = param(req, 0);
      rooms.requireCanRead(r.userId, roomId);
      const now = Date.now();
      const chunk = [...(store.rooms.get(roomId)?.state.values() ?? [])].filter((e) => e.type === 'm.room.member');
      return ok({ chunk: chunk.map((e) => legacyEvent(e, now)) });
    }),
    route('GET', 'C/rooms/{}/joined_members', (req) => {
      const r = requester(ctx, req);
      const roomId = param(req, 0);
      rooms.requireCanRead(r.userId, roomId);
      const joined: JsonObject = {};
      for (const u of store.members(roomId, 'join')) {
        const c = store.stateEvent(roomId, 'm.room.member', u)?.content;
        joined[u] = { avatar_url: c?.['avatar_url'] ?? null, display_name: c?.['displayname'] ?? null };
      }
      return ok({ joined });
    }),
    route('GET', 'C/rooms/{}/messages', (req) => {
      const r = requester(ctx, req);
      const roomId = param(req, 0);
      rooms.requireCanRead(r.userId, roomId);
      return ok(messagesPage(store, roomId, req.query));
    }),
    route('GET', 'C/rooms/{}/event/{}', (req) => {
      const r = requester(ctx, req);
      rooms.requireCanRead(r.userId, param(req, 0));
      const ev = store.event(param(req, 1));
      if (ev === undefined || ev.roomId !== param(req, 0)) throw errors.eventNotFound();
      return ok(legacyEvent(ev));
    }),
    route('GET', 'C/joined_rooms', (req) => {
      const r = requester(ctx, req);
      return ok({ joined_rooms: [...store.rooms.keys()].filter((id) => store.membership(id, r.userId) === 'join') });
    }),
  ];
}
