// The api bodies reconciliation reads (src/esl/channels.ts): parseChannels
// (`show channels as json`) and parseGetvar (`uuid_getvar`). parseChannels
// skips rows that do not parse and throws an Error naming "show channels"
// for a body that does not; parseGetvar never throws.
import fc from 'fast-check';
import { expect } from 'vitest';
import { parseChannels, parseGetvar, type ChannelRow } from '../../src/esl/channels.ts';
import { fuzzParser, thrownOnly } from './support/fuzz.ts';
import { anyText, mutatedText, mutatedValue, toJson } from './support/mutate.ts';

const row = fc.record(
  {
    uuid: fc.uuid(),
    direction: fc.constantFrom('inbound', 'outbound'),
    created: fc.constant('2026-11-25 09:31:12'),
    name: fc.constantFrom('verto.rtc/1000', 'sofia/external/+4930123456@trunk', ''),
    state: fc.constantFrom('CS_EXECUTE', 'CS_EXCHANGE_MEDIA'),
    callstate: fc.constantFrom('ACTIVE', 'RINGING', 'EARLY', ''),
    cid_num: fc.string(),
    dest: fc.string(),
  },
  { requiredKeys: ['uuid', 'name'] },
);
const table = fc.array(row, { maxLength: 4 }).map((rows) => (rows.length === 0 ? { row_count: 0 } : { row_count: rows.length, rows }));
const tableText = mutatedValue(table).map(toJson);

function isRow(r: ChannelRow): boolean {
  return [r.uuid, r.name, r.direction, r.callstate].every((v) => typeof v === 'string');
}

fuzzParser('esl parseChannels', (fuzz) => {
  function check(body: string): ChannelRow[] {
    const out = thrownOnly(() => parseChannels(body), Error);
    if (!out.ok) {
      // Its own refusals only: a plain Error, not a TypeError or RangeError from inside.
      expect(out.error.constructor).toBe(Error);
      expect(out.error.message).toMatch(/^show channels: (not JSON: |no row_count$)/);
      fuzz.hit(out.error.message.startsWith('show channels: not JSON') ? 'not JSON' : 'no row_count');
      return [];
    }
    expect(out.value.every(isRow)).toBe(true);
    fuzz.hit(out.value.length > 0 ? 'rows' : 'no rows');
    return out.value;
  }

  fuzz.property('random text', fc.property(anyText, (t) => void check(t)), 2_000);
  fuzz.property('random JSON', fc.property(fc.jsonValue({ maxDepth: 3 }), (v) => void check(toJson(v))), 2_000);
  fuzz.property('channel tables, values mutated', fc.property(tableText, (t) => void check(t)), 3_000);
  fuzz.property('channel tables, text mutated', fc.property(mutatedText(tableText, 3), (t) => void check(t)), 1_500);
  fuzz.property(
    'the rows it returns, listed again, come back unchanged',
    fc.property(tableText, (t) => {
      const rows = check(t);
      expect(check(JSON.stringify({ row_count: rows.length, rows }))).toEqual(rows);
    }),
    1_500,
  );

  fuzz.expectReached(100, 'rows', 'no rows', 'not JSON', 'no row_count');
});

fuzzParser('esl parseGetvar', (fuzz) => {
  const reply = fc.oneof(
    anyText,
    fc.constantFrom('_undef_', '_undef_\n', '-ERR No such channel!\n', '', '\n', '\n\n'),
    mutatedText(fc.constantFrom('3f1e2d4c-5b6a-4987-8a7b-6c5d4e3f2a1b\n', 'room:example.org\n', '_undef_\n')),
  );
  fuzz.property(
    'a value, or undefined for unset / missing channel; only the one trailing LF is taken off',
    fc.property(reply, (body) => {
      const v = parseGetvar(body);
      if (v === undefined) {
        fuzz.hit('unset');
        return;
      }
      expect(v === body || `${v}\n` === body).toBe(true);
      expect(v === '_undef_' || v === '' || v.startsWith('-ERR')).toBe(false);
      fuzz.hit('value');
    }),
    10_000,
  );
  fuzz.expectReached(500, 'unset', 'value');
});
