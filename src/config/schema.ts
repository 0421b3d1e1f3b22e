import { z } from 'zod';
import { durationMs, hostname, port, reconnect, secretFile, secretValue } from './schema-parts.ts';
import { sipSchema } from './sip-schema.ts';
import { PLAYBACK_PATH } from '../esl/grammar.ts';

// The config file's schema. Field descriptions live in config.example.yaml,
// which a test keeps in step with this schema.

export const eslSchema = z.strictObject({
  host: hostname.default('127.0.0.1'),
  port: port.default(8021),
  password: secretValue,
  password_file: secretFile,
  request_timeout_ms: durationMs(100, 120_000).default(5_000),
  connect_timeout_ms: durationMs(100, 120_000).default(5_000),
  reconnect,
});

const wsUrl = z
  .string({ error: 'must be a ws:// or wss:// URL' })
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'ws:' || u.protocol === 'wss:') && u.username === '' && u.password === '';
    } catch {
      return false;
    }
  }, { error: 'must be a ws:// or wss:// URL (without credentials in it)' });

const httpUrl = z
  .string({ error: 'must be an http:// or https:// URL' })
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.username === '' && u.password === '';
    } catch {
      return false;
    }
  }, { error: 'must be an http:// or https:// URL (without credentials in it)' });

export const vertoSchema = z.strictObject({
  url: wsUrl,
  login: z
    .string({ error: 'must be a Verto login such as edge@127.0.0.1' })
    .regex(/^[A-Za-z0-9_.+-]{1,64}@[A-Za-z0-9.:\-[\]]{1,253}$/, { error: 'must be a Verto login such as edge@127.0.0.1' }),
  password: secretValue,
  password_file: secretFile,
  /** Accept a self-signed certificate on wss:// (testing only). */
  tls_insecure: z.boolean({ error: 'must be true or false' }).default(false),
  request_timeout_ms: durationMs(100, 120_000).default(10_000),
  connect_timeout_ms: durationMs(100, 120_000).default(5_000),
  keepalive_interval_ms: durationMs(1_000, 600_000).default(25_000),
  reconnect,
});

const userId = z
  .string({ error: 'must be a Matrix user ID such as @edge:example.org' })
  .regex(/^@[a-z0-9._=\-/+]+:[A-Za-z0-9.:\-[\]]+$/, { error: 'must be a Matrix user ID such as @edge:example.org' });

export const appserviceSchema = z
  .strictObject({
    /** The registration file `matrix-sip-edge register` writes and the homeserver loads; relative paths are taken from the config file's directory. */
    registration_file: z.string({ error: 'must be a file path' }).min(1, { error: 'must be a file path' }).refine((s) => !/[\0\r\n]/.test(s), { error: 'must be a file path (no control characters)' }).default('registration.yaml'),
    /** The appservice's id in the registration (never changes once the homeserver knows it). */
    id: z.string({ error: 'must be a string' }).regex(/^[A-Za-z0-9_.-]{1,64}$/, { error: 'must be 1-64 letters, digits, _ . or -' }).default('matrix-sip-edge'),
    /** Where the homeserver reaches the edge's appservice listener (written into the registration). */
    url: httpUrl.default('http://127.0.0.1:9465'),
    /** The listener's address and port. */
    host: hostname.default('127.0.0.1'),
    port: z.number({ error: 'must be a port number (0-65535)' }).int({ error: 'must be a port number (0-65535)' }).min(0, { error: 'must be a port number (0-65535)' }).max(65535, { error: 'must be a port number (0-65535)' }).default(9465),
    /** Localpart prefix of the ghost users, one per phone number (@_sip_+4930123456:server). */
    ghost_prefix: z.string({ error: 'must be a localpart prefix' }).regex(/^_[a-z0-9._=\-/]{0,30}$/, { error: 'must start with _ and use a-z 0-9 . _ = - / (at most 31 characters)' }).default('_sip_'),
  })
  .prefault({});

export const matrixSchema = z.strictObject({
  homeserver_url: httpUrl,
  mode: z.enum(['bot', 'appservice'], { error: 'must be "bot" or "appservice"' }).default('bot'),
  /** Appservice mode: the registration and the listener (ignored in bot mode). */
  appservice: appserviceSchema,
  user_id: userId,
  access_token: secretValue,
  access_token_file: secretFile,
  password: secretValue,
  password_file: secretFile,
  device_id: z.string({ error: 'must be a string' }).regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'must be 1-64 letters, digits, _ or -' }).optional(),
  request_timeout_ms: durationMs(1_000, 300_000).default(30_000),
  sync_timeout_ms: durationMs(1_000, 300_000).default(30_000),
});

export const logSchema = z
  .strictObject({
    level: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
        error: 'must be one of fatal, error, warn, info, debug, trace, silent',
      })
      .default('info'),
  })
  .prefault({});

