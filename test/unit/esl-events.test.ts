import { describe, expect, it } from 'vitest';
import { EslEventError, parseEslEvent, parseFrameEvent } from '../../src/esl/events.ts';

const DTMF = { headers: [{ name: 'Event-Name', value: 'DTMF' }, { name: 'Unique-ID', value: 'u1' }, { name: 'DTMF-Digit', value: '5' }], body: '' };

describe('ESL events', () => {
  it('types a modesl event', () => {
    const e = parseEslEvent(DTMF);
    expect(e).toMatchObject({ name: 'DTMF', uniqueId: 'u1', body: undefined });
    expect(e.headers.get('DTMF-Digit')).toBe('5');
  });

  // Found by test/fuzz/esl-events.test.ts: these threw a TypeError, not the documented EslEventError.
  it.each([null, 5, 'DTMF', { headers: [null] }, { headers: [DTMF.headers[0], 7] }])('refuses %j with an EslEventError', (raw) => {
    expect(() => parseEslEvent(raw)).toThrow(EslEventError);
  });

  it('reads only event frames (text/event-*), as the client does', () => {
    expect(parseFrameEvent(DTMF, { 'Content-Type': 'text/event-json' })?.name).toBe('DTMF');
    expect(parseFrameEvent(DTMF, { 'Content-Type': 'command/reply' })).toBeUndefined();
    expect(parseFrameEvent(DTMF, undefined)).toBeUndefined();
    expect(() => parseFrameEvent({ headers: [] }, { 'Content-Type': 'text/event-json' })).toThrow(EslEventError);
  });
});
