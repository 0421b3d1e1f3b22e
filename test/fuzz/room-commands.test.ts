// parseRoomCommand (src/calls/room-commands.ts): any message body posted
// in a room the edge serves. Contract: undefined (not a command), a
// command, or a reply saying what was wrong; never throws. DTMF leaves
// only as tokens the ESL grammar accepts; nothing accepted spans lines;
// an accepted command, typed again, parses to itself.
import fc from 'fast-check';
import { expect } from 'vitest';
import { MAX_DTMF_DIGITS, parseRoomCommand, type RoomCommand } from '../../src/calls/room-commands.ts';
import { eslDtmfDigits, eslDtmfDuration } from '../../src/esl/grammar.ts';
import { fuzzParser } from './support/fuzz.ts';
import { anyText, hostile, mutatedText } from './support/mutate.ts';

const word = fc.constantFrom('!dial', '!dtmf', '!hangup', '!help', '!DIAL', '!', '!dtmf2', '!dia');
const space = fc.constantFrom(' ', '  ', '\t', '\u00a0', '\u2028', '\n', '\r\n', '\u0085', '');
const lead = fc.oneof({ weight: 8, arbitrary: fc.constant('') }, { weight: 1, arbitrary: space });
const sep = fc.oneof({ weight: 6, arbitrary: fc.constant(' ') }, { weight: 1, arbitrary: space });
const arg = fc.oneof(fc.stringMatching(/^[0-9*#A-Da-d]{1,40}$/), fc.integer({ min: 0, max: 3000 }).map(String), fc.constantFrom('+49', '30', '(030)', '123-45'), hostile, anyText);

function command(w: fc.Arbitrary<string>, args: fc.Arbitrary<string>, maxArgs: number): fc.Arbitrary<string> {
  return fc.tuple(lead, w, fc.array(fc.tuple(sep, args), { maxLength: maxArgs }), lead).map(([l, c, a, t]) => `${l}${c}${a.map(([s, x]) => `${s}${x}`).join('')}${t}`);
}

const structured = fc.oneof(
  command(word, arg, 3),
  command(fc.constant('!dtmf'), fc.oneof({ weight: 3, arbitrary: fc.stringMatching(/^[0-9*#A-Da-d]{1,36}$/) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 2500 }).map(String) }, { weight: 1, arbitrary: arg }), 3),
  command(fc.constant('!dial'), fc.oneof(fc.stringMatching(/^\+?[0-9 ()-]{1,16}$/), arg), 3),
);

/** The body a user would type for a command. */
function typed(c: RoomCommand): string {
  switch (c.kind) {
    case 'dial':
      return `!dial ${c.number}`;
    case 'dtmf':
      return c.durationMs === undefined ? `!dtmf ${c.digits}` : `!dtmf ${c.digits} ${c.durationMs}`;
    default:
      return `!${c.kind}`;
  }
}

fuzzParser('calls parseRoomCommand', (fuzz) => {
  function check(body: string): void {
    const r = parseRoomCommand(body);
    if (r === undefined) {
      fuzz.hit('not a command');
      return;
    }
    expect(body.startsWith('!')).toBe(true);
    if (!r.ok) {
      expect(r.reply.trim()).not.toBe('');
      fuzz.hit('reply');
      return;
    }
    const c = r.command;
    // The number is one line of words; parseDestination (fuzzed on its own) decides whether it is one.
    if (c.kind === 'dial') expect(/^\S+( \S+)*$/.test(c.number) && !/[\r\n]/.test(c.number), JSON.stringify(c.number)).toBe(true);
    if (c.kind === 'dtmf') {
      expect(eslDtmfDigits(c.digits) === c.digits && c.digits.length <= MAX_DTMF_DIGITS && c.digits === c.digits.toUpperCase()).toBe(true);
      if (c.durationMs !== undefined) eslDtmfDuration(c.durationMs);
    }
    expect(parseRoomCommand(typed(c))).toEqual(r);
    fuzz.hit(c.kind);
  }

  fuzz.property('random text', fc.property(fc.oneof(anyText, anyText.map((t) => `!${t}`)), check), 3_000);
  fuzz.property('commands with arguments, spaces and line breaks', fc.property(structured, check), 5_000);
  fuzz.property('commands, text mutated', fc.property(mutatedText(structured, 3), check), 2_000);

  fuzz.expectReached(40, 'not a command', 'reply', 'dial', 'dtmf', 'hangup', 'help');
});
