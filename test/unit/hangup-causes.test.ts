import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { outcomeOf, type HangupFacts } from '../../src/calls/hangup-causes.ts';

const REAL = resolve(import.meta.dirname, '../../../shared/traces/real');

/** Split the raw ESL byte stream of a capture into event-json bodies. */
function eslEvents(file: string): Array<Record<string, string>> {
  const trace = JSON.parse(readFileSync(resolve(REAL, file), 'utf8')) as { frames: Array<{ dir: string; raw: string }> };
  let stream = trace.frames.filter((f) => f.dir === 'server->client').map((f) => f.raw).join('');
  const events: Array<Record<string, string>> = [];
  while (stream.length > 0) {
    const end = stream.indexOf('\n\n');
    if (end < 0) break;
    const head = stream.slice(0, end);
    const len = /Content-Length: (\d+)/.exec(head);
    const bodyBytes = len ? Number(len[1]) : 0;
    const rest = Buffer.from(stream.slice(end + 2), 'utf8');
    const body = rest.subarray(0, bodyBytes).toString('utf8');
    stream = rest.subarray(bodyBytes).toString('utf8');
    if (head.includes('text/event-json')) events.push(JSON.parse(body) as Record<string, string>);
  }
  return events;
}

/** The Verto leg's CHANNEL_HANGUP_COMPLETE, as the edge reads it. */
function vertoLegFacts(file: string): HangupFacts {
  const complete = eslEvents(file).find((e) => e['Event-Name'] === 'CHANNEL_HANGUP_COMPLETE' && e['Channel-Name']?.startsWith('verto.rtc/'));
  if (!complete) throw new Error(`${file}: no verto-leg CHANNEL_HANGUP_COMPLETE`);
  return {
    hangupCause: complete['Hangup-Cause'],
    answered: complete['variable_endpoint_disposition'] === 'ANSWER' || complete['Answer-State'] === 'answered' && complete['variable_originate_disposition'] === 'SUCCESS',
    lastBridgeHangupCause: complete['variable_last_bridge_hangup_cause'],
    originateDisposition: complete['variable_originate_disposition'],
    lastBridgeProtoSpecificCause: complete['variable_last_bridge_proto_specific_hangup_cause'],
    sipTermStatus: complete['variable_sip_term_status'],
  };
}

// Every far-end outcome captured from the real FreeSWITCH, and the Matrix reason it must become.
const rows: Array<[string, string, string, number | undefined]> = [
  ['verto-14-trunk-486-busy.esl.json', 'USER_BUSY', 'user_busy', 486],
  ['verto-15-trunk-180-then-480.esl.json', 'NO_USER_RESPONSE', 'invite_timeout', 480],
  ['verto-16-trunk-404-not-found.esl.json', 'UNALLOCATED_NUMBER', 'unknown_error', 404],
  ['verto-17-trunk-503-service-unavailable.esl.json', 'NORMAL_TEMPORARY_FAILURE', 'unknown_error', 503],
  ['verto-18-trunk-180-then-603-decline.esl.json', 'CALL_REJECTED', 'user_hangup', 603],
  ['verto-19-trunk-rings-no-answer-timeout.esl.json', 'NO_ANSWER', 'invite_timeout', undefined],
  ['verto-05-call-sip-trunk-remote-bye.esl.json', 'NORMAL_CLEARING', 'user_hangup', undefined],
  ['verto-21-bridged-uuid-send-dtmf-uuid-kill.esl.json', 'NORMAL_CLEARING', 'user_hangup', undefined],
];

describe('hangup cause table against the real captures', () => {
  it.each(rows)('%s -> %s -> %s', (file, cause, reason, sip) => {
    const outcome = outcomeOf(vertoLegFacts(file));
    expect(outcome.cause).toBe(cause);
    expect(outcome.reason).toBe(reason);
    expect(outcome.sipStatus).toBe(sip);
    if (cause !== 'NORMAL_CLEARING') expect(outcome.notice).toBeTruthy();
  });

  it('the Verto leg itself says NORMAL_CLEARING for the 480 and the ring timeout (why ESL decides)', () => {
    expect(vertoLegFacts('verto-15-trunk-180-then-480.esl.json').hangupCause).toBe('NORMAL_CLEARING');
    expect(vertoLegFacts('verto-19-trunk-rings-no-answer-timeout.esl.json').hangupCause).toBe('NORMAL_CLEARING');
  });

  it('maps media timeout and unknown causes', () => {
    expect(outcomeOf({ hangupCause: 'MEDIA_TIMEOUT', answered: true }).reason).toBe('ice_timeout');
    expect(outcomeOf({ hangupCause: 'SOMETHING_NEW', answered: false }).reason).toBe('unknown_error');
  });

  // Found by test/fuzz/hangup-causes.test.ts: these looked up Object.prototype and gave no reason at all.
  it.each(['__proto__', 'constructor', 'toString'])('a cause named %s is an unknown cause', (cause) => {
    expect(outcomeOf({ hangupCause: cause, answered: true })).toMatchObject({ reason: 'unknown_error', notice: 'The call failed.' });
    expect(outcomeOf({ hangupCause: undefined, lastBridgeHangupCause: cause, answered: false }).reason).toBe('unknown_error');
  });
});
