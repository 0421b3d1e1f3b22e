// The ESL argument grammar (src/esl/grammar.ts) and the command builders
// on top of it (src/esl/commands.ts). ESL is LF-framed and space-split:
// whatever a peer put in a value (a UUID from an event, digits from a
// room, a cause from Verto), an accepted token holds no line break, no
// space, nothing FreeSWITCH expands; a refused one is an EslArgumentError
// naming the kind of token.
import fc from 'fast-check';
import { expect } from 'vitest';
import {
  assertSingleLine,
  EslArgumentError,
  eslApiCommand,
  eslDtmfDigits,
  eslDtmfDuration,
  eslEventName,
  eslHangupCause,
  eslUuid,
  eslVariableName,
  eslVariableValue,
} from '../../src/esl/grammar.ts';
import { uuidExists, uuidGetvar, uuidKill, uuidSendDtmf, uuidSetvar, type ApiCommand } from '../../src/esl/commands.ts';
import { fuzzParser, LINE_BREAK, thrownOnly } from './support/fuzz.ts';
import { anyText, junk, mutatedText } from './support/mutate.ts';

/** Nothing that ends a line, splits an argument, or that FreeSWITCH expands or splits on. */
const SAFE = /^[A-Za-z0-9*#+@._:\-/=!]*$/;

interface Checker {
  readonly kind: string;
  readonly check: (v: unknown) => string;
  readonly seeds: fc.Arbitrary<string>;
  readonly maxLength: number;
}

const CHECKERS: readonly Checker[] = [
  { kind: 'uuid', check: eslUuid, seeds: fc.uuid(), maxLength: 36 },
  { kind: 'dtmf', check: eslDtmfDigits, seeds: fc.stringMatching(/^[0-9*#A-Da-d]{1,70}$/), maxLength: 64 },
  { kind: 'variable name', check: eslVariableName, seeds: fc.constantFrom('verto_dvar_mse_room_id', 'mse_matrix_call_id', '_x', 'a'), maxLength: 64 },
  { kind: 'variable value', check: eslVariableValue, seeds: fc.constantFrom('abcDEF123', 'room:example.org', '+4930123456', 'a=b/c', 'x!y'), maxLength: 256 },
  { kind: 'hangup cause', check: eslHangupCause, seeds: fc.constantFrom('NORMAL_CLEARING', 'USER_BUSY', 'NO_ANSWER', 'ALLOTTED_TIMEOUT'), maxLength: 41 },
  { kind: 'api command', check: eslApiCommand, seeds: fc.constantFrom('uuid_kill', 'show', 'status', 'uuid_send_dtmf'), maxLength: 41 },
  { kind: 'event name', check: eslEventName, seeds: fc.constantFrom('CHANNEL_BRIDGE', 'DTMF', 'BACKGROUND_JOB'), maxLength: 41 },
];

for (const c of CHECKERS) {
  fuzzParser(`esl grammar ${c.kind}`, (fuzz) => {
    const check = (v: unknown): void => {
      const out = thrownOnly(() => c.check(v), EslArgumentError);
      if (!out.ok) {
        expect((out.error as EslArgumentError).kind).toBe(c.kind);
        expect(out.error.message.startsWith(`refused ${c.kind} `)).toBe(true);
        fuzz.hit('refused');
        return;
      }
      const token = out.value;
      expect(token === v && SAFE.test(token) && token.length <= c.maxLength, JSON.stringify(token)).toBe(true);
      fuzz.hit('accepted');
    };
    fuzz.property('random text', fc.property(anyText, check), 3_000);
    fuzz.property('non-strings', fc.property(junk.filter((v) => typeof v !== 'string'), check), 1_000);
    fuzz.property('valid tokens, mutated', fc.property(mutatedText(c.seeds, 3), check), 6_000);
    fuzz.expectReached(100, 'accepted', 'refused');
  });
}

fuzzParser('esl grammar dtmf duration', (fuzz) => {
  const check = (v: unknown): void => {
    const out = thrownOnly(() => eslDtmfDuration(v), EslArgumentError);
    if (!out.ok) {
      expect(out.error.message.startsWith('refused dtmf duration ')).toBe(true);
      fuzz.hit('refused');
      return;
    }
    expect(out.value === String(v) && /^[0-9]{2,4}$/.test(out.value) && Number(v) >= 40 && Number(v) <= 2000).toBe(true);
    fuzz.hit('accepted');
  };
  fuzz.property('numbers near the bounds', fc.property(fc.oneof(fc.integer({ min: 0, max: 2100 }), fc.double({ min: 0, max: 2100 }), fc.integer()), check), 7_000);
  fuzz.property('anything else', fc.property(junk, check), 3_000);
  fuzz.expectReached(100, 'accepted', 'refused');
});

fuzzParser('esl command builders', (fuzz) => {
  const uuid = fc.oneof(fc.uuid(), mutatedText(fc.uuid(), 2), anyText);
  const text = fc.oneof(anyText, mutatedText(fc.constantFrom('1', '*5#', 'USER_BUSY', 'mse_room', 'room:example.org'), 2));
  const duration = fc.option(fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.double()), { nil: undefined });
  type Build = readonly [builder: string, uuid: string, a?: string, b?: string | number];
  const build: fc.Arbitrary<Build> = fc.oneof(
    fc.tuple(fc.constant('uuidSendDtmf'), uuid, text, duration),
    fc.tuple(fc.constant('uuidKill'), uuid, fc.option(text, { nil: undefined })),
    fc.tuple(fc.constant('uuidExists'), uuid),
    fc.tuple(fc.constant('uuidGetvar'), uuid, text),
    fc.tuple(fc.constant('uuidSetvar'), uuid, text, text),
  );
  /** The command, and how many space-separated arguments it must have. */
  function run([builder, u, a = '', b]: Build): [ApiCommand, number] {
    switch (builder) {
      case 'uuidSendDtmf':
        return [uuidSendDtmf(u, a, typeof b === 'number' ? b : undefined), 2];
      case 'uuidKill':
        return [uuidKill(u, a === '' ? undefined : a), a === '' ? 1 : 2];
      case 'uuidExists':
        return [uuidExists(u), 1];
      case 'uuidGetvar':
        return [uuidGetvar(u, a), 2];
      default:
        return [uuidSetvar(u, a, String(b)), 3];
    }
  }
  fuzz.property(
    'a built command is one line of exactly its arguments, or an EslArgumentError',
    fc.property(build, (b) => {
      const out = thrownOnly(() => run(b), EslArgumentError);
      if (!out.ok) {
        fuzz.hit('refused');
        return;
      }
      const [command, args] = out.value;
      const line = `${command.command} ${command.args}`;
      expect(LINE_BREAK.test(line) || command.args.split(' ').length !== args).toBe(false);
      expect(() => assertSingleLine(line)).not.toThrow();
      fuzz.hit('built');
    }),
    10_000,
  );
  fuzz.property(
    'assertSingleLine refuses exactly the lines with CR, LF or NUL',
    fc.property(fc.oneof(anyText, mutatedText(fc.constant('uuid_kill 3f1e2d4c-5b6a-4987-8a7b-6c5d4e3f2a1b'))), (line) => {
      const out = thrownOnly(() => assertSingleLine(line), EslArgumentError);
      expect(out.ok).toBe(!LINE_BREAK.test(line));
    }),
    2_000,
  );
  fuzz.expectReached(100, 'built', 'refused');
});
