// disableDrachtioDebug(): whatever DEBUG enables, drachtio-srf's own `debug`
// instance prints nothing under drachtio:* afterwards (its output carries
// the admin secret); other namespaces stay as they were.
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { disableDrachtioDebug } from '../../src/sip/srf.ts';

const require = createRequire(import.meta.url);
// `debug` as drachtio-srf resolves it
const debug = createRequire(require.resolve('drachtio-srf'))('debug') as { enable(ns: string): void; disable(): string; enabled(name: string): boolean };
const saved = process.env['DEBUG'];

afterEach(() => {
  debug.enable(saved ?? '');
  if (saved === undefined) delete process.env['DEBUG'];
});

describe('disableDrachtioDebug', () => {
  it.each(['drachtio*', '*', 'drachtio:agent', 'd*,other', 'other,drachtio:*'])('DEBUG=%s: drachtio namespaces off, told once', (value) => {
    debug.enable(value);
    expect(debug.enabled('drachtio:agent') || debug.enabled('drachtio:srf')).toBe(true);
    expect(disableDrachtioDebug()).toBe(true);
    for (const ns of ['drachtio:agent', 'drachtio:srf', 'drachtio:socket', 'drachtio:request', 'drachtio:response', 'drachtio:later']) expect(debug.enabled(ns), ns).toBe(false);
    expect(process.env['DEBUG']).toContain('-drachtio*');
    expect(disableDrachtioDebug()).toBe(false);
  });

  it('leaves other namespaces enabled, and an unset DEBUG unset', () => {
    debug.enable('other,*:x');
    expect(disableDrachtioDebug()).toBe(true);
    expect(debug.enabled('other')).toBe(true);
    expect(debug.enabled('lib:x')).toBe(true);
    expect(debug.enabled('drachtio:x')).toBe(false);
    debug.enable('other');
    expect(disableDrachtioDebug()).toBe(false);
    expect(debug.enabled('other')).toBe(true);
    debug.disable();
    expect(disableDrachtioDebug()).toBe(false);
    expect(process.env['DEBUG']).toBeUndefined();
  });
});