/** A regular expression given as a string; refused when it does not compile. */
const pattern = z.string({ error: 'must be a regular expression (as a string)' }).refine(
  (s) => {
    try {
      new RegExp(s);
      return s.length <= 200;
    } catch {
      return false;
    }
  },
  { error: 'must be a valid regular expression of at most 200 characters' },
);

const gatewayName = z
  .string({ error: 'must be a FreeSWITCH gateway name' })
  .regex(/^[a-z0-9_-]{1,32}$/, { error: 'must be a gateway name of 1-32 lower-case letters, digits, _ or -' });

const e164 = z
  .string({ error: 'must be a phone number in E.164 form, e.g. +4930123456' })
  .regex(/^\+[1-9][0-9]{1,14}$/, { error: 'must be a phone number in E.164 form, e.g. +4930123456' });

export const callsSchema = z
  .strictObject({
    /** Longest wait for end-of-candidates after an m.call.invite (the trunk rings meanwhile: it delays only the media). */
    gathering_window_ms: durationMs(0, 10_000).default(3_000),
    /** The Matrix side's media was lost in an answered call (either direction): the phone side waits, and the user is rung again for this long (0: the call just ends). */
    recovery_ring_s: z.number({ error: 'must be a whole number of seconds' }).int({ error: 'must be a whole number of seconds' }).min(0, { error: 'must be at least 0' }).max(300, { error: 'must be at most 300' }).default(30),
    /** What the waiting phone side hears meanwhile (uuid_broadcast): a local_stream or an absolute file path; "" for silence. */
    recovery_hold_music: z
      .string({ error: 'must be local_stream://<name>, an absolute file path, or ""' })
      .regex(new RegExp(`(${PLAYBACK_PATH.source})|^$`), { error: 'must be local_stream://<name>, an absolute file path without spaces, or ""' })
      .default('local_stream://moh'),
    /** No RTP on the trunk leg for this long: FreeSWITCH hangs it up (MEDIA_TIMEOUT). */
    media_timeout_s: z.number({ error: 'must be a whole number of seconds' }).int({ error: 'must be a whole number of seconds' }).min(5, { error: 'must be at least 5' }).max(3_600, { error: 'must be at most 3600' }).default(60),
    /** After FreeSWITCH's verto.bye, how long to wait for ESL's hangup cause. */
    hangup_cause_wait_ms: durationMs(50, 10_000).default(1_500),
    /** Ring timeout toward the trunk. */
    ring_timeout_s: z.number({ error: 'must be a number of seconds' }).int().min(5, { error: 'must be at least 5' }).max(300, { error: 'must be at most 300' }).default(60),
    /** Longest answered call, either direction; then the edge hangs up (a client that vanished must not hold a trunk line for ever). */
    max_duration_s: z.number({ error: 'must be a whole number of seconds' }).int({ error: 'must be a whole number of seconds' }).min(1, { error: 'must be at least 1' }).max(86_400, { error: 'must be at most 86400 (24 h)' }).default(14_400),
    /** On SIGTERM: how long live calls may go on (no new ones admitted) before the edge ends them. */
    drain_s: z.number({ error: 'must be a whole number of seconds' }).int({ error: 'must be a whole number of seconds' }).min(0, { error: 'must be at least 0' }).max(3_600, { error: 'must be at most 3600' }).default(20),
  })
  .prefault({});

export const routingSchema = z
  .strictObject({
    /** ISO country for national numbers (e.g. DE: 030 123456 -> +4930123456). */
    default_country: z.string({ error: 'must be a two-letter country code' }).regex(/^[A-Z]{2}$/, { error: 'must be a two-letter country code such as DE' }).default('US'),
    /** Extensions dialled as typed, e.g. "^\\d{3,4}$" (none by default). */
    extension_pattern: pattern.optional(),
    /** The FreeSWITCH gateway calls go to unless a route says otherwise. */
    default_gateway: gatewayName.optional(),
    routes: z
      .array(z.strictObject({ match: pattern, gateway: gatewayName }), { error: 'must be a list of {match, gateway}' })
      .default([]),
  })
  .prefault({});

export const policySchema = z
  .strictObject({
    allowed_users: z.array(z.string().regex(/^@[^:\s]+:[^\s]+$/, { error: 'must be a Matrix user ID' }), { error: 'must be a list of Matrix user IDs' }).default([]),
    allowed_servers: z.array(z.string().regex(/^[A-Za-z0-9.:\-[\]]+$/, { error: 'must be a server name' }), { error: 'must be a list of server names' }).default([]),
    min_power_level: z.number({ error: 'must be a whole number' }).int({ error: 'must be a whole number' }).optional(),
    /** Destinations (E.164 or extension) must match one of these; empty = nothing may be dialled. */
    allow_destinations: z.array(pattern, { error: 'must be a list of regular expressions' }).default([]),
    allow_international: z.boolean({ error: 'must be true or false' }).default(false),
    allow_premium: z.boolean({ error: 'must be true or false' }).default(false),
    max_concurrent_calls_per_user: z.number({ error: 'must be a whole number' }).int().min(1, { error: 'must be at least 1' }).max(100, { error: 'must be at most 100' }).default(2),
    rate_limit: z
      .strictObject({
        calls: z.number({ error: 'must be a whole number' }).int().min(1, { error: 'must be at least 1' }).default(10),
        window_s: z.number({ error: 'must be a whole number of seconds' }).int().min(1, { error: 'must be at least 1' }).default(60),
      })
      .prefault({}),
  })
  .prefault({});

