// Profiles: GET /profile/{userId}(/displayname|/avatar_url), PUT displayname / avatar_url.
import { z } from 'zod';
import { param, requester, type HsContext } from '../context.ts';
import { errors } from '../errors.ts';
import { jsonBody, ok } from '../http.ts';
import { route, type Route } from '../router.ts';
import type { JsonObject } from '../types.ts';

const displaynameSchema = z.object({ displayname: z.string().nullable().optional() });
const avatarSchema = z.object({ avatar_url: z.string().nullable().optional() });

export function profileRoutes(ctx: HsContext): Route[] {
  const user = (userId: string) => {
    const u = ctx.store.users.get(userId);
    if (u === undefined) throw errors.profileNotFound();
    return u;
  };
  return [
    route('GET', 'C/profile/{}', (req) => {
      requester(ctx, req);
      const u = user(param(req, 0));
      const body: JsonObject = {};
      if (u.displayname !== undefined) body['displayname'] = u.displayname;
      if (u.avatarUrl !== undefined) body['avatar_url'] = u.avatarUrl;
      return ok(body);
    }),
    route('GET', 'C/profile/{}/displayname', (req) => {
      requester(ctx, req);
      const u = user(param(req, 0));
      return ok(u.displayname === undefined ? {} : { displayname: u.displayname });
    }),
    route('GET', 'C/profile/{}/avatar_url', (req) => {
      requester(ctx, req);
      const u = user(param(req, 0));
      return ok(u.avatarUrl === undefined ? {} : { avatar_url: u.avatarUrl });
    }),
    route('PUT', 'C/profile/{}/displayname', (req) => {
      const r = requester(ctx, req);
      if (param(req, 0) !== r.userId) throw errors.forbidden("Cannot set another user's displayname");
      const parsed = displaynameSchema.safeParse(jsonBody(req));
      if (!parsed.success) throw errors.badJson('displayname must be a string');
      ctx.rooms.setDisplayname(r.userId, parsed.data.displayname ?? undefined);
      return ok({});
    }),
    route('PUT', 'C/profile/{}/avatar_url', (req) => {
      const r = requester(ctx, req);
      if (param(req, 0) !== r.userId) throw errors.forbidden("Cannot set another user's avatar_url");
      const parsed = avatarSchema.safeParse(jsonBody(req));
      if (!parsed.success) throw errors.badJson('avatar_url must be a string');
      user(r.userId).avatarUrl = parsed.data.avatar_url ?? undefined;
      return ok({});
    }),
  ];
}
