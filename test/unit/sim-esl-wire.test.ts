// ESL framing and event serialisation of the FreeSWITCH simulator (esl.md §1, §4).
import { describe, expect, it } from 'vitest';
import { ClientPacketReader, ServerStreamParser, apiResponse, frameEvent, serializeJson, serializePlain, urlEncodeValue } from '../support/freeswitch/esl-wire.ts';
import type { FsEvent } from '../support/freeswitch/contract.ts';

const buf = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('client packet reader (MES read_packet)', () => {
  it('ends a packet at \\n\\n and keeps several packets of one segment apart', () => {
    const r = new ClientPacketReader();
    const p = r.push(buf('api status\n\nevent json ALL\n\n'));
    expect(p.map((x) => x.command)).toEqual(['api status', 'event json ALL']);
  });

  it('assembles a packet split across segments, byte by byte', () => {
    const r = new ClientPacketReader();
    const text = 'bgapi status\nJob-UUID: 8b792ac6-67bd-4649-8e30-d6c9ba0dc1cb\n\n';
    const out = [...text].flatMap((c) => r.push(buf(c)));
    expect(out).toEqual([{ command: 'bgapi status', headers: [['Job-UUID', '8b792ac6-67bd-4649-8e30-d6c9ba0dc1cb']], body: undefined }]);
  });

  it('ignores CR and leading blank lines; CR LF CR LF ends a packet', () => {
    const r = new ClientPacketReader();
    expect(r.push(buf('\r\n\nauth ClueCon\r\n\r\n')).map((x) => x.command)).toEqual(['auth ClueCon']);
  });

  it('turns a newline inside an argument into a header line, and a blank line into a second command', () => {
    const r = new ClientPacketReader();
    const p = r.push(buf('api uuid_setvar u v x\nignored remainder\n\napi originate a b\n\n'));
    expect(p.map((x) => x.command)).toEqual(['api uuid_setvar u v x', 'api originate a b']);
    expect(p[0]?.headers).toEqual([]);
  });

  it('reads a body of exactly Content-Length bytes (UTF-8 counted in bytes)', () => {
    const r = new ClientPacketReader();
    const body = 'é€x';
    const p = r.push(buf(`sendmsg u\ncontent-length: ${Buffer.byteLength(body)}\n\n${body}exit\n\n`));
    expect(p.map((x) => [x.command, x.body])).toEqual([['sendmsg u', body], ['exit', undefined]]);
  });

  it('rejects a Content-Length FreeSWITCH drops the connection for', () => {
    expect(() => new ClientPacketReader().push(buf('sendevent X\nContent-Length: -1\n\n'))).toThrow();
    expect(() => new ClientPacketReader().push(buf(`sendevent X\nContent-Length: ${16 * 1024 * 1024 + 1}\n\n`))).toThrow();
  });
});

describe('server framing', () => {
  it('counts Content-Length in bytes and adds nothing after the body', () => {
    const text = apiResponse('ünïcode');
    expect(text).toBe(`Content-Type: api/response\nContent-Length: ${Buffer.byteLength('ünïcode')}\n\nünïcode`);
    expect(text.includes('\r')).toBe(false);
  });

  it('parses partial reads and several messages in one read', () => {
    const a = apiResponse('€uro');
    const b = 'Content-Type: command/reply\nReply-Text: +OK accepted\n\n';
    const whole = Buffer.from(a + b + a, 'utf8');
    const p = new ServerStreamParser();
    const out = [];
    for (let i = 0; i < whole.length; i += 3) out.push(...p.push(whole.subarray(i, i + 3)));
    expect(out.map((m) => m.body)).toEqual(['€uro', undefined, '€uro']);
    expect(p.pending).toBe(0);
  });

  it('writes events with Content-Length first, then Content-Type', () => {
    const ev: FsEvent = { headers: [['Event-Name', 'API']] };
    expect(frameEvent(ev, 'json').startsWith('Content-Length: ')).toBe(true);
    expect(frameEvent(ev, 'json').split('\n')[1]).toBe('Content-Type: text/event-json');
  });
});

describe('event serialisation', () => {
  it('URL-encodes plain values like switch_url_encode (uppercase, no double encoding)', () => {
    expect(urlEncodeValue('sofia/external/1000@example.com')).toBe('sofia/external/1000%40example.com');
    expect(urlEncodeValue('2026-11-25 09:30:00')).toBe('2026-11-25%2009%3A30%3A00');
    expect(urlEncodeValue("a,b!$'()*~-_./")).toBe("a,b!$'()*~-_./");
    expect(urlEncodeValue('#%&+:;<=>?@[\\]^`{|}"')).toBe('%23%25%26%2B%3A%3B%3C%3D%3E%3F%40%5B%5C%5D%5E%60%7B%7C%7D%22');
    expect(urlEncodeValue('%41 stays')).toBe('%41%20stays');
    expect(urlEncodeValue('é\n')).toBe('%C3%A9%0A');
  });

  it('plain: one line per header, blank line, or an inner Content-Length and raw body', () => {
    expect(serializePlain({ headers: [['Event-Name', 'API'], ['X', 'a b']] })).toBe('Event-Name: API\nX: a%20b\n\n');
    expect(serializePlain({ headers: [['Event-Name', 'BACKGROUND_JOB']], body: '+OK\n' })).toBe('Event-Name: BACKGROUND_JOB\nContent-Length: 4\n\n+OK\n');
  });

  it('json: flat object of strings in header order, body as Content-Length + _body, ARRAY:: as arrays', () => {
    const text = serializeJson({ headers: [['Event-Name', 'X'], ['Event-Sequence', '7'], ['variable_DP_MATCH', 'ARRAY::1|:2']], body: 'é' });
    expect(text).toBe('{"Event-Name":"X","Event-Sequence":"7","variable_DP_MATCH":["1","2"],"Content-Length":"2","_body":"é"}');
  });
});
