/** A FreeSWITCH event as the edge sees it: validated, headers as plain strings. */
export interface EslEvent {
  readonly name: string;
  /** Unique-ID of the channel the event is about, when it is about one. */
  readonly uniqueId: string | undefined;
  readonly coreUuid: string | undefined;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string | undefined;
}

export class EslEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EslEventError';
  }
}

/**
 * Parse a modesl event (subscribed as `event json`, so values were not
 * URL-decoded). Array-valued headers are joined with "|" as FreeSWITCH's
 * plain format shows them. Throws EslEventError on a malformed event,
 * whatever the value (modesl hands it over untyped).
 */
export function parseEslEvent(raw: unknown): EslEvent {
  if (typeof raw !== 'object' || raw === null) throw new EslEventError('event is not an object');
  const { headers: list, body: rawBody } = raw as { readonly headers?: unknown; readonly body?: unknown };
  if (!Array.isArray(list)) throw new EslEventError('event has no header list');
  const headers = new Map<string, string>();
  for (const h of list as unknown[]) {
    if (typeof h !== 'object' || h === null) throw new EslEventError('event header is not a name/value pair');
    const { name, value } = h as { readonly name?: unknown; readonly value?: unknown };
    if (typeof name !== 'string' || name === '') throw new EslEventError('event header without a name');
    if (typeof value === 'string') headers.set(name, value);
    else if (typeof value === 'number' || typeof value === 'boolean') headers.set(name, String(value));
    else if (Array.isArray(value) && value.every((x) => typeof x === 'string')) headers.set(name, value.join('|'));
    else throw new EslEventError(`event header ${name} has a value of an unexpected type`);
  }
  const name = headers.get('Event-Name');
  if (name === undefined || !/^[A-Z][A-Z0-9_]*$/.test(name)) throw new EslEventError('event without a valid Event-Name');
  const body = typeof rawBody === 'string' && rawBody !== '' ? rawBody : undefined;
  return { name, uniqueId: headers.get('Unique-ID'), coreUuid: headers.get('Core-UUID'), headers, body };
}

/**
 * What modesl emits for every frame (`esl::event::**`: the event and the
 * frame's outer headers), as the edge reads it: undefined for a frame that
 * is not an event (command replies, api responses, auth requests), else
 * the parsed event. Throws EslEventError on a malformed event.
 */
export function parseFrameEvent(raw: unknown, frameHeaders: unknown): EslEvent | undefined {
  const contentType = typeof frameHeaders === 'object' && frameHeaders !== null ? (frameHeaders as Record<string, unknown>)['Content-Type'] : undefined;
  if (typeof contentType !== 'string' || !contentType.startsWith('text/event-')) return undefined;
  return parseEslEvent(raw);
}

/**
 * The events the edge subscribes to: only those it acts on. Every channel
 * event carries the channel's 100+ variables and costs a JSON parse in
 * modesl (the largest CPU cost in the benchmark's profile), so the rest
 * (CREATE, PROGRESS, ANSWER, HANGUP, DESTROY...) are not asked for.
 * BACKGROUND_JOB carries bgapi results (EslClient.bgapi waits for it; a
 * socket that did not subscribe never gets it, real capture esl-03 step 14);
 * modesl also asks for it, and for CHANNEL_EXECUTE_COMPLETE, right after
 * auth: the client takes that one back (UNSUBSCRIBED_EVENTS). It comes once
 * per dialplan application per channel (a dozen per call), and the edge
 * never runs applications over ESL, which is what modesl needs it for.
 */
export const SUBSCRIBED_EVENTS = ['CHANNEL_ANSWER', 'CHANNEL_BRIDGE', 'CHANNEL_HOLD', 'CHANNEL_UNHOLD', 'CHANNEL_HANGUP_COMPLETE', 'DTMF', 'BACKGROUND_JOB'] as const;

/** Events modesl subscribes to by itself that the edge does not want (sent as `nixevent`). */
export const UNSUBSCRIBED_EVENTS = ['CHANNEL_EXECUTE_COMPLETE'] as const;
