import { describe, expect, it } from 'vitest';
import { parseChannels, parseGetvar } from '../../src/esl/channels.ts';

describe('show channels as json', () => {
  it('reads the empty form without rows (real capture esl-03)', () => {
    expect(parseChannels('{"row_count": 0}\n')).toEqual([]);
  });
  it('reads rows, skipping malformed ones', () => {
    const body = JSON.stringify({ row_count: 2, rows: [{ uuid: 'a', name: 'verto.rtc/x', direction: 'inbound', callstate: 'ACTIVE', extra: '1' }, { nope: true }] });
    expect(parseChannels(body)).toEqual([{ uuid: 'a', name: 'verto.rtc/x', direction: 'inbound', callstate: 'ACTIVE' }]);
  });
  it('refuses what is not a channel table', () => {
    expect(() => parseChannels('-ERR no')).toThrow(/not JSON/);
    expect(() => parseChannels('{"rows": []}')).toThrow(/row_count/);
  });
  it('uuid_getvar: _undef_ and -ERR are no value', () => {
    expect(parseGetvar('_undef_')).toBeUndefined();
    expect(parseGetvar('-ERR No such channel!\n')).toBeUndefined();
    expect(parseGetvar('!room:x')).toBe('!room:x');
  });
});
