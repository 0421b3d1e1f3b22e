// What the homeserver pushes and what the registration file holds, read by
// the edge in appservice mode: a transaction body (parseTransactionBody,
// src/appservice/pushed-events.ts), a ghost's user id
// (numberOfGhost, src/appservice/ghosts.ts) and the registration YAML
// (parseRegistration, src/appservice/registration.ts). None throws
// anything but its own error; each returns a value of its declared shape.
import fc from 'fast-check';
import { expect } from 'vitest';
import { parseTransactionBody } from '../../src/appservice/pushed-events.ts';
import { ghostUserId, numberOfGhost } from '../../src/appservice/ghosts.ts';
import { parseRegistration, RegistrationError } from '../../src/appservice/registration.ts';
import { fuzzParser } from './support/fuzz.ts';
import { anyText, junk, mutatedText, mutatedValue } from './support/mutate.ts';

const naming = { prefix: '_sip_', serverName: 'example.org' };

fuzzParser('appservice parseTransactionBody', (fuzz) => {
  const event = fc.record({
    type: fc.constantFrom('m.call.invite', 'm.room.member', 'm.room.message'),
    room_id: fc.constantFrom('!r:example.org', 'r'),
    sender: fc.constantFrom('@alice:example.org', '@_sip_+4930123456:example.org', 'alice'),
    event_id: fc.constantFrom('$e', ''),
    origin_server_ts: fc.integer(),
    content: fc.dictionary(fc.string({ maxLength: 5 }), junk, { maxKeys: 3 }),
    unsigned: fc.record({ age: fc.integer() }),
  });
  const body = fc.oneof(junk, mutatedValue(fc.record({ events: fc.array(event, { maxLength: 4 }) }), 2));
  fuzz.property(
    'a typed list of the events that fit, the count of those that did not, or a refusal of the whole body',
    fc.property(body, (b) => {
      const r = parseTransactionBody(b);
      if (!r.ok) {
        expect(r.reason.length).toBeGreaterThan(0);
        fuzz.hit('refused');
        return;
      }
      for (const e of r.events) {
        expect(e.roomId.startsWith('!')).toBe(true);
        expect(typeof e.content).toBe('object');
      }
      expect(r.skipped).toBe(r.reasons.length);
      fuzz.hit(r.events.length > 0 ? 'events' : 'empty');
    }),
    10_000,
  );
  fuzz.expectReached(100, 'refused', 'events');
});

fuzzParser('appservice numberOfGhost', (fuzz) => {
  const userId = fc.oneof(anyText, mutatedText(fc.constantFrom('@_sip_+4930123456:example.org', '@_sip_1234:example.org', '@_sip_bot:example.org'), 3));
  fuzz.property(
    'a number whose ghost is that very user id, or undefined',
    fc.property(userId, (u) => {
      const n = numberOfGhost(naming, u);
      if (n === undefined) {
        fuzz.hit('none');
        return;
      }
      expect(ghostUserId(naming, n)).toBe(u);
      fuzz.hit('number');
    }),
    10_000,
  );
  fuzz.expectReached(100, 'none', 'number');
});

fuzzParser('appservice parseRegistration', (fuzz) => {
  const good = 'id: matrix-sip-edge\nurl: http://edge:9465\nas_token: 0123456789abcdef0123\nhs_token: fedcba9876543210fedc\nsender_localpart: _sip_bot\nnamespaces:\n  users:\n    - exclusive: true\n      regex: "@_sip_.*"\n';
  fuzz.property(
    'a registration, or a RegistrationError naming the file',
    fc.property(fc.oneof(anyText, mutatedText(fc.constant(good), 4)), (text) => {
      try {
        const r = parseRegistration(text, 'reg.yaml');
        expect(r.asToken.reveal().length).toBeGreaterThanOrEqual(16);
        fuzz.hit('parsed');
      } catch (err) {
        expect(err).toBeInstanceOf(RegistrationError);
        expect((err as Error).message.startsWith('reg.yaml')).toBe(true);
        fuzz.hit('refused');
      }
    }),
    10_000,
  );
  fuzz.expectReached(100, 'parsed', 'refused');
});
