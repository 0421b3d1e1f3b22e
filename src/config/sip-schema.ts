import { z } from 'zod';
import { durationMs, hostname, port, reconnect, secretFile, secretValue } from './schema-parts.ts';

// The `sip` section: optional SIP admission through drachtio-server.

/** An IPv4/IPv6 address or a CIDR block (203.0.113.0/24, 2001:db8::/32). */
const sourceBlock = z.string({ error: 'must be an IP address or CIDR block' }).refine(
  (s) => {
    const m = /^([0-9A-Fa-f:.]+)(?:\/([0-9]{1,3}))?$/.exec(s);
    if (m === null) return false;
    const ip = m[1] ?? '';
    const v4 = /^(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}$/.test(ip);
    const v6 = !v4 && ip.includes(':') && /^[0-9A-Fa-f:]+$/.test(ip) && ip.split('::').length <= 2;
    const bits = m[2] === undefined ? undefined : Number(m[2]);
    return (v4 && (bits === undefined || bits <= 32)) || (v6 && (bits === undefined || bits <= 128));
  },
  { error: 'must be an IP address or CIDR block such as 203.0.113.0/24' },
);

/** SIP admission (optional): drachtio-server in front of FreeSWITCH; the edge judges every trunk call. */
export const sipSchema = z
  .strictObject({
    /** off: trunks reach FreeSWITCH directly. drachtio: through drachtio-server, judged by the edge. */
    admission: z.enum(['off', 'drachtio'], { error: 'must be "off" or "drachtio"' }).default('off'),
    drachtio: z
      .strictObject({
        /** drachtio-server's admin address (inbound connection). */
        host: hostname.default('127.0.0.1'),
        port: port.default(9022),
        secret: secretValue,
        secret_file: secretFile,
        connect_timeout_ms: durationMs(100, 120_000).default(5_000),
        reconnect,
      })
      .prefault({}),
    /** FreeSWITCH's SIP profile for trunk calls (its public context); accepted calls are proxied here. */
    freeswitch: z
      .strictObject({
        host: hostname.default('127.0.0.1'),
        port: port.default(5080),
        transport: z.enum(['udp', 'tcp'], { error: 'must be "udp" or "tcp"' }).default('udp'),
      })
      .prefault({}),
    /** Trunks allowed to send calls, by source address; anything else gets 403. */
    trunks: z
      .array(
        z.strictObject({
          name: z.string({ error: 'must be a trunk name' }).regex(/^[a-z0-9_-]{1,32}$/, { error: 'must be 1-32 lower-case letters, digits, _ or -' }),
          sources: z.array(sourceBlock, { error: 'must be a list of IP addresses or CIDR blocks' }).min(1, { error: 'must list at least one address' }),
          max_concurrent_calls: z.number({ error: 'must be a whole number' }).int({ error: 'must be a whole number' }).min(1, { error: 'must be at least 1' }).max(10_000, { error: 'must be at most 10000' }).default(30),
          /** The answer when the trunk is at max_concurrent_calls. */
          busy_status: z.union([z.literal(486), z.literal(503)], { error: 'must be 486 or 503' }).default(503),
        }),
        { error: 'must be a list of {name, sources}' },
      )
      .default([]),
    scanners: z
      .strictObject({
        /** drop: no answer at all; reject: 403. */
        action: z.enum(['drop', 'reject'], { error: 'must be "drop" or "reject"' }).default('drop'),
        /** Case-insensitive substrings of the User-Agent header. */
        user_agents: z
          .array(z.string({ error: 'must be a string' }).min(2, { error: 'must be at least 2 characters' }).max(64, { error: 'must be at most 64 characters' }), { error: 'must be a list of strings' })
          .default(['friendly-scanner', 'sipvicious', 'sipcli', 'VaxSIPUserAgent', 'sipsak', 'sip-scan', 'sundayddr', 'iWar', 'SIVuS', 'smap', 'pplsip', 'PortSIP VoIP SDK']),
      })
      .prefault({}),
    /** INVITEs one source address may send per window; above it: 503 with Retry-After. */
    rate_limit: z
      .strictObject({
        calls: z.number({ error: 'must be a whole number' }).int({ error: 'must be a whole number' }).min(1, { error: 'must be at least 1' }).default(10),
        window_s: z.number({ error: 'must be a whole number of seconds' }).int({ error: 'must be a whole number of seconds' }).min(1, { error: 'must be at least 1' }).max(3_600, { error: 'must be at most 3600' }).default(10),
      })
      .prefault({}),
    /** A proxied call counts against its trunk until FreeSWITCH reports its hangup, at most this long. */
    max_call_duration_s: z.number({ error: 'must be a whole number of seconds' }).int({ error: 'must be a whole number of seconds' }).min(60, { error: 'must be at least 60' }).max(86_400, { error: 'must be at most 86400' }).default(14_400),
  })
  .prefault({});
