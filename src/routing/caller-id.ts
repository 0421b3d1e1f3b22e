/** Caller ID rules: which number a user may present, and a safe name. */
export interface CallerIdRules {
  readonly defaultNumber: string;
  readonly perUser: Readonly<Record<string, string>>;
  readonly perRoom: Readonly<Record<string, string>>;
}

export interface CallerId {
  readonly number: string;
  readonly name: string;
}

/**
 * Names reach the dialplan, whose template accepts only ASCII letters,
 * digits, space, dot, dash and underscore: accents are dropped (é -> e),
 * anything else removed; an empty result falls back.
 */
export const CALLER_NAME = /^[A-Za-z0-9 ._-]{1,40}$/;

export function safeCallerName(displayName: string | undefined, fallback: string): string {
  const cleaned = (displayName ?? '')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9 ._-]/g, '')
    .replace(/\s+/g, ' ')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 40)
    .trim();
  return cleaned === '' ? fallback : cleaned;
}

/**
 * The number comes only from configuration (per user, then per room, then
 * the default): a user never presents a number they were not given.
 */
export function chooseCallerId(rules: CallerIdRules, userId: string, roomId: string, displayName: string | undefined): CallerId {
  const number = rules.perUser[userId] ?? rules.perRoom[roomId] ?? rules.defaultNumber;
  return { number, name: safeCallerName(displayName, 'Matrix') };
}
