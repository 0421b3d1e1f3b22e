// What the edge reads from room state and member profiles, all written by
// room members: the destination state event (parseDestinationState,
// src/routing/room-destination.ts), m.room.power_levels (powerLevelOf,
// src/matrix/power-levels.ts) and a display name made into a caller ID
// name for the dialplan (safeCallerName, src/routing/caller-id.ts).
// None of them throws; each returns a value of its declared shape.
import fc from 'fast-check';
import { expect } from 'vitest';
import { CALLER_NAME, safeCallerName } from '../../src/routing/caller-id.ts';
import { parseDestinationState } from '../../src/routing/room-destination.ts';
import { powerLevelOf } from '../../src/matrix/power-levels.ts';
import { fuzzParser } from './support/fuzz.ts';
import { anyText, junk, mutatedText, mutatedValue } from './support/mutate.ts';

/** What freeswitch/dialplan/matrix-sip-edge.xml admits as verto_dvar_mse_caller_id_name. */
const DIALPLAN_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._()+-]{0,63}$/;

fuzzParser('routing parseDestinationState', (fuzz) => {
  const content = fc.oneof(junk, mutatedValue(fc.record({ number: fc.oneof(fc.constantFrom('+4930123456', '1234', 'x'), anyText) }), 2));
  fuzz.property(
    'the number of a { number } content of 2 to 32 characters, else undefined',
    fc.property(content, (c) => {
      const n = parseDestinationState(c);
      if (n === undefined) {
        fuzz.hit('none');
        return;
      }
      const exact = typeof c === 'object' && c !== null && Object.keys(c).length === 1 && (c as Record<string, unknown>)['number'] === n;
      // zod counts characters (code points), not UTF-16 units
      expect(exact && [...n].length >= 2 && [...n].length <= 32).toBe(true);
      fuzz.hit('number');
    }),
    10_000,
  );
  fuzz.expectReached(500, 'none', 'number');
});

fuzzParser('matrix powerLevelOf', (fuzz) => {
  const user = fc.oneof(fc.constantFrom('@alice:example.org', '@bob:example.org', '__proto__', 'constructor', 'toString'), anyText);
  const levels = fc.oneof(
    junk,
    mutatedValue(fc.record({ users: fc.dictionary(user, fc.oneof(fc.integer({ min: -100, max: 100 }), junk), { maxKeys: 3 }), users_default: fc.oneof(fc.integer({ min: 0, max: 100 }), junk) }, { requiredKeys: [] }), 2),
  );
  fuzz.property(
    'a whole number: the user\'s own level, else users_default, else 0',
    fc.property(levels, user, (content, userId) => {
      const level = powerLevelOf(content, userId);
      expect(Number.isInteger(level)).toBe(true);
      fuzz.hit(level === 0 ? 'zero' : 'level');
    }),
    10_000,
  );
  fuzz.expectReached(500, 'zero', 'level');
});

fuzzParser('routing safeCallerName', (fuzz) => {
  const name = fc.option(fc.oneof(anyText, fc.string({ unit: 'grapheme', maxLength: 60 }), mutatedText(fc.constantFrom('Alice Müller', 'José (work)', 'Ω bot', '.hidden', '   ', 'a'.repeat(39) + ' bb'), 3)), { nil: undefined });
  fuzz.property(
    'a name the dialplan admits, or the fallback; cleaning it again changes nothing',
    fc.property(name, (displayName) => {
      const n = safeCallerName(displayName, 'Matrix');
      if (n === 'Matrix') {
        fuzz.hit('fallback');
        return;
      }
      expect(CALLER_NAME.test(n) && DIALPLAN_NAME.test(n), JSON.stringify(n)).toBe(true);
      expect(safeCallerName(n, 'Matrix')).toBe(n);
      fuzz.hit('cleaned');
    }),
    10_000,
  );
  fuzz.expectReached(500, 'fallback', 'cleaned');
});
