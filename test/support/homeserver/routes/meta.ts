// Startup endpoints js-sdk 43 calls (traces/real/synapse-01 exchanges 2-12): /versions,
// /capabilities, /pushrules/, filters. The msc4143 rtc/transports probe has no route, so it
// gets Synapse's 400 M_UNRECOGNIZED like any unknown endpoint.
import { z } from 'zod';
import { param, requester, type HsContext } from '../context.ts';
import { errors } from '../errors.ts';
import { jsonBody, ok } from '../http.ts';
import { defaultPushRules } from '../pushrules.ts';
import { route, type Route } from '../router.ts';
import type { JsonObject } from '../types.ts';

const VERSIONS = ['r0.0.1', 'r0.1.0', 'r0.2.0', 'r0.3.0', 'r0.4.0', 'r0.5.0', 'r0.6.0', 'r0.6.1', 'v1.1', 'v1.2'];
const UNSTABLE_FEATURES = {
  'org.matrix.label_based_filtering': true,
  'org.matrix.e2e_cross_signing': true,
  'org.matrix.msc2432': true,
  'uk.half-shot.msc2666.mutual_rooms': true,
  'io.element.e2ee_forced.public': false,
  'io.element.e2ee_forced.private': false,
  'io.element.e2ee_forced.trusted_private': false,
  'org.matrix.msc3026.busy_presence': false,
  'org.matrix.msc2285.stable': true,
  'org.matrix.msc3827.stable': true,
  'org.matrix.msc2716': false,
  'org.matrix.msc3030': false,
  'org.matrix.msc3440.stable': true,
  'fi.mau.msc2815': false,
};

const ROOM_VERSIONS: JsonObject = Object.fromEntries(
  ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'].map((v) => [v, 'stable']),
);

function capabilities(): JsonObject {
  return {
    capabilities: {
      'm.room_versions': {
        default: '9',
        available: { ...ROOM_VERSIONS, 'org.matrix.msc2176': 'unstable', 'org.matrix.msc3787': 'unstable', 'org.matrix.msc2716v4': 'unstable' },
        'org.matrix.msc3244.room_capabilities': {
          knock: { preferred: '7', support: ['7', '8', '9', 'org.matrix.msc3787', '10', 'org.matrix.msc2716v4'] },
          restricted: { preferred: '9', support: ['8', '9', 'org.matrix.msc3787', '10'] },
        },
      },
      'm.change_password': { enabled: true },
      'm.set_displayname': { enabled: true },
      'm.set_avatar_url': { enabled: true },
      'm.3pid_changes': { enabled: true },
    },
  };
}

const filterBody = z.record(z.string(), z.unknown());

export function metaRoutes(ctx: HsContext): Route[] {
  return [
    route('GET', '/_matrix/client/versions', () => ok({ versions: VERSIONS, unstable_features: UNSTABLE_FEATURES })),
    route('GET', 'C/capabilities', (req) => {
      requester(ctx, req);
      return ok(capabilities());
    }),
    route('GET', 'C/pushrules/', (req) => {
      const r = requester(ctx, req);
      return ok(defaultPushRules(r.userId));
    }),
    route('POST', 'C/user/{}/filter', (req) => {
      const r = requester(ctx, req);
      if (param(req, 0) !== r.userId) throw errors.forbidden('Cannot create filters for other users');
      const parsed = filterBody.safeParse(jsonBody(req));
      if (!parsed.success) throw errors.badJson('Filter must be an object');
      return ok({ filter_id: ctx.store.addFilter(r.userId, parsed.data as JsonObject) });
    }),
    route('GET', 'C/user/{}/filter/{}', (req) => {
      const r = requester(ctx, req);
      if (param(req, 0) !== r.userId) throw errors.forbidden('Cannot get filters for other users');
      const f = ctx.store.filter(r.userId, param(req, 1));
      if (f === undefined) throw errors.filterNotFound();
      return ok(f);
    }),
  ];
}
