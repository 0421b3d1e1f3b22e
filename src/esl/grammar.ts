// The strict grammar for everything that is written into an ESL command.
// ESL is LF-framed text: a newline in an argument starts a second command,
// a space starts a second argument. Every argument the edge sends is one
// of the tokens below, checked here before anything is written.

/** Why an argument was refused, naming what it was meant to be. */
export class EslArgumentError extends Error {
  readonly kind: string;

  constructor(kind: string, value: string, rule: string) {
    super(`refused ${kind} ${JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)}: ${rule}`);
    this.name = 'EslArgumentError';
    this.kind = kind;
  }
}

/** A value that passed the grammar; the brand keeps unchecked strings out of command builders. */
export type EslToken<K extends string> = string & { readonly __eslToken: K };

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const DTMF = /^[0-9*#A-Da-d]{1,64}$/;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** Variable values: printable ASCII without space and without characters FreeSWITCH expands or splits on. */
const VARIABLE_VALUE = /^[A-Za-z0-9+@._:\-/=!]{0,256}$/;
const CAUSE = /^[A-Z][A-Z_]{1,40}$/;
const API_COMMAND = /^[a-z][a-z0-9_]{0,40}$/;
const EVENT_NAME = /^[A-Z][A-Z0-9_]{1,40}$/;
// The patterns the dialplan template (freeswitch/dialplan/matrix-sip-edge.xml) admits for the same values.
const GATEWAY = /^[a-z0-9_-]{1,32}$/;
const DESTINATION = /^(\+?[1-9][0-9]{1,14}|[0-9]{2,8})$/;
const CALLER_NUMBER = /^\+?[0-9]{2,15}$/;
/** No quote, comma, brace, $ or control character: safe inside '...' in an originate's {variables}. */
const CALLER_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._()+-]{0,63}$/;
/**
 * What uuid_broadcast may play: a local_stream (mod_local_stream's name) or
 * an absolute file path. No space (it would split the arguments), no "::"
 * (app::args), no "!" (a hangup after it), no "$" or braces (expansion).
 */
export const PLAYBACK_PATH = /^(local_stream:\/\/[A-Za-z0-9_-]{1,64}|\/[A-Za-z0-9_.\/-]{1,200})$/;

export const DTMF_MIN_DURATION_MS = 40;
export const DTMF_MAX_DURATION_MS = 2000;

/** A refused non-string as text: String() itself throws on some (an object without a prototype). */
function shown(value: unknown): string {
  try {
    return String(value);
  } catch {
    return `(${typeof value})`;
  }
}

function check<K extends string>(kind: K, value: unknown, re: RegExp, rule: string): EslToken<K> {
  if (typeof value !== 'string') throw new EslArgumentError(kind, shown(value), 'must be a string');
  if (!re.test(value)) throw new EslArgumentError(kind, value, rule);
  return value as EslToken<K>;
}

export const eslUuid = (v: unknown): EslToken<'uuid'> =>
  check('uuid', v, UUID, 'must be a UUID (8-4-4-4-12 hex digits, nothing else)');

export const eslDtmfDigits = (v: unknown): EslToken<'dtmf'> =>
  check('dtmf', v, DTMF, 'must be 1 to 64 of 0-9 * # A-D, nothing else');

export const eslVariableName = (v: unknown): EslToken<'variable name'> =>
  check('variable name', v, VARIABLE_NAME, 'must be a letter or _ then letters, digits or _ (at most 64)');

export const eslVariableValue = (v: unknown): EslToken<'variable value'> =>
  check('variable value', v, VARIABLE_VALUE, 'must be at most 256 of letters, digits and + @ . _ : - / = !');

export const eslHangupCause = (v: unknown): EslToken<'hangup cause'> =>
  check('hangup cause', v, CAUSE, 'must be a FreeSWITCH cause name such as NORMAL_CLEARING');

export const eslApiCommand = (v: unknown): EslToken<'api command'> =>
  check('api command', v, API_COMMAND, 'must be a lower-case command name');

export const eslEventName = (v: unknown): EslToken<'event name'> =>
  check('event name', v, EVENT_NAME, 'must be an upper-case event name');

export const eslGateway = (v: unknown): EslToken<'gateway'> =>
  check('gateway', v, GATEWAY, 'must be a gateway name of 1-32 lower-case letters, digits, _ or -');

export const eslDestination = (v: unknown): EslToken<'destination'> =>
  check('destination', v, DESTINATION, 'must be an E.164 number (2-15 digits, + optional) or an extension of 2-8 digits');

export const eslCallerNumber = (v: unknown): EslToken<'caller number'> =>
  check('caller number', v, CALLER_NUMBER, 'must be 2-15 digits, + optional');

export const eslPlaybackPath = (v: unknown): EslToken<'playback path'> =>
  check('playback path', v, PLAYBACK_PATH, 'must be local_stream://<name> or an absolute file path, without spaces');

export const eslCallerName = (v: unknown): EslToken<'caller name'> =>
  check('caller name', v, CALLER_NAME, 'must be 1-64 ASCII letters, digits, space and . _ ( ) + -, starting with a letter or digit');

export function eslDtmfDuration(v: unknown): EslToken<'dtmf duration'> {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < DTMF_MIN_DURATION_MS || v > DTMF_MAX_DURATION_MS) {
    throw new EslArgumentError('dtmf duration', shown(v), `must be a whole number of ms from ${DTMF_MIN_DURATION_MS} to ${DTMF_MAX_DURATION_MS}`);
  }
  return String(v) as EslToken<'dtmf duration'>;
}

/** The last line of defence: no command line may hold CR, LF or NUL, whatever built it. */
export function assertSingleLine(line: string): void {
  if (/[\r\n\0]/.test(line)) throw new EslArgumentError('command', line, 'must not contain CR, LF or NUL');
}
