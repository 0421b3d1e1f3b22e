import { describe, expect, it } from 'vitest';
import { wrapRequest } from '../../src/sip/incoming-request.ts';
import type { SrfInstance } from '../../src/sip/srf.ts';

const SRF = {} as SrfInstance;
const RES = { send: (): void => undefined };

function invite(sourcePort: unknown): Record<string, unknown> {
  const headers: Record<string, string> = { 'call-id': 'abc@pc33', from: '<sip:+4930999@trunk.example>;tag=1' };
  return { method: 'INVITE', uri: 'sip:+4930123456@edge.example.org', source_address: '198.51.100.7', source_port: sourcePort, get: (n: string) => headers[n.toLowerCase()] };
}

describe('wrapRequest', () => {
  it('reads a drachtio-srf INVITE', () => {
    const r = wrapRequest(SRF, invite(5060), RES);
    expect(r.ok && { port: r.request.sourcePort, user: r.request.requestUser, from: r.request.fromUser }).toEqual({ port: 5060, user: '+4930123456', from: '+4930999' });
    expect(wrapRequest(SRF, invite('5060'), RES).ok).toBe(true);
  });

  // Found by test/fuzz/sip-request.test.ts: Number() of an object without a prototype threw a TypeError.
  it.each([Object.create(null), { valueOf: () => { throw new Error('x'); } }, ' 5060', '0x13c4', '1e3', '', 0, 65_536, 50.5])('refuses the source port %j without throwing', (port) => {
    expect(wrapRequest(SRF, invite(port), RES)).toEqual({ ok: false, reason: 'no valid source port' });
  });
});
