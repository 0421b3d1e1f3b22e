// The pieces of the admission decision: trunk sources (v4, v6, CIDR),
// scanner User-Agents, the dialled number, the per-source rate limit with
// its Retry-After, and the per-trunk call slots.
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfigText, type EdgeConfig } from '../../src/config/load.ts';
import { AdmissionPolicy, didOf } from '../../src/sip/admission-policy.ts';
import { RateLimiter } from '../../src/sip/rate-limiter.ts';
import { ScannerList } from '../../src/sip/scanners.ts';
import { TrunkCalls } from '../../src/sip/trunk-calls.ts';
import { TrunkTable } from '../../src/sip/trunks.ts';

function config(sip: Record<string, unknown> = {}): EdgeConfig {
  return parseConfigText(stringify({
    esl: { password: 'x' },
    verto: { url: 'ws://127.0.0.1:1', login: 'edge@127.0.0.1', password: 'y' },
    matrix: { homeserver_url: 'http://127.0.0.1:1', user_id: '@edge:example.org', access_token: 't' },
    inbound: { routes: [{ did: '+4930123456', room: '!a:example.org' }, { did: '/^\\+4940[0-9]{6}$/', room: '!b:example.org' }] },
    sip: { admission: 'drachtio', drachtio: { secret: 's' }, trunks: [{ name: 'carrier', sources: ['198.51.100.0/24', '2001:db8::/32'], max_concurrent_calls: 2 }], rate_limit: { calls: 2, window_s: 10 }, ...sip },
  }), {});
}

describe('trunk sources', () => {
  const table = new TrunkTable([
    { name: 'a', sources: ['198.51.100.0/24'], max_concurrent_calls: 1, busy_status: 486 },
    { name: 'b', sources: ['203.0.113.7', '2001:db8::/32'], max_concurrent_calls: 1, busy_status: 503 },
  ]);
  it.each([
    ['198.51.100.200', 'a'], ['203.0.113.7', 'b'], ['2001:db8::1', 'b'], ['::ffff:198.51.100.9', 'a'],
    ['203.0.113.8', undefined], ['2001:db9::1', undefined], ['not-an-ip', undefined], ['', undefined],
  ])('%s belongs to %s', (ip, trunk) => {
    expect(table.match(ip)?.name).toBe(trunk);
  });
});

describe('scanners', () => {
  const list = new ScannerList(['friendly-scanner', 'sipvicious', 'VaxSIPUserAgent']);
  it.each([['friendly-scanner', 'friendly-scanner'], ['SIPVicious 0.3.4', 'sipvicious'], ['vaxsipuseragent/3.1', 'vaxsipuseragent'], ['Asterisk PBX', undefined], [undefined, undefined]])('%s', (ua, hit) => {
    expect(list.match(ua)).toBe(hit);
  });
});

describe('dialled number', () => {
  it.each([['+4930123456', '+4930123456'], ['4930123456', '+4930123456'], ['abc', undefined], ['+49 30', undefined], [undefined, undefined], ['1234567890123456', undefined]])('%s -> %s', (user, did) => {
    expect(didOf(user)).toBe(did);
  });
});

describe('rate limit', () => {
  it('allows `calls` per window, then refuses with the seconds until one attempt leaves the window', () => {
    const r = new RateLimiter({ calls: 2, windowS: 10 });
    expect(r.attempt('a', 0).allowed).toBe(true);
    expect(r.attempt('a', 1_000).allowed).toBe(true);
    expect(r.attempt('a', 2_000)).toEqual({ allowed: false, retryAfterS: 9 });
    expect(r.attempt('b', 2_000).allowed).toBe(true);
    // refused attempts count: a flood stays refused
    expect(r.attempt('a', 10_500).allowed).toBe(false);
    expect(r.attempt('a', 30_000).allowed).toBe(true);
  });

  it('keeps memory bounded', () => {
    const r = new RateLimiter({ calls: 1, windowS: 1, maxSources: 100 });
    for (let i = 0; i < 1_000; i += 1) r.attempt(`10.0.${i >> 8}.${i & 255}`, i);
    expect(r.trackedSources).toBeLessThanOrEqual(100);
  });
});

describe('trunk call slots', () => {
  it('holds a slot per Call-ID until released or expired', () => {
    const calls = new TrunkCalls(60);
    expect(calls.take('t', 1, 'c1', 0)).toBe(true);
    expect(calls.take('t', 1, 'c1', 0)).toBe(true);
    expect(calls.take('t', 1, 'c2', 0)).toBe(false);
    expect(calls.take('u', 1, 'c3', 0)).toBe(true);
    expect(calls.release('c1')).toBe(true);
    expect(calls.take('t', 1, 'c2', 0)).toBe(true);
    expect(calls.take('t', 1, 'c4', 60_000)).toBe(true);
  });
});

describe('admission decision', () => {
  it('judges in order: source, scanner, decision header, DID, rate, trunk limit', () => {
    const p = new AdmissionPolicy(config({ scanners: { action: 'reject' } }));
    const facts = (over: Partial<{ sourceAddress: string; userAgent: string; requestUser: string; callId: string; headers: string[] }>) => {
      const { headers = [], ...rest } = over;
      return { sourceAddress: '198.51.100.1', userAgent: undefined, requestUser: '+4930123456', callId: 'c', hasHeader: (name: string) => headers.includes(name), ...rest };
    };
    const forged = ['X-MSE-Route'];
    expect(p.decide(facts({ sourceAddress: '192.0.2.1', userAgent: 'friendly-scanner', requestUser: 'x', headers: forged }), 0)).toMatchObject({ kind: 'reject', status: 403, outcome: 'forbidden_source' });
    expect(p.decide(facts({ userAgent: 'friendly-scanner', requestUser: 'x', headers: forged }), 0)).toMatchObject({ kind: 'reject', status: 403, outcome: 'scanner' });
    expect(p.decide(facts({ requestUser: 'x', headers: forged }), 0)).toMatchObject({ kind: 'reject', status: 400, outcome: 'forged_header' });
    expect(p.decide(facts({ headers: forged }), 0)).toMatchObject({ kind: 'reject', status: 400, outcome: 'forged_header' });
    expect(p.decide(facts({ requestUser: '+4999' }), 0)).toMatchObject({ kind: 'reject', status: 404, outcome: 'unknown_did' });
    expect(p.decide(facts({ callId: 'c1', requestUser: '4940123456' }), 0)).toMatchObject({ kind: 'proxy', routeId: 'route-1', did: '+4940123456' });
    expect(p.decide(facts({ callId: 'c2' }), 0)).toMatchObject({ kind: 'proxy', routeId: 'route-0' });
    expect(p.decide(facts({ callId: 'c3' }), 0)).toMatchObject({ kind: 'reject', status: 503, outcome: 'rate_limited', headers: { 'Retry-After': '10' } });
    expect(p.decide(facts({ sourceAddress: '198.51.100.2', callId: 'c4' }), 0)).toMatchObject({ kind: 'reject', status: 503, outcome: 'trunk_busy' });
  });

  it('drops scanners by default', () => {
    expect(new AdmissionPolicy(config()).decide({ sourceAddress: '198.51.100.1', userAgent: 'sipcli/v1.8', requestUser: '+4930123456', callId: 'c', hasHeader: () => false }, 0)).toMatchObject({ kind: 'drop' });
  });
});
