// parseDestination (src/routing/numbers.ts): what a user typed after !dial,
// or a room's configured number, to the destination the dialplan gets.
// Contract: an E.164 number or a configured extension, or a reason; never
// throws. What it accepts is digits (and one leading +) only, and is a
// fixed point: parsed again, it gives the same destination.
import fc from 'fast-check';
import { expect } from 'vitest';
import { parseDestination, type NumberRules } from '../../src/routing/numbers.ts';
import { fuzzParser } from './support/fuzz.ts';
import { anyText, mutatedText } from './support/mutate.ts';

const RULES: readonly NumberRules[] = [
  { defaultCountry: 'DE', extensionPattern: /^\d{3,4}$/ },
  { defaultCountry: 'US', extensionPattern: undefined },
  { defaultCountry: 'GB', extensionPattern: /^9\d{2}$/ },
];

const typed = fc.oneof(
  anyText,
  fc.stringMatching(/^\+?[0-9 ().\-/]{2,32}$/),
  fc.stringMatching(/^ ?9?[0-9]{2,4} ?$/),
  fc.tuple(fc.constantFrom('+49 30 ', '030 ', '0151 ', '+1 212 ', '+44 20 ', '+33 1 ', '+800 ', ''), fc.stringMatching(/^[0-9]{2,12}$/)).map(([a, b]) => a + b),
  mutatedText(fc.constantFrom('+49 30 1234567', '030 1234567', '+1 (212) 555-0123', '0151 12345678', '1234', '+44 20 7946 0958', '0900 1234567', '112', '+800 1234 5678', '999'), 2),
);

fuzzParser('routing parseDestination', (fuzz) => {
  fuzz.property(
    'an E.164 number or an extension, or a reason; accepted numbers parse to themselves',
    fc.property(typed, fc.constantFrom(...RULES), (input, rules) => {
      const r = parseDestination(input, rules);
      if (!r.ok) {
        expect(r.reason.trim()).not.toBe('');
        fuzz.hit('refused');
        return;
      }
      const d = r.destination;
      const shape = d.kind === 'e164' ? /^\+[1-9][0-9]{1,14}$/.test(d.number) : /^[0-9]{2,8}$/.test(d.number) && rules.extensionPattern?.test(d.number) === true;
      expect(shape, JSON.stringify(d)).toBe(true);
      expect(parseDestination(d.number, rules)).toEqual(r);
      fuzz.hit(d.kind);
    }),
    10_000,
  );
  fuzz.expectReached(200, 'e164', 'extension', 'refused');
});