export const callerIdSchema = z
  .strictObject({
    /** The number presented to the trunk unless a user or room has its own. */
    default_number: e164.optional(),
    per_user: z.record(z.string().regex(/^@[^:\s]+:[^\s]+$/, { error: 'keys must be Matrix user IDs' }), e164).default({}),
    per_room: z.record(z.string().regex(/^![^:\s]+:[^\s]+$/, { error: 'keys must be Matrix room IDs' }), e164).default({}),
  })
  .prefault({});

const roomId = z.string({ error: 'must be a Matrix room ID (!id:server)' }).regex(/^![^:\s]+:[^\s]+$/, { error: 'must be a Matrix room ID (!id:server)' });

export const inboundSchema = z
  .strictObject({
    /**
     * Which room rings for which dialled number (DID), first match wins.
     * `did` is an E.164 number or a regular expression (written /.../).
     */
    routes: z
      .array(
        z.strictObject({
          did: z.string({ error: 'must be an E.164 number or a /regex/' }).refine(
            (s) => /^\+[1-9][0-9]{1,14}$/.test(s) || /^\/.{1,200}\/$/.test(s) && (() => { try { new RegExp(s.slice(1, -1)); return true; } catch { return false; } })(),
            { error: 'must be an E.164 number (+4930123456) or a /regular expression/' },
          ),
          /** The room that rings. */
          room: roomId.optional(),
          /** Or a user: the edge rings them in its DM with them, creating it when there is none. */
          user: z.string().regex(/^@[^:\s]+:[^\s]+$/, { error: 'must be a Matrix user ID' }).optional(),
          /** Only this user may answer (Matrix `invitee`); none = anyone in the room may answer. */
          invitee: z.string().regex(/^@[^:\s]+:[^\s]+$/, { error: 'must be a Matrix user ID' }).optional(),
          /** Post DTMF from the caller in the room (IVR, door phones). */
          dtmf_notices: z.boolean({ error: 'must be true or false' }).default(false),
        }).refine((r) => (r.room === undefined) !== (r.user === undefined), { error: 'give either room or user', path: ['room'] }),
        { error: 'must be a list of {did, room} or {did, user}' },
      )
      .default([]),
    /** How long Matrix rings (the invite's lifetime); then the trunk gets NO_ANSWER (480). */
    ring_timeout_s: z.number({ error: 'must be a number of seconds' }).int().min(5, { error: 'must be at least 5' }).max(300, { error: 'must be at most 300' }).default(60),
    /** Digits from one burst are posted as one notice after this much quiet. */
    dtmf_batch_ms: durationMs(100, 10_000).default(1_500),
  })
  .prefault({});

export const httpSchema = z
  .strictObject({
    /** Address for /healthz, /readyz and /metrics. Keep it private. */
    host: hostname.default('127.0.0.1'),
    /** 0 = any free port (tests). */
    port: z.number({ error: 'must be a port number (0-65535)' }).int({ error: 'must be a port number (0-65535)' }).min(0, { error: 'must be a port number (0-65535)' }).max(65535, { error: 'must be a port number (0-65535)' }).default(9464),
    enabled: z.boolean({ error: 'must be true or false' }).default(true),
  })
  .prefault({});

export const stateSchema = z
  .strictObject({
    /**
     * Where the edge keeps what must outlive its process (live calls, the
     * Verto session id, Matrix sends not yet acknowledged). Relative paths
     * are taken from the config file's directory; MSE_STATE_DIR overrides.
     */
    dir: z.string({ error: 'must be a directory path' }).min(1, { error: 'must be a directory path' }).refine((s) => !/[\0\r\n]/.test(s), { error: 'must be a directory path (no control characters)' }).default('state'),
  })
  .prefault({});

export const configSchema = z.strictObject({
  http: httpSchema,
  esl: eslSchema.prefault({}),
  verto: vertoSchema,
  matrix: matrixSchema,
  calls: callsSchema,
  routing: routingSchema,
  policy: policySchema,
  caller_id: callerIdSchema,
  inbound: inboundSchema,
  log: logSchema,
  sip: sipSchema,
  state: stateSchema,
});

export type RawConfig = z.infer<typeof configSchema>;
