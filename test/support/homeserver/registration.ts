// Appservice registration (traces/matrix/11-registration.yaml), validated the way
// Synapse's synapse/config/appservice.py does.
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const namespaceEntry = z.object({ regex: z.string(), exclusive: z.boolean() });

const registrationSchema = z.object({
  id: z.string().min(1),
  // Synapse rejects a missing url but accepts an explicit null (= no traffic).
  url: z.union([z.string(), z.null()]),
  as_token: z.string().min(1),
  hs_token: z.string().min(1),
  sender_localpart: z
    .string()
    .min(1)
    .refine((s) => encodeURIComponent(s) === s, 'sender_localpart must not need URL-encoding'),
  namespaces: z.object({
    users: z.array(namespaceEntry).optional(),
    aliases: z.array(namespaceEntry).optional(),
    rooms: z.array(namespaceEntry).optional(),
  }),
  rate_limited: z.unknown().optional(),
  protocols: z.array(z.string()).optional(),
  receive_ephemeral: z.boolean().optional(),
});

export interface Registration {
  readonly id: string;
  readonly url: string | null;
  readonly asToken: string;
  readonly hsToken: string;
  readonly senderLocalpart: string;
  readonly users: readonly RegExp[];
  readonly exclusiveUsers: readonly RegExp[];
  readonly aliases: readonly RegExp[];
  readonly rooms: readonly RegExp[];
  readonly rateLimited: boolean;
  readonly protocols: readonly string[];
}

// Synapse uses re.match: anchored at the start only.
const compile = (entries: readonly { regex: string }[] | undefined): RegExp[] =>
  (entries ?? []).map((e) => new RegExp(`^(?:${e.regex})`));

/** Parses a registration object or YAML text; throws with a readable message when invalid. */
export function parseRegistration(input: string | object): Registration {
  const raw: unknown = typeof input === 'string' ? parseYaml(input) : input;
  const result = registrationSchema.safeParse(raw);
  if (!result.success) {
    throw new Error(`invalid appservice registration: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const r = result.data;
  const users = r.namespaces.users ?? [];
  return {
    id: r.id,
    url: r.url === null ? null : r.url.replace(/\/+$/, ''),
    asToken: r.as_token,
    hsToken: r.hs_token,
    senderLocalpart: r.sender_localpart,
    users: compile(users),
    exclusiveUsers: compile(users.filter((u) => u.exclusive)),
    aliases: compile(r.namespaces.aliases),
    rooms: compile(r.namespaces.rooms),
    // "if absent or not a bool, Synapse treats it as true"
    rateLimited: typeof r.rate_limited === 'boolean' ? r.rate_limited : true,
    protocols: r.protocols ?? [],
  };
}

export const matchesAny = (regexes: readonly RegExp[], value: string): boolean => regexes.some((r) => r.test(value));
