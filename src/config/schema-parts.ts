import { z } from 'zod';

// Field types the config sections share: ports, durations, secrets, reconnect policy, host names.

export const port = z
  .number({ error: 'must be a port number (1-65535)' })
  .int({ error: 'must be a port number (1-65535)' })
  .min(1, { error: 'must be a port number (1-65535)' })
  .max(65535, { error: 'must be a port number (1-65535)' });

export const durationMs = (min: number, max: number) =>
  z
    .number({ error: `must be a number of milliseconds between ${min} and ${max}` })
    .int({ error: `must be a whole number of milliseconds between ${min} and ${max}` })
    .min(min, { error: `must be at least ${min} ms` })
    .max(max, { error: `must be at most ${max} ms` });

/** A secret in the file: the value itself, or omitted and given by env / *_file. */
export const secretValue = z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }).optional();
export const secretFile = z.string({ error: 'must be a file path' }).min(1, { error: 'must not be empty' }).optional();

export const reconnect = z
  .strictObject({
    initial_delay_ms: durationMs(10, 60_000).default(250),
    max_delay_ms: durationMs(100, 600_000).default(15_000),
  })
  .refine((r) => r.max_delay_ms >= r.initial_delay_ms, {
    error: 'max_delay_ms must not be below initial_delay_ms',
    path: ['max_delay_ms'],
  })
  .prefault({});

export const hostname = z
  .string({ error: 'must be a host name or IP address' })
  .regex(/^[A-Za-z0-9.:\-[\]]{1,253}$/, { error: 'must be a host name or IP address' });
