// The appservice registration: the file the homeserver loads
// (app_service_config_files) and the edge reads its tokens from. Written by
// `matrix-sip-edge register`, mode 0600; validated like any other input.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { z } from 'zod';
import { Secret } from '../config/secret.ts';

/** The third-party protocols Element looks for to show its dial pad (m.protocol.pstn preferred). */
export const PSTN_PROTOCOLS = ['m.protocol.pstn', 'im.vector.protocol.pstn'] as const;

export class RegistrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegistrationError';
  }
}

const token = z.string({ error: 'must be a token string' }).regex(/^[A-Za-z0-9_.~-]{16,256}$/, { error: 'must be 16-256 letters, digits or _.~-' });
const namespace = z.array(z.strictObject({ regex: z.string({ error: 'must be a regular expression' }), exclusive: z.boolean({ error: 'must be true or false' }) }), { error: 'must be a list of {regex, exclusive}' });

const registrationSchema = z.object({
  id: z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }),
  url: z.string({ error: 'must be the URL the homeserver reaches the edge at' }),
  as_token: token,
  hs_token: token,
  sender_localpart: z.string({ error: 'must be a user localpart' }).regex(/^[a-z0-9._=\-/+]{1,255}$/, { error: 'must be a user localpart (a-z 0-9 . _ = - / +)' }),
  rate_limited: z.boolean({ error: 'must be true or false' }).optional(),
  namespaces: z.object({ users: namespace.default([]), aliases: namespace.default([]), rooms: namespace.default([]) }),
  protocols: z.array(z.string(), { error: 'must be a list of protocol ids' }).default([]),
});

/** What the edge needs from its registration. */
export interface Registration {
  readonly id: string;
  readonly url: string;
  readonly asToken: Secret;
  readonly hsToken: Secret;
  readonly senderLocalpart: string;
  readonly protocols: readonly string[];
}

export interface RegistrationSettings {
  readonly id: string;
  readonly url: string;
  readonly senderLocalpart: string;
  readonly ghostPrefix: string;
  readonly serverName: string;
}

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A fresh registration: random tokens (32 bytes, hex), an exclusive namespace for the ghosts, the PSTN protocols. */
export function newRegistration(s: RegistrationSettings): Record<string, unknown> {
  return {
    id: s.id,
    url: s.url,
    as_token: randomBytes(32).toString('hex'),
    hs_token: randomBytes(32).toString('hex'),
    sender_localpart: s.senderLocalpart,
    // Ghosts send call events in bursts (candidates); the homeserver must not rate-limit them.
    rate_limited: false,
    namespaces: {
      users: [{ exclusive: true, regex: `@${escapeRegex(s.ghostPrefix)}.*:${escapeRegex(s.serverName)}` }],
      aliases: [],
      rooms: [],
    },
    protocols: [...PSTN_PROTOCOLS],
  };
}

/** Write it with mode 0600 (it holds both tokens); refuses to replace an existing file unless `force`. */
export function writeRegistration(path: string, registration: Record<string, unknown>, force: boolean): void {
  if (!force && existsSync(path)) throw new RegistrationError(`${path} exists already; remove it, or pass --force to make new tokens (the homeserver must then load the new file)`);
  writeFileSync(path, stringifyYaml(registration), { mode: 0o600, flag: force ? 'w' : 'wx' });
  // The mode applies only to a file created: one replaced with --force keeps its old mode otherwise.
  chmodSync(path, 0o600);
}

export function parseRegistration(text: string, path: string): Registration {
  let raw: unknown;
  try {
    raw = parseYaml(text, { logLevel: 'error', uniqueKeys: true });
  } catch (err) {
    throw new RegistrationError(`${path}: invalid YAML: ${(err as Error).message.split('\n')[0] ?? ''}`);
  }
  const parsed = registrationSchema.safeParse(raw);
  if (!parsed.success) {
    throw new RegistrationError(`${path}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; ')}`);
  }
  const r = parsed.data;
  return { id: r.id, url: r.url, asToken: new Secret(r.as_token), hsToken: new Secret(r.hs_token), senderLocalpart: r.sender_localpart, protocols: r.protocols };
}

export function readRegistration(path: string): Registration {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new RegistrationError(`cannot read the appservice registration ${path} (${code}): write it with the register command first (npm start -- register -c <config>)`);
  }
  return parseRegistration(text, path);
}
