import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EslArgumentError, eslDtmfDigits, eslDtmfDuration, eslUuid, eslVariableValue, assertSingleLine } from '../../src/esl/grammar.ts';
import { originateToEdge, uuidBroadcast, uuidKill, uuidSendDtmf, uuidSetvar, uuidSetvarMulti } from '../../src/esl/commands.ts';

const UUID = '3f1e2d4c-5b6a-4987-8a7b-6c5d4e3f2a1b';

describe('ESL argument grammar', () => {
  it('accepts well-formed tokens', () => {
    expect(eslUuid(UUID)).toBe(UUID);
    expect(eslDtmfDigits('0123456789*#ABCD')).toBe('0123456789*#ABCD');
    expect(uuidSendDtmf(UUID, '*5')).toEqual({ command: 'uuid_send_dtmf', args: `${UUID} *5` });
    expect(uuidSendDtmf(UUID, '12', 200)).toEqual({ command: 'uuid_send_dtmf', args: `${UUID} 12@200` });
    expect(uuidKill(UUID, 'USER_BUSY').args).toBe(`${UUID} USER_BUSY`);
  });

  const badDigits = ['1\napi shutdown', '1\r\n', '12 34', 'x', '', '1'.repeat(200), '1\0', '5;6', '١٢'];
  it.each(badDigits)('refuses the digit string %j', (digits) => {
    expect(() => eslDtmfDigits(digits)).toThrow(EslArgumentError);
    expect(() => uuidSendDtmf(UUID, digits)).toThrow(EslArgumentError);
  });

  const badUuids = [`${UUID}\n`, `${UUID}\r`, `${UUID} x`, ` ${UUID}`, UUID.replace('3', 'g'), '', 'not-a-uuid', `${UUID}\napi shutdown`];
  it.each(badUuids)('refuses the UUID %j', (uuid) => {
    expect(() => eslUuid(uuid)).toThrow(EslArgumentError);
    expect(() => uuidSendDtmf(uuid, '1')).toThrow(EslArgumentError);
    expect(() => uuidKill(uuid)).toThrow(EslArgumentError);
  });

  it.each(['a b', 'a\nb', 'a\rb', '${x}', 'a,b', "a'b", 'a|b', 'a{b}'])('refuses the variable value %j', (value) => {
    expect(() => eslVariableValue(value)).toThrow(EslArgumentError);
    expect(() => uuidSetvar(UUID, 'mse_x', value)).toThrow(EslArgumentError);
  });

  it('refuses DTMF durations outside 40..2000 ms', () => {
    expect(() => uuidSendDtmf(UUID, '1', 10)).toThrow(EslArgumentError);
    expect(() => uuidSendDtmf(UUID, '1', 5000)).toThrow(EslArgumentError);
    expect(() => uuidSendDtmf(UUID, '1', 1.5)).toThrow(EslArgumentError);
  });

  it('never builds a command line with CR, LF or NUL, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }), (uuid, digits) => {
        try {
          const cmd = uuidSendDtmf(uuid, digits);
          expect(`${cmd.command} ${cmd.args}`).not.toMatch(/[\r\n\0 ]{1}.*[\r\n\0]/);
          expect(/[\r\n\0]/.test(cmd.args)).toBe(false);
          expect(cmd.args.split(' ')).toHaveLength(2);
        } catch (err) {
          expect(err).toBeInstanceOf(EslArgumentError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  // Found by test/fuzz/esl-grammar.test.ts: String() of these threw a TypeError instead.
  it('refuses a non-string that String() cannot show with an EslArgumentError', () => {
    expect(() => eslUuid(Object.create(null))).toThrow(EslArgumentError);
    expect(() => eslDtmfDigits([Object.create(null)])).toThrow(EslArgumentError);
    expect(() => eslDtmfDuration(Object.create(null))).toThrow(/refused dtmf duration "\(object\)"/);
  });

  it('assertSingleLine refuses line breaks', () => {
    expect(() => assertSingleLine('status\napi x')).toThrow(EslArgumentError);
    expect(() => assertSingleLine('status')).not.toThrow();
  });
});

describe('uuid_setvar_multi', () => {
  it('joins checked names and values with ";" in the order given', () => {
    expect(uuidSetvarMulti(UUID, [['mse_leg', 'trunk'], ['mse_room_id', '!room:example.org'], ['park_after_bridge', 'true']])).toEqual({
      command: 'uuid_setvar_multi',
      args: `${UUID} mse_leg=trunk;mse_room_id=!room:example.org;park_after_bridge=true`,
    });
  });

  it.each([';', ' ', '\n', '${x}', "a'b"])('refuses a value holding %j (it would split or expand)', (bad) => {
    expect(() => uuidSetvarMulti(UUID, [['mse_user', `@a${bad}:b`]])).toThrow(EslArgumentError);
  });

  it('refuses an empty list and a bad name', () => {
    expect(() => uuidSetvarMulti(UUID, [])).toThrow(EslArgumentError);
    expect(() => uuidSetvarMulti(UUID, [['a;b', 'x']])).toThrow(EslArgumentError);
  });
});

describe('originate toward the edge (a recovery leg)', () => {
  it('shows the number as caller id, or none for an anonymous caller', () => {
    const o = { uuid: UUID, sessid: UUID, timeoutS: 30, trunkUuid: UUID };
    expect(originateToEdge({ ...o, callerIdNumber: '+4917012345678' }).args).toContain('origination_caller_id_number=+4917012345678,');
    expect(originateToEdge({ ...o, callerIdNumber: undefined }).args).not.toContain('origination_caller_id');
  });
});

describe('uuid_broadcast', () => {
  it('plays a local_stream or an absolute file on the leg itself', () => {
    expect(uuidBroadcast(UUID, 'local_stream://moh')).toEqual({ command: 'uuid_broadcast', args: `${UUID} local_stream://moh aleg` });
    expect(uuidBroadcast(UUID, '/usr/share/freeswitch/sounds/music/8000/hold.wav').args).toBe(`${UUID} /usr/share/freeswitch/sounds/music/8000/hold.wav aleg`);
  });

  it.each(['local_stream://moh aleg', 'playback::x', 'local_stream://moh!', '${hold_music}', 'http://x/y.mp3', 'moh.wav', ''])('refuses %j', (bad) => {
    expect(() => uuidBroadcast(UUID, bad)).toThrow(EslArgumentError);
  });
});
