// parseServerFrame (src/verto/messages.ts): every text frame mod_verto
// sends reaches the edge through it (VertoClient#onFrame). Contract: typed
// messages, or VertoProtocolError saying which check failed.
import fc from 'fast-check';
import { expect } from 'vitest';
import { needsReply, parseServerFrame, VertoProtocolError, type ServerMessage } from '../../src/verto/messages.ts';
import { fuzzParser, thrownOnly } from './support/fuzz.ts';
import { anyText, junk, mutatedText, mutatedValue, toJson } from './support/mutate.ts';

const METHOD = /^[A-Za-z][A-Za-z0-9_.]{0,63}$/;
const REFUSALS = /^(frame is not JSON|frame is neither a request nor a response|malformed server request: \S.*)$/s;

const uuid = fc.uuid();
const id = fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.constant(null));
const method = fc.oneof(
  fc.constantFrom('verto.invite', 'verto.media', 'verto.answer', 'verto.bye', 'verto.display', 'verto.attach', 'verto.punt', 'verto.ping', 'verto.clientReady', 'verto.info', 'verto.modify'),
  fc.string({ maxLength: 70 }),
);
const params = fc.record(
  {
    callID: fc.oneof(uuid, fc.string()),
    sdp: fc.constantFrom('v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n', ''),
    cause: fc.constantFrom('NORMAL_CLEARING', 'USER_BUSY'),
    causeCode: fc.integer({ min: 0, max: 127 }),
    display_name: fc.string(),
    display_number: fc.string(),
    sessid: uuid,
  },
  { requiredKeys: [] },
);
const request = fc.record(
  { jsonrpc: fc.constant('2.0'), id: fc.oneof(fc.integer(), fc.string({ maxLength: 8 })), method, params },
  { requiredKeys: ['jsonrpc', 'method'] },
);
const response = fc.oneof(
  fc.record({ jsonrpc: fc.constant('2.0'), id, result: fc.record({ message: fc.string(), callID: uuid, sessid: uuid }, { requiredKeys: [] }) }),
  fc.record({ jsonrpc: fc.constant('2.0'), id, error: fc.record({ code: fc.integer({ min: -32768, max: -32000 }), message: fc.string() }, { requiredKeys: ['message'] }) }),
);
const message = fc.oneof(request, response);
const frameValue = fc.oneof({ weight: 3, arbitrary: message }, { weight: 1, arbitrary: fc.array(message, { maxLength: 4 }) });

/** A valid-looking frame, its values mutated, then its text. */
const structuredFrame = mutatedValue(frameValue).map(toJson);

function checkMessage(m: ServerMessage): void {
  expect(m.message.jsonrpc).toBe('2.0');
  if (m.kind === 'request') {
    expect(m.message.method).toMatch(METHOD);
    expect(m.message.params).toBeTypeOf('object');
    expect(Array.isArray(m.message.params)).toBe(false);
    expect(['number', 'string', 'undefined']).toContain(typeof m.message.id);
    const reply = needsReply(m.message);
    expect(reply).toBe(m.message.id !== undefined && typeof m.message.params['callID'] === 'string');
  } else {
    expect(m.message.id === null || ['number', 'string'].includes(typeof m.message.id)).toBe(true);
    if ('result' in m.message) expect(m.message.result).toBeTypeOf('object');
    else expect(m.message.error.message).toBeTypeOf('string');
  }
}

fuzzParser('verto parseServerFrame', (fuzz) => {
  /** The whole contract for one frame: typed messages, or a VertoProtocolError naming the check that failed. */
  function checkFrame(text: string): ServerMessage[] {
    const out = thrownOnly(() => parseServerFrame(text), VertoProtocolError);
    if (!out.ok) {
      expect(out.error.message).toMatch(REFUSALS);
      fuzz.hit(out.error.message.replace(/:.*/s, ''));
      return [];
    }
    out.value.forEach(checkMessage);
    for (const m of out.value) fuzz.hit(m.kind);
    return out.value;
  }

  fuzz.property('random text', fc.property(fc.oneof(anyText, fc.string({ unit: 'binary', maxLength: 300 })), (text) => void checkFrame(text)), 3_000);

  fuzz.property('random JSON', fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => void checkFrame(JSON.stringify(v) ?? 'null')), 2_000);

  fuzz.property('requests and responses, values mutated', fc.property(structuredFrame, (text) => void checkFrame(text)), 3_000);

  fuzz.property('requests and responses, text mutated', fc.property(mutatedText(structuredFrame, 3), (text) => void checkFrame(text)), 2_000);

  fuzz.property(
    'an accepted message is a fixed point (serialised and parsed again, it is unchanged)',
    fc.property(structuredFrame, (text) => {
      for (const m of checkFrame(text)) {
        const again = checkFrame(JSON.stringify(m.message));
        expect(again).toEqual([m]);
      }
    }),
    2_000,
  );

  fuzz.property(
    'any value in params of a valid request',
    fc.property(method.filter((m) => METHOD.test(m)), fc.dictionary(fc.string(), junk, { maxKeys: 4 }), (m, p) => {
      const text = toJson({ jsonrpc: '2.0', id: 1, method: m, params: p });
      expect(checkFrame(text)).toHaveLength(1);
    }),
    1_000,
  );

  fuzz.expectReached(200, 'request', 'response', 'frame is not JSON', 'frame is neither a request nor a response', 'malformed server request');
});
