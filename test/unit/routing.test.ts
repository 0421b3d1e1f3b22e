import { describe, expect, it } from 'vitest';
import { parseDestination } from '../../src/routing/numbers.ts';
import { checkCaller, checkDestination, type PolicyRules } from '../../src/routing/policy.ts';
import { UserLimits } from '../../src/routing/limits.ts';
import { chooseCallerId, safeCallerName } from '../../src/routing/caller-id.ts';
import { parseRoomCommand } from '../../src/calls/room-commands.ts';
import { parseCallEvent } from '../../src/matrix/call-events.ts';

const rules = { defaultCountry: 'DE' as const, extensionPattern: /^\d{3,4}$/ };
const policy: PolicyRules = {
  allowedUsers: ['@alice:example.org'],
  allowedServers: ['corp.example'],
  minPowerLevel: 50,
  allowDestinations: [/^\+49[1-9]\d{5,13}$/, /^\d{3,4}$/],
  allowInternational: false,
  allowPremium: false,
  homeCountry: 'DE',
};

describe('destinations', () => {
  it.each([
    ['030 1234567', '+49301234567'],
    ['+49 (30) 123-4567', '+49301234567'],
    ['0151 12345678', '+4915112345678'],
  ])('normalises %j to %s', (input, e164) => {
    const r = parseDestination(input, rules);
    expect(r.ok && r.destination.number).toBe(e164);
  });

  it('keeps an extension as typed', () => {
    expect(parseDestination('1234', rules)).toMatchObject({ ok: true, destination: { kind: 'extension', number: '1234' } });
  });

  it.each(['', 'abc', '+49 30 123\n4567', '12;34', '+4930${x}', '9'.repeat(40)])('refuses %j', (input) => {
    expect(parseDestination(input, rules).ok).toBe(false);
  });

  // Found by test/fuzz/numbers.test.ts: libphonenumber calls this valid, but it has 16 digits,
  // which E.164 and the dialplan (freeswitch/dialplan/matrix-sip-edge.xml) refuse.
  it('refuses a number longer than 15 digits', () => {
    expect(parseDestination('+49 30 12330 1234567', rules)).toEqual({ ok: false, reason: '+4930123301234567 is longer than the 15 digits a phone number may have' });
  });
});

describe('policy', () => {
  const dest = (s: string) => {
    const r = parseDestination(s, rules);
    if (!r.ok) throw new Error(r.reason);
    return r.destination;
  };
  it('refuses premium, international and unlisted numbers', () => {
    expect(checkDestination(policy, dest('0900 1234567'))?.code).toBe('premium_denied');
    expect(checkDestination(policy, dest('+1 212 555 0123'))?.code).toBe('international_denied');
    expect(checkDestination(policy, dest('+49 30 1234567'))).toBeUndefined();
    expect(checkDestination({ ...policy, allowDestinations: [/^\+4930/] }, dest('+49 40 1234567'))?.code).toBe('destination_not_allowed');
  });
  it('decides who may call', () => {
    expect(checkCaller(policy, '@alice:example.org', 50)).toBeUndefined();
    expect(checkCaller(policy, '@bob:corp.example', 100)).toBeUndefined();
    expect(checkCaller(policy, '@bob:example.org', 100)?.code).toBe('caller_not_allowed');
    expect(checkCaller(policy, '@alice:example.org', 0)?.code).toBe('power_level_too_low');
  });
  it('limits concurrency and rate per user', () => {
    let now = 0;
    const limits = new UserLimits({ maxConcurrentPerUser: 2, rate: { calls: 3, windowMs: 1000 } }, () => now);
    expect(limits.admit('@a:x')).toBeUndefined();
    expect(limits.admit('@a:x')).toBeUndefined();
    expect(limits.admit('@a:x')?.code).toBe('concurrency_limit');
    limits.release('@a:x');
    expect(limits.admit('@a:x')).toBeUndefined();
    limits.release('@a:x');
    expect(limits.admit('@a:x')?.code).toBe('rate_limit');
    now = 1001;
    expect(limits.admit('@a:x')).toBeUndefined();
    expect(limits.admit('@b:x')).toBeUndefined();
  });
});

