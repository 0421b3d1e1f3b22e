// How the edge reads the event socket: modesl's parser frames the bytes
// (headers, blank line, Content-Length body; an event-json body is
// JSON.parse'd into an Event) and parseFrameEvent (src/esl/events.ts)
// types what the client's `esl::event::**` listener receives. Fed streams
// of FreeSWITCH frames with mutated event bodies, split at any byte.
//
// Outer header lines are kept as FreeSWITCH writes them: modesl
// URI-decodes them, and a malformed %-escape there throws out of its
// socket handler (FreeSWITCH never writes one: its outer headers are
// Content-Type, Content-Length and its own Reply-Text).
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { expect } from 'vitest';
import { EslEventError, parseFrameEvent, type EslEvent } from '../../src/esl/events.ts';
import { fuzzParser, thrownOnly, type Outcome } from './support/fuzz.ts';
import { chunks, frameStream, type GeneratedFrame } from './support/esl.ts';

interface ModeslParser {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}
const ModeslParserClass = createRequire(import.meta.url)('modesl/lib/esl/Parser.js') as new (socket: EventEmitter) => ModeslParser;

interface Read {
  readonly outcomes: Array<Outcome<EslEvent | undefined>>;
  readonly modeslErrors: number;
}

/** Feed the chunks to a fresh modesl parser; type every frame it emits as the client does. */
function read(parts: readonly Buffer[]): Read {
  const socket = new EventEmitter();
  const parser = new ModeslParserClass(socket);
  const outcomes: Array<Outcome<EslEvent | undefined>> = [];
  let modeslErrors = 0;
  parser.on('esl::event', (event, headers) => outcomes.push(thrownOnly(() => parseFrameEvent(event, headers), EslEventError)));
  parser.on('error', () => (modeslErrors += 1));
  for (const part of parts) socket.emit('data', part);
  return { outcomes, modeslErrors };
}

function checkEvent(e: EslEvent): void {
  expect(e.name).toMatch(/^[A-Z][A-Z0-9_]*$/);
  expect([...e.headers].find(([k, v]) => k === '' || typeof v !== 'string')).toBeUndefined();
  expect(e.body === undefined || (typeof e.body === 'string' && e.body !== '')).toBe(true);
  expect(e.uniqueId).toBe(e.headers.get('Unique-ID'));
}

/** Outcomes in a comparable form. */
function summary(outcomes: ReadonlyArray<Outcome<EslEvent | undefined>>): unknown[] {
  return outcomes.map((o) => (!o.ok ? `refused: ${o.error.message}` : o.value === undefined ? 'not an event' : { ...o.value, headers: [...o.value.headers] }));
}

fuzzParser('esl modesl framing + parseFrameEvent', (fuzz) => {
  function check(frames: readonly GeneratedFrame[], parts: readonly Buffer[]): Read {
    const got = read(parts);
    // Content-Length framing is exact: one emitted frame per frame sent.
    expect(got.outcomes).toHaveLength(frames.length);
    got.outcomes.forEach((o, i) => {
      const sent = frames[i];
      if (!o.ok) {
        expect(o.error.message).toMatch(/^event /);
        fuzz.hit('event refused');
      } else if (o.value === undefined) {
        expect(sent?.event).toBe(false);
        fuzz.hit('not an event');
      } else {
        expect(sent?.event).toBe(true);
        checkEvent(o.value);
        fuzz.hit('event accepted');
      }
    });
    // modesl reports a body that is not JSON (or is null) on 'error'; the client drops the connection on it.
    expect(got.modeslErrors).toBeLessThanOrEqual(frames.filter((f) => f.event && !f.jsonBody).length);
    if (got.modeslErrors > 0) fuzz.hit('modesl error');
    return got;
  }

  fuzz.property(
    'frame streams in one chunk',
    fc.property(frameStream, (frames) => void check(frames, [Buffer.from(frames.map((f) => f.text).join(''), 'utf8')])),
    6_000,
  );

  fuzz.property(
    'frame streams split at any byte read the same as in one chunk',
    fc.property(frameStream, fc.array(fc.nat(), { maxLength: 12 }), (frames, cuts) => {
      const bytes = Buffer.from(frames.map((f) => f.text).join(''), 'utf8');
      const whole = check(frames, [bytes]);
      const split = check(frames, chunks(bytes, cuts));
      expect(summary(split.outcomes)).toEqual(summary(whole.outcomes));
    }),
    4_000,
  );

  fuzz.expectReached(200, 'event accepted', 'event refused', 'not an event', 'modesl error');
});
