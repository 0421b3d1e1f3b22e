// /login, /logout, /account/whoami, /register (appservice ghosts only).
import { z } from 'zod';
import { requester, type HsContext } from '../context.ts';
import { errors, MatrixError } from '../errors.ts';
import { jsonBody, ok, type HsRequest } from '../http.ts';
import { accessToken } from '../auth.ts';
import { matchesAny } from '../registration.ts';
import { route, type Route } from '../router.ts';

const loginSchema = z.object({
  type: z.string(),
  identifier: z.object({ type: z.string(), user: z.string().optional() }).optional(),
  user: z.string().optional(),
  password: z.string().optional(),
  device_id: z.string().optional(),
  initial_device_display_name: z.string().optional(),
});

const registerSchema = z.object({
  type: z.string().optional(),
  username: z.string().optional(),
  inhibit_login: z.boolean().optional(),
  device_id: z.string().optional(),
});

function localpartOf(ctx: HsContext, user: string): string {
  if (user.startsWith('@')) {
    const [lp, server] = user.slice(1).split(':');
    if (server !== ctx.store.serverName || lp === undefined) throw errors.badLogin();
    return lp.toLowerCase();
  }
  return user.toLowerCase();
}

function login(ctx: HsContext, req: HsRequest): ReturnType<typeof ok> {
  const parsed = loginSchema.safeParse(jsonBody(req));
  if (!parsed.success) throw errors.badJson(parsed.error.issues[0]?.message ?? 'invalid login');
  const body = parsed.data;
  const user = body.identifier?.user ?? body.user;
  if (body.type === 'm.login.password') {
    ctx.loginLimiter.take(`addr:${req.remoteAddress}`);
    if (user === undefined) throw errors.missingParam('Missing param: user');
    const record = ctx.store.users.get(ctx.store.userIdFor(localpartOf(ctx, user)));
    if (record === undefined || record.password === undefined || record.password !== body.password) throw errors.badLogin();
    const t = ctx.store.issueToken(record.userId, body.device_id);
    return ok({ user_id: record.userId, access_token: t.token, home_server: ctx.store.serverName, device_id: t.deviceId ?? null });
  }
  if (body.type === 'm.login.application_service') {
    const token = accessToken(req);
    if (token === undefined) throw errors.missingToken();
    const as = ctx.appservices.find((a) => a.asToken === token);
    if (as === undefined) throw errors.unknownToken();
    if (user === undefined) throw errors.missingParam('Missing param: user');
    const userId = ctx.store.userIdFor(localpartOf(ctx, user));
    if (!matchesAny(as.users, userId)) throw errors.exclusive();
    if (!ctx.store.users.has(userId)) throw errors.forbidden('Invalid username or password');
    const t = ctx.store.issueToken(userId, body.device_id);
    return ok({ user_id: userId, access_token: t.token, home_server: ctx.store.serverName, device_id: t.deviceId ?? null });
  }
  throw new MatrixError(400, 'M_UNKNOWN', `Unknown login type ${body.type}`);
}

const LOCALPART = /^[a-z0-9._=\-/+]+$/;

function register(ctx: HsContext, req: HsRequest): ReturnType<typeof ok> {
  const token = accessToken(req);
  const parsed = registerSchema.safeParse(jsonBody(req));
  if (!parsed.success) throw errors.badJson(parsed.error.issues[0]?.message ?? 'invalid register body');
  const body = parsed.data;
  if (body.type !== 'm.login.application_service') {
    throw errors.forbidden('Registration has been disabled');
  }
  if (token === undefined) throw errors.missingToken();
  const as = ctx.appservices.find((a) => a.asToken === token);
  if (as === undefined) throw errors.unknownToken();
  if (body.username === undefined) throw errors.missingParam('Missing param: username');
  if (!LOCALPART.test(body.username)) {
    throw errors.invalidUsername("User ID can only contain characters a-z, 0-9, or '=_-./+'");
  }
  const userId = ctx.store.userIdFor(body.username);
  if (!matchesAny(as.users, userId)) throw errors.exclusive();
  if (ctx.store.users.has(userId)) throw errors.userInUse();
  ctx.store.addUser(body.username, { appserviceId: as.id });
  if (body.inhibit_login === true) return ok({ user_id: userId, home_server: ctx.store.serverName });
  const t = ctx.store.issueToken(userId, body.device_id);
  return ok({ user_id: userId, home_server: ctx.store.serverName, access_token: t.token, device_id: t.deviceId ?? null });
}

export function accountRoutes(ctx: HsContext): Route[] {
  return [
    route('GET', 'C/login', () =>
      ok({ flows: [{ type: 'm.login.password' }, ...(ctx.appservices.length > 0 ? [{ type: 'm.login.application_service' }] : [])] }),
    ),
    route('POST', 'C/login', (req) => login(ctx, req)),
    route('POST', 'C/logout', (req) => {
      requester(ctx, req);
      const token = accessToken(req);
      if (token !== undefined && ctx.store.tokens.get(token)?.appserviceId === undefined) ctx.store.revokeToken(token);
      return ok({});
    }),
    route('POST', 'C/logout/all', (req) => {
      const r = requester(ctx, req);
      for (const [t, rec] of ctx.store.tokens) if (rec.userId === r.userId && rec.appserviceId === undefined) ctx.store.revokeToken(t);
      return ok({});
    }),
    route('GET', 'C/account/whoami', (req) => {
      const r = requester(ctx, req);
      return ok(r.deviceId === undefined ? { user_id: r.userId, is_guest: false } : { user_id: r.userId, is_guest: false, device_id: r.deviceId });
    }),
    route('POST', 'C/register', (req) => register(ctx, req)),
  ];
}
