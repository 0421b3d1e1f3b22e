import { parsePhoneNumberWithError, ParseError, type CountryCode, type NumberType } from 'libphonenumber-js/max';

/** A destination the edge may dial: an E.164 number or a configured extension. */
export type Destination =
  | { readonly kind: 'e164'; readonly number: string; readonly country: string | undefined; readonly type: NumberType | undefined }
  | { readonly kind: 'extension'; readonly number: string };

export type DestinationParse =
  | { readonly ok: true; readonly destination: Destination }
  | { readonly ok: false; readonly reason: string };

/** What a user may type: digits, +, spaces, dots, dashes, parentheses, slashes; nothing else. */
const TYPED = /^\+?[0-9 ().\-/]{2,32}$/;
/** E.164: at most 15 digits (what freeswitch/dialplan/matrix-sip-edge.xml admits). */
const E164 = /^\+[1-9][0-9]{1,14}$/;

export interface NumberRules {
  readonly defaultCountry: CountryCode;
  /** Extensions dialled as they are (e.g. ^\d{3,4}$); undefined = none. */
  readonly extensionPattern: RegExp | undefined;
}

/**
 * Turn what the user typed (or a room's configured number) into a
 * destination: an extension when it matches the configured pattern
 * exactly, otherwise a valid phone number normalised to E.164 with the
 * default country for national numbers.
 */
export function parseDestination(input: string, rules: NumberRules): DestinationParse {
  const text = input.trim();
  // Extensions: the configured pattern, within what the dialplan template admits (2-8 digits).
  if (rules.extensionPattern?.test(text) && /^[0-9]{2,8}$/.test(text)) {
    return { ok: true, destination: { kind: 'extension', number: text } };
  }
  if (!TYPED.test(text)) return { ok: false, reason: `"${text.slice(0, 40)}" is not a phone number (use digits, optionally starting with +)` };
  try {
    const parsed = parsePhoneNumberWithError(text, rules.defaultCountry);
    if (!parsed.isValid()) return { ok: false, reason: `${parsed.number} is not a valid phone number` };
    // libphonenumber calls some longer numbers valid (+49 30 12330 1234567); E.164, and the dialplan, stop at 15 digits.
    if (!E164.test(parsed.number)) return { ok: false, reason: `${parsed.number} is longer than the 15 digits a phone number may have` };
    return { ok: true, destination: { kind: 'e164', number: parsed.number, country: parsed.country, type: parsed.getType() } };
  } catch (err) {
    const why = err instanceof ParseError ? err.message : 'unparseable';
    return { ok: false, reason: `"${text.slice(0, 40)}" is not a phone number (${why.toLowerCase().replace(/_/g, ' ')})` };
  }
}
