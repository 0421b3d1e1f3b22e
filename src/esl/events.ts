import type { Event as ModeslEvent } from 'modesl';

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
 * plain format shows them. Throws EslEventError on a malformed event.
 */
export function parseEslEvent(raw: ModeslEvent): EslEvent {
  if (!Array.isArray(raw.headers)) throw new EslEventError('event has no header list');
  const headers = new Map<string, string>();
  for (const h of raw.headers) {
    if (typeof h.name !== 'string' || h.name === '') throw new EslEventError('event header without a name');
    if (typeof h.value === 'string') headers.set(h.name, h.value);
    else if (typeof h.value === 'number' || typeof h.value === 'boolean') headers.set(h.name, String(h.value));
    else if (Array.isArray(h.value) && h.value.every((x) => typeof x === 'string')) headers.set(h.name, h.value.join('|'));
    else throw new EslEventError(`event header ${h.name} has a value of an unexpected type`);
  }
  const name = headers.get('Event-Name');
  if (name === undefined || !/^[A-Z][A-Z0-9_]*$/.test(name)) throw new EslEventError('event without a valid Event-Name');
  const body = typeof raw.body === 'string' && raw.body !== '' ? raw.body : undefined;
  return { name, uniqueId: headers.get('Unique-ID'), coreUuid: headers.get('Core-UUID'), headers, body };
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
export const SUBSCRIBED_EVENTS = ['CHANNEL_BRIDGE', 'CHANNEL_HANGUP_COMPLETE', 'DTMF', 'BACKGROUND_JOB'] as const;

/** Events modesl subscribes to by itself that the edge does not want (sent as `nixevent`). */
export const UNSUBSCRIBED_EVENTS = ['CHANNEL_EXECUTE_COMPLETE'] as const;
