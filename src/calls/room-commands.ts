import { DTMF_MAX_DURATION_MS, DTMF_MIN_DURATION_MS } from '../esl/grammar.ts';

/** A command typed in a room the edge serves. */
export type RoomCommand =
  | { readonly kind: 'dial'; readonly number: string }
  | { readonly kind: 'dtmf'; readonly digits: string; readonly durationMs: number | undefined }
  | { readonly kind: 'hangup' }
  | { readonly kind: 'help' };

export type CommandParse =
  | { readonly ok: true; readonly command: RoomCommand }
  | { readonly ok: false; readonly reply: string }
  | undefined;

export const MAX_DTMF_DIGITS = 32;
const DIGITS = /^[0-9*#A-Da-d]+$/;

export const COMMAND_HELP = [
  'Commands:',
  '!dial <number>  the next call you place in this room goes to this number',
  `!dtmf <digits> [duration ms]  send touch tones (0-9 * # A-D, at most ${MAX_DTMF_DIGITS}) during a call`,
  '!hangup  end the call in this room',
].join('\n');

/**
 * Parse a message body. Returns undefined for ordinary messages (not
 * commands), a command, or a reply that explains what was wrong. Nothing
 * unvalidated leaves here.
 */
export function parseRoomCommand(body: string): CommandParse {
  if (!body.startsWith('!')) return undefined;
  const firstLine = body.split('\n', 1)[0] ?? '';
  const multiLine = body.includes('\n') || body.includes('\r');
  const [word, ...args] = firstLine.trim().split(/\s+/);
  switch (word) {
    case '!dial': {
      if (multiLine) return { ok: false, reply: '!dial takes one number on one line.' };
      const number = args.join(' ');
      if (number === '') return { ok: false, reply: 'Usage: !dial <number>, e.g. !dial +49 30 1234567' };
      return { ok: true, command: { kind: 'dial', number } };
    }
    case '!dtmf': {
      if (multiLine) return { ok: false, reply: '!dtmf takes digits on one line, nothing else.' };
      if (args.length === 0 || args.length > 2) return { ok: false, reply: `Usage: !dtmf <digits> [duration ms], digits 0-9 * # A-D.` };
      const digits = args[0] ?? '';
      if (!DIGITS.test(digits)) return { ok: false, reply: `"${digits.slice(0, 20)}" is not a DTMF string: use only 0-9 * # A-D.` };
      if (digits.length > MAX_DTMF_DIGITS) return { ok: false, reply: `At most ${MAX_DTMF_DIGITS} digits at a time (you sent ${digits.length}).` };
      let durationMs: number | undefined;
      if (args[1] !== undefined) {
        const d = /^\d{2,4}$/.test(args[1]) ? Number(args[1]) : NaN;
        if (!(d >= DTMF_MIN_DURATION_MS && d <= DTMF_MAX_DURATION_MS)) {
          return { ok: false, reply: `The duration must be ${DTMF_MIN_DURATION_MS} to ${DTMF_MAX_DURATION_MS} ms.` };
        }
        durationMs = d;
      }
      return { ok: true, command: { kind: 'dtmf', digits: digits.toUpperCase(), durationMs } };
    }
    case '!hangup':
      return { ok: true, command: { kind: 'hangup' } };
    case '!help':
      return { ok: true, command: { kind: 'help' } };
    default:
      return undefined;
  }
}
