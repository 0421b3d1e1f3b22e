// parseEslEvent (src/esl/events.ts) on any value: modesl hands events over
// untyped, and the parser promises an EslEvent or an EslEventError.
import fc from 'fast-check';
import { expect } from 'vitest';
import { EslEventError, parseEslEvent } from '../../src/esl/events.ts';
import { fuzzParser, thrownOnly } from './support/fuzz.ts';
import { eventJson, mutatedEventJson } from './support/esl.ts';
import { junk, mutatedValue } from './support/mutate.ts';

/** A modesl Event: its headers as {name, value} pairs, its body. */
function modeslShape(json: unknown): unknown {
  if (typeof json !== 'object' || json === null) return json;
  const { _body: body, ...rest } = json as Record<string, unknown>;
  return { headers: Object.entries(rest).map(([name, value]) => ({ name, value })), body: body ?? '' };
}

fuzzParser('esl parseEslEvent', (fuzz) => {
  function check(raw: unknown): void {
    const out = thrownOnly(() => parseEslEvent(raw), EslEventError);
    if (!out.ok) {
      expect(out.error.message).toMatch(/^event /);
      fuzz.hit('refused');
      return;
    }
    const e = out.value;
    expect(e.name).toMatch(/^[A-Z][A-Z0-9_]*$/);
    expect([...e.headers.values()].every((v) => typeof v === 'string')).toBe(true);
    expect(e.headers.get('Event-Name')).toBe(e.name);
    expect(e.body === undefined || (typeof e.body === 'string' && e.body !== '')).toBe(true);
    fuzz.hit('accepted');
  }

  fuzz.property('any value', fc.property(junk, check), 3_000);

  fuzz.property('events as modesl builds them from JSON', fc.property(eventJson.map(modeslShape), check), 2_000);

  fuzz.property('events with mutated values', fc.property(mutatedEventJson.map(modeslShape), check), 3_000);

  fuzz.property('event objects mutated anywhere (headers, pairs, body)', fc.property(mutatedValue(eventJson.map(modeslShape), 4), check), 2_000);

  fuzz.expectReached(500, 'accepted', 'refused');
});
