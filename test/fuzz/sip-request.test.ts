// SIP admission input: wrapRequest (src/sip/incoming-request.ts) checks the
// request object drachtio-srf hands over for each INVITE / OPTIONS (its
// fields come from the trunk's packet) before anything is read from it;
// AdmissionPolicy.decide (src/sip/admission-policy.ts) judges what passed.
// Contract: { ok, request } or { ok: false, reason }, never a throw (the
// service calls it outside any try); a decision with a SIP status.
import { isIP } from 'node:net';
import fc from 'fast-check';
import { expect } from 'vitest';
import { AdmissionPolicy, type InviteFacts } from '../../src/sip/admission-policy.ts';
import { wrapRequest } from '../../src/sip/incoming-request.ts';
import type { SrfInstance } from '../../src/sip/srf.ts';
import { parseConfigText } from '../../src/config/load.ts';
import { fuzzParser } from './support/fuzz.ts';
import { anyText, junk, mostly, mutatedText } from './support/mutate.ts';

const SRF = {} as SrfInstance;
const RES = { send: (): void => undefined };
const USER = /^[A-Za-z0-9+*#._~!$&'()=,;?/-]{1,64}$/;
const REASONS = ['not a drachtio-srf request', 'no valid method', 'no valid Request-URI', 'no valid source address', 'no valid source port', 'no valid Call-ID'];

const uri = mostly(
  fc.constantFrom('sip:+4930123456@edge.example.org', 'sips:4930123456@edge.example.org;transport=tls', 'sip:edge.example.org', 'SIP:123@x'),
  fc.oneof(fc.constantFrom('tel:+4930123456', 'sip:a b@x'), mutatedText(fc.constant('sip:+4930123456@192.0.2.1:5060;user=phone'), 3), anyText),
  4,
);
const address = mostly(
  fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom('::ffff:198.51.100.7', '198.51.100.9', '2001:db8::5', 'fe80::1%eth0')),
  fc.oneof(fc.constant(''), mutatedText(fc.ipV4(), 2), anyText),
  4,
);
const port = mostly(fc.oneof(fc.integer({ min: 1, max: 65_535 }), fc.constantFrom('5060', '65535')), fc.oneof(fc.integer(), fc.constantFrom(' 5060', '0x13c4', '5060.0', '1e3', '', '0', '65536'), junk), 4);
const headerValue = mostly(
  fc.constantFrom('a84b4c76e66710@pc33.example.org', 'friendly-scanner', 'Asterisk PBX 18', '"Alice" <sip:+4930999@trunk.example>;tag=1', '<sip:anonymous@anonymous.invalid>', 'sip:+49301@x'),
  fc.oneof(mutatedText(fc.constant('<sip:+4930999@trunk.example>;tag=9'), 2), anyText, junk),
  3,
);
const headers = fc.record(
  { 'call-id': headerValue, 'user-agent': headerValue, from: headerValue, 'x-mse-route': headerValue },
  { requiredKeys: [] },
);
const method = mostly(fc.constantFrom('INVITE', 'OPTIONS'), fc.oneof(fc.constantFrom('invite', 'I', 'REGISTER'), anyText, junk), 4);

const request = fc
  .record({ method, uri, source_address: address, source_port: port, headers }, { requiredKeys: ['headers'] })
  .map(({ headers: h, ...fields }) => ({
    ...fields,
    get: (name: string): unknown => (h as Record<string, unknown>)[name.toLowerCase()],
    has: (name: string): boolean => name.toLowerCase() in h,
  }));

