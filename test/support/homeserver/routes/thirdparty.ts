// Third-party lookups forwarded to appservices (traces/real/synapse-02 messages 19-20,
// traces/matrix/12): protocols whose answer lacks an `instances` list are dropped; each
// instance with a network_id gets instance_id "<appservice id>|<network_id>"; user lookups
// answer [] when the appservice fails.
import { param, requester, type HsContext } from '../context.ts';
import { errors } from '../errors.ts';
import { ok } from '../http.ts';
import type { Registration } from '../registration.ts';
import { route, type Route } from '../router.ts';
import type { Json, JsonObject } from '../types.ts';

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

async function protocol(ctx: HsContext, reg: Registration, name: string): Promise<JsonObject | undefined> {
  const enc = encodeURIComponent(name);
  const reply = await ctx
    .askAppservice(reg, {
      method: 'GET',
      v1Path: `/_matrix/app/v1/thirdparty/protocol/${enc}`,
      legacyPath: `/_matrix/app/unstable/thirdparty/protocol/${enc}`,
    })
    .catch(() => undefined);
  if (reply === undefined || reply.status !== 200 || !isObject(reply.body) || !Array.isArray(reply.body['instances'])) return undefined;
  const body = reply.body;
  const instances = (body['instances'] as Json[]).map((i): Json =>
    isObject(i) && typeof i['network_id'] === 'string' ? { ...i, instance_id: `${reg.id}|${i['network_id']}` } : i,
  );
  return { ...body, instances };
}

async function allProtocols(ctx: HsContext): Promise<JsonObject> {
  const out: JsonObject = {};
  for (const reg of ctx.appservices) {
    for (const name of reg.protocols) {
      const p = await protocol(ctx, reg, name);
      if (p === undefined) continue;
      const prior = out[name];
      out[name] = isObject(prior) && Array.isArray(prior['instances']) && Array.isArray(p['instances'])
        ? { ...prior, instances: [...prior['instances'], ...p['instances']] }
        : p;
    }
  }
  return out;
}

const validResult = (v: unknown): boolean =>
  isObject(v) && typeof v['userid'] === 'string' && typeof v['protocol'] === 'string' && isObject(v['fields']);

export function thirdpartyRoutes(ctx: HsContext): Route[] {
  return [
    route('GET', 'C/thirdparty/protocols', async (req) => {
      requester(ctx, req);
      return ok(await allProtocols(ctx));
    }),
    route('GET', 'C/thirdparty/protocol/{}', async (req) => {
      requester(ctx, req);
      const p = (await allProtocols(ctx))[param(req, 0)];
      if (p === undefined) throw errors.notFound('Protocol not found');
      return ok(p);
    }),
    route('GET', 'C/thirdparty/user/{}', async (req) => {
      requester(ctx, req);
      const name = param(req, 0);
      const query = new URLSearchParams(req.query);
      query.delete('access_token');
      const results: Json[] = [];
      for (const reg of ctx.appservices.filter((a) => a.protocols.includes(name))) {
        const enc = encodeURIComponent(name);
        const reply = await ctx
          .askAppservice(reg, { method: 'GET', v1Path: `/_matrix/app/v1/thirdparty/user/${enc}`, legacyPath: `/_matrix/app/unstable/thirdparty/user/${enc}` }, query.toString())
          .catch(() => undefined);
        if (reply?.status === 200 && Array.isArray(reply.body)) {
          for (const item of reply.body as unknown[]) if (validResult(item)) results.push(item as Json);
        }
      }
      return ok(results);
    }),
  ];
}
