// Generators for what FreeSWITCH writes on the event socket: the JSON of
// an event (`event json`), and whole frames (outer headers, blank line,
// Content-Length bytes of body) as modesl's parser reads them.
import fc from 'fast-check';
import { anyText, mutatedText, mutatedValue, toJson } from './mutate.ts';

const eventName = fc.oneof(
  fc.constantFrom('CHANNEL_BRIDGE', 'CHANNEL_HANGUP_COMPLETE', 'DTMF', 'BACKGROUND_JOB', 'CHANNEL_EXECUTE_COMPLETE', 'HEARTBEAT', 'CUSTOM'),
  fc.stringMatching(/^[A-Z][A-Z0-9_]{0,20}$/),
  anyText,
);

const headerValue = fc.oneof(
  fc.uuid(),
  fc.constantFrom('NORMAL_CLEARING', 'USER_BUSY', 'sip:486', '486', 'verto.rtc/1000', 'true', '', '1', '#'),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
);

/** The JSON object of one event as mod_event_socket serialises it (all values strings, `_body` for a body). */
export const eventJson: fc.Arbitrary<Record<string, unknown>> = fc
  .record(
    {
      'Event-Name': eventName,
      'Core-UUID': fc.uuid(),
      'Unique-ID': fc.uuid(),
      'Job-UUID': fc.uuid(),
      'Other-Leg-Unique-ID': fc.uuid(),
      'DTMF-Digit': fc.constantFrom('1', '#', '*', 'A', 'x', ''),
      'Hangup-Cause': headerValue,
      variable_last_bridge_proto_specific_hangup_cause: headerValue,
      variable_sip_term_status: headerValue,
      _body: fc.string({ unit: 'grapheme', maxLength: 60 }),
    },
    { requiredKeys: ['Event-Name'] },
  )
  .chain((base) => fc.dictionary(fc.string({ maxLength: 24 }), headerValue, { maxKeys: 5 }).map((extra) => ({ ...extra, ...base })));

/** Event JSON with its values mutated (arrays, numbers, null, objects where strings belong). */
export const mutatedEventJson: fc.Arbitrary<unknown> = mutatedValue(eventJson);

function frame(headers: ReadonlyArray<readonly [string, string]>, body?: string): string {
  const all = body === undefined ? headers : [['Content-Length', String(Buffer.byteLength(body, 'utf8'))] as const, ...headers];
  return `${all.map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${body ?? ''}`;
}

/** The plain form of an event: `Name: url-encoded value` lines, as FreeSWITCH writes them. */
function plainBody(event: Record<string, string>): string {
  const { _body: body, ...headers } = event;
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${encodeURIComponent(v)}`);
  return body === undefined || body === '' ? `${lines.join('\n')}\n` : `${lines.join('\n')}\nContent-Length: ${Buffer.byteLength(body, 'utf8')}\n\n${body}`;
}

/** encodeURIComponent refuses lone surrogates; FreeSWITCH never has any to encode. */
function encodable(v: string): boolean {
  try {
    encodeURIComponent(v);
    return true;
  } catch {
    return false;
  }
}

const plainEvent = fc
  .record({ 'Event-Name': eventName, 'Unique-ID': fc.uuid(), _body: fc.string({ unit: 'grapheme', maxLength: 40 }) })
  .filter((e) => Object.values(e).every(encodable));

export interface GeneratedFrame {
  readonly text: string;
  /** Is this an event frame (text/event-*)? */
  readonly event: boolean;
  /** Is its body valid JSON of an object (what modesl turns into an event)? */
  readonly jsonBody: boolean;
}

function isJsonObject(text: string): boolean {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null;
  } catch {
    return false;
  }
}

const jsonEventFrame = fc
  .oneof({ weight: 3, arbitrary: mutatedEventJson.map(toJson) }, { weight: 1, arbitrary: mutatedText(mutatedEventJson.map(toJson), 2) })
  .map((body): GeneratedFrame => ({ text: frame([['Content-Type', 'text/event-json']], body), event: true, jsonBody: isJsonObject(body) }));

const otherFrame: fc.Arbitrary<GeneratedFrame> = fc.oneof(
  plainEvent.map((e) => ({ text: frame([['Content-Type', 'text/event-plain']], plainBody(e)), event: true, jsonBody: false })),
  fc.constantFrom('+OK event listener enabled json', '+OK Job-UUID: 7f4de4bc-17d7-11dd-b7a0-db4edd065621', '-ERR invalid command', '+OK bye').map((reply) => ({
    text: frame([['Content-Type', 'command/reply'], ['Reply-Text', reply]]),
    event: false,
    jsonBody: false,
  })),
  fc.string({ unit: 'grapheme', maxLength: 200 }).map((body) => ({ text: frame([['Content-Type', 'api/response']], body), event: false, jsonBody: false })),
  fc.constantFrom(
    { text: frame([['Content-Type', 'auth/request']]), event: false, jsonBody: false },
    { text: frame([['Content-Type', 'text/disconnect-notice']], 'Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n'), event: false, jsonBody: false },
  ),
);

/** A stream of frames as FreeSWITCH sends them: mostly json events, with replies and api responses between. */
export const frameStream: fc.Arbitrary<GeneratedFrame[]> = fc.array(fc.oneof({ weight: 3, arbitrary: jsonEventFrame }, { weight: 1, arbitrary: otherFrame }), {
  minLength: 1,
  maxLength: 3,
});

/** Split bytes at the given points (any byte offset, inside a UTF-8 sequence too). */
export function chunks(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    if (p > from) out.push(bytes.subarray(from, p));
    from = Math.max(from, p);
  }
  return out;
}