fuzzParser('sip wrapRequest', (fuzz) => {
  function check(req: unknown, res: unknown): void {
    const r = wrapRequest(SRF, req, res);
    if (!r.ok) {
      expect(REASONS).toContain(r.reason);
      fuzz.hit(r.reason);
      return;
    }
    const q = r.request;
    const ok =
      /^[A-Z]{2,16}$/.test(q.method) &&
      isIP(q.sourceAddress) !== 0 &&
      Number.isInteger(q.sourcePort) && q.sourcePort >= 1 && q.sourcePort <= 65_535 &&
      /^[\x21-\x7e]{1,256}$/.test(q.callId) &&
      (q.userAgent === undefined || q.userAgent.length <= 256) &&
      [q.requestUser, q.fromUser].every((u) => u === undefined || USER.test(u)) &&
      typeof q.hasHeader('X-MSE-Route') === 'boolean';
    expect(ok, JSON.stringify(q)).toBe(true);
    fuzz.hit('accepted');
  }

  fuzz.property('anything as the request and the response', fc.property(junk, fc.oneof(fc.constant(RES), junk), check), 2_000);
  fuzz.property('request objects with fields valid or not', fc.property(request, (req) => check(req, RES)), 8_000);

  fuzz.expectReached(100, 'accepted', ...REASONS);
});

fuzzParser('sip AdmissionPolicy.decide', (fuzz) => {
  const config = parseConfigText(
    [
      'verto: {url: "ws://127.0.0.1:1", login: "edge@127.0.0.1"}',
      'matrix: {homeserver_url: "http://127.0.0.1:1", user_id: "@edge:example.org"}',
      'inbound: {routes: [{did: "+4930123456", room: "!a:example.org"}, {did: "/^\\\\+4940[0-9]{2,6}$/", room: "!b:example.org"}]}',
      'sip: {admission: drachtio, trunks: [{name: carrier, sources: ["198.51.100.0/24", "2001:db8::/32"], max_concurrent_calls: 5}], rate_limit: {calls: 3, window_s: 10}}',
    ].join('\n'),
    { MSE_ESL_PASSWORD: 'x', MSE_VERTO_PASSWORD: 'x', MSE_MATRIX_ACCESS_TOKEN: 'x', MSE_DRACHTIO_SECRET: 'x' },
  );
  const facts: fc.Arbitrary<InviteFacts> = fc
    .record({
      sourceAddress: mostly(fc.constantFrom('198.51.100.7', '198.51.100.250', '::ffff:198.51.100.9', '2001:db8::5'), fc.oneof(fc.constant('203.0.113.1'), fc.ipV4(), fc.ipV6(), anyText), 3),
      userAgent: mostly(fc.constantFrom(undefined, 'Asterisk PBX 18'), fc.oneof(fc.constantFrom('friendly-scanner', 'SIPVicious'), anyText), 4),
      requestUser: mostly(fc.constantFrom('+4930123456', '4930123456', '+494012', '+4940123456'), fc.oneof(fc.constantFrom(undefined, '+1'), mutatedText(fc.constant('+4930123456'), 2), anyText), 3),
      callId: fc.oneof(fc.constantFrom('c1', 'c2', 'c3', 'c4', 'c5', 'c6'), fc.string({ minLength: 1, maxLength: 20 })),
      forged: mostly(fc.constant(false), fc.constant(true), 8),
    })
    .map(({ forged, ...f }) => ({ ...f, hasHeader: (name: string) => forged && name === 'X-MSE-Route' }));

  fuzz.property(
    'proxy with a route and a DID, or a SIP status and a reason, or a drop',
    fc.property(fc.array(facts, { minLength: 1, maxLength: 10 }), fc.nat({ max: 120_000 }), (batch, start) => {
      const policy = new AdmissionPolicy(config);
      batch.forEach((f, i) => {
        const d = policy.decide(f, start + i * 10);
        if (d.kind === 'proxy') expect(/^\+[0-9]{2,15}$/.test(d.did) && /^route-[0-9]+$/.test(d.routeId)).toBe(true);
        else expect(d.reason.trim()).not.toBe('');
        if (d.kind === 'reject') {
          expect([400, 403, 404, 486, 503]).toContain(d.status);
          expect(Object.values(d.headers).every((v) => /^[0-9]+$/.test(v))).toBe(true);
        }
        fuzz.hit(d.outcome);
      });
    }),
    10_000,
  );

  fuzz.expectReached(40, 'accepted', 'forbidden_source', 'scanner', 'forged_header', 'unknown_did', 'rate_limited', 'trunk_busy');
});