describe('caller ID', () => {
  it('takes the number from config only, the name made safe for the dialplan', () => {
    const r = { defaultNumber: '+4930000', perUser: { '@a:x': '+4930111' }, perRoom: { '!r:x': '+4930222' } };
    expect(chooseCallerId(r, '@a:x', '!r:x', 'A').number).toBe('+4930111');
    expect(chooseCallerId(r, '@b:x', '!r:x', 'B').number).toBe('+4930222');
    expect(chooseCallerId(r, '@b:x', '!s:x', 'B').number).toBe('+4930000');
    expect(safeCallerName('Jürgen ${system(rm)} | O\'Brien\n', 'Matrix')).toBe('Jurgen systemrm OBrien');
    expect(safeCallerName('李雷', 'Matrix')).toBe('Matrix');
    expect(safeCallerName('__x', 'Matrix')).toBe('x');
  });

  // Found by test/fuzz/room-state.test.ts: cut at 40 after trimming, a name could end in a space
  // (and cleaning it again gave another name).
  it('cuts a long name at 40 characters without a trailing space', () => {
    const name = safeCallerName(`${'a'.repeat(39)} bb`, 'Matrix');
    expect(name).toBe('a'.repeat(39));
    expect(safeCallerName(name, 'Matrix')).toBe(name);
  });
});

describe('room commands', () => {
  it('parses !dial and !dtmf', () => {
    expect(parseRoomCommand('!dial +49 30 123')).toEqual({ ok: true, command: { kind: 'dial', number: '+49 30 123' } });
    expect(parseRoomCommand('!dtmf *5#')).toEqual({ ok: true, command: { kind: 'dtmf', digits: '*5#', durationMs: undefined } });
    expect(parseRoomCommand('!dtmf 12 250')).toEqual({ ok: true, command: { kind: 'dtmf', digits: '12', durationMs: 250 } });
    expect(parseRoomCommand('hello')).toBeUndefined();
  });
  it.each(['!dtmf 1\napi shutdown', '!dtmf 12 34', '!dtmf x', `!dtmf ${'1'.repeat(200)}`, '!dtmf', '!dial'])('refuses %j with a reply', (body) => {
    const r = parseRoomCommand(body);
    expect(r?.ok).toBe(false);
  });
});

describe('m.call.invite validation', () => {
  const meta = { roomId: '!r:x', sender: '@a:x', eventId: '$e', ageMs: 0 };
  const good = { call_id: 'c', party_id: 'p', version: '1', lifetime: 60000, offer: { type: 'offer', sdp: 'v=0\r\n' } };
  it('accepts version "1" and 0, and treats anything else as "1"', () => {
    expect(parseCallEvent('m.call.invite', meta, good)).toMatchObject({ ok: true, event: { content: { version: '1' } } });
    expect(parseCallEvent('m.call.invite', meta, { ...good, version: 0 })).toMatchObject({ ok: true, event: { content: { version: '0' } } });
    expect(parseCallEvent('m.call.invite', meta, { ...good, version: 1 })).toMatchObject({ ok: true, event: { content: { version: '1' } } });
  });
  it.each([
    ['no offer', { ...good, offer: undefined }, 'offer'],
    ['a 1 MB SDP', { ...good, offer: { type: 'offer', sdp: 'x'.repeat(1024 * 1024) } }, 'offer.sdp'],
    ['lifetime as a string', { ...good, lifetime: 'soon' }, 'lifetime'],
    ['call_id as a number', { ...good, call_id: 42 }, 'call_id'],
  ])('refuses %s, naming the field', (_n, content, field) => {
    const r = parseCallEvent('m.call.invite', meta, content);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(field);
  });
});
