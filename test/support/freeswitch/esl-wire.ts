// ESL wire format: server message framing, client packet parsing, event
// serialisation (plain / json / xml). Facts: shared/protocols/esl.md §1, §4.
import type { FsEvent } from './contract.ts';

export type Header = readonly [string, string];

/** One message as FreeSWITCH writes it: header lines, blank line, optional body of exactly Content-Length bytes. */
export interface WireMessage {
  readonly headers: readonly Header[];
  readonly body?: string;
}

/**
 * Serialises a server message. `headers` are written in order; when a body is
 * given, a `Content-Length` header with its UTF-8 byte length is written where
 * `contentLengthAt` says (index into headers, default: after the first header,
 * which is FreeSWITCH's order for every non-event message).
 */
export function frameMessage(headers: readonly Header[], body?: string, contentLengthAt = 1): string {
  const all: Header[] = [...headers];
  if (body !== undefined) all.splice(contentLengthAt, 0, ['Content-Length', String(Buffer.byteLength(body, 'utf8'))]);
  return all.map(([k, v]) => `${k}: ${v}\n`).join('') + '\n' + (body ?? '');
}

export const DISCONNECT_BODY = 'Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n';

export function commandReply(replyText: string, extra: readonly Header[] = []): string {
  return frameMessage([['Content-Type', 'command/reply'], ['Reply-Text', replyText], ...extra]);
}

export function apiResponse(body: string): string {
  return frameMessage([['Content-Type', 'api/response']], body);
}

export function disconnectNotice(body: string = DISCONNECT_BODY): string {
  return frameMessage([['Content-Type', 'text/disconnect-notice']], body);
}

// ---------------------------------------------------------------------------
// URL encoding of event-plain header values (esl.md §1.4)

const UNSAFE = new Set('\r\n #%&+:;<=>?@[\\]^`{|}"'.split(''));
const HEX = /^[0-9a-fA-F]{2}$/;

/** switch_url_encode as used by switch_event_serialize: uppercase %XX, no double encoding of valid %XX. */
export function urlEncodeValue(value: string): string {
  const bytes = Buffer.from(value, 'utf8');
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] ?? 0;
    const ch = String.fromCharCode(b);
    if (ch === '%' && i + 2 < bytes.length && HEX.test(String.fromCharCode(bytes[i + 1] ?? 0, bytes[i + 2] ?? 0))) {
      out += ch;
      continue;
    }
    if (b < 0x20 || b > 0x7e || UNSAFE.has(ch)) {
      out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
    } else {
      out += ch;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Event serialisation

export type EventFormat = 'plain' | 'json' | 'xml';

function bodyOf(event: FsEvent): string | undefined {
  return event.body !== undefined && event.body !== '' ? event.body : undefined;
}

/** The event-plain body (EV switch_event_serialize with encoding). */
export function serializePlain(event: FsEvent): string {
  let text = event.headers.map(([k, v]) => `${k}: ${urlEncodeValue(v)}\n`).join('');
  const body = bodyOf(event);
  if (body !== undefined) text += `Content-Length: ${Buffer.byteLength(body, 'utf8')}\n\n${body}`;
  else text += '\n';
  return text;
}

/** The event-json body (cJSON_PrintUnformatted of a flat object of strings; `ARRAY::a|:b` values become arrays). */
export function serializeJson(event: FsEvent): string {
  const obj: Record<string, string | string[]> = {};
  for (const [k, v] of event.headers) obj[k] = v.startsWith('ARRAY::') ? v.slice(7).split('|:') : v;
  const body = bodyOf(event);
  if (body !== undefined) {
    obj['Content-Length'] = String(Buffer.byteLength(body, 'utf8'));
    obj['_body'] = body;
  }
  return JSON.stringify(obj);
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** The event-xml body (EV switch_event_xmlize; values URL-encoded, as FreeSWITCH does). Approximate layout. */
export function serializeXml(event: FsEvent): string {
  const lines = event.headers.map(([k, v]) => `    <${k}>${xmlEscape(urlEncodeValue(v))}</${k}>\n`).join('');
  const body = bodyOf(event);
  const tail = body !== undefined
    ? `  <Content-Length>${Buffer.byteLength(body, 'utf8')}</Content-Length>\n  <body>${xmlEscape(body)}</body>\n`
    : '';
  return `<event>\n  <headers>\n${lines}  </headers>\n${tail}</event>\n`;
}

/** A complete event message as written to a subscribed socket: Content-Length first, then Content-Type. */
export function frameEvent(event: FsEvent, format: EventFormat): string {
  const body = format === 'plain' ? serializePlain(event) : format === 'json' ? serializeJson(event) : serializeXml(event);
  return frameMessage([['Content-Type', `text/event-${format}`]], body, 0);
}

// ---------------------------------------------------------------------------
// Server -> client stream parser (what modesl does; used by tests)

export interface ParsedMessage {
  readonly headers: Header[];
  readonly body: string | undefined;
  /** The exact text of the message, headers and body. */
  readonly raw: string;
}

function parseHeaderBlock(block: string): Header[] {
  return block.split('\n').filter((l) => l !== '').map((line) => {
    const at = line.indexOf(': ');
    return at < 0 ? [line, ''] as const : [line.slice(0, at), line.slice(at + 2)] as const;
  });
}

export function headerValue(headers: readonly Header[], name: string): string | undefined {
  const lower = name.toLowerCase();
  return headers.find(([k]) => k.toLowerCase() === lower)?.[1];
}

/** Splits a server byte stream into messages by `\n\n` + Content-Length framing; partial input is kept. */
export class ServerStreamParser {
  #buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer | string): ParsedMessage[] {
    this.#buf = Buffer.concat([this.#buf, typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk]);
    const out: ParsedMessage[] = [];
    for (;;) {
      const end = this.#buf.indexOf('\n\n');
      if (end < 0) break;
      const headers = parseHeaderBlock(this.#buf.subarray(0, end).toString('utf8'));
      const lengthText = headerValue(headers, 'Content-Length');
      const length = lengthText === undefined ? 0 : Number(lengthText);
      if (!Number.isInteger(length) || length < 0) throw new Error(`bad Content-Length ${String(lengthText)}`);
      const total = end + 2 + length;
      if (this.#buf.length < total) break;
      const body = lengthText === undefined ? undefined : this.#buf.subarray(end + 2, total).toString('utf8');
      out.push({ headers, body, raw: this.#buf.subarray(0, total).toString('utf8') });
      this.#buf = this.#buf.subarray(total);
    }
    return out;
  }

  /** Bytes received but not yet part of a complete message. */
  get pending(): number {
    return this.#buf.length;
  }
}

/** Parses a complete server byte string into messages; throws if bytes are left over. */
export function parseServerStream(text: string): ParsedMessage[] {
  const p = new ServerStreamParser();
  const msgs = p.push(text);
  if (p.pending !== 0) throw new Error(`${p.pending} trailing bytes do not form a message`);
  return msgs;
}

// ---------------------------------------------------------------------------
// Client -> server packet reader (MES read_packet)

/** One client packet: the command line, its header lines, and a body if Content-Length was given. */
export interface ClientPacket {
  readonly command: string;
  readonly headers: Header[];
  readonly body: string | undefined;
}

const LF = 0x0a;
const CR = 0x0d;
export const MAX_CONTENT_LENGTH = 16 * 1024 * 1024;

/**
 * Incremental reader for client packets. A packet ends at the second LF
 * counted since the last byte that is neither CR nor LF; leading CR/LF bytes
 * are dropped; a Content-Length header makes that many bytes follow as body.
 */
export class ClientPacketReader {
  #head: number[] = [];
  #lfCount = 0;
  #started = false;
  #bodyNeeded: number | undefined;
  #pendingHead: { command: string; headers: Header[] } | undefined;
  #body: Buffer[] = [];
  #bodyLen = 0;

  /** Returns complete packets; throws on a Content-Length FreeSWITCH would drop the connection for. */
  push(chunk: Buffer): ClientPacket[] {
    const out: ClientPacket[] = [];
    let i = 0;
    while (i < chunk.length) {
      if (this.#pendingHead !== undefined && this.#bodyNeeded !== undefined) {
        const take = Math.min(this.#bodyNeeded - this.#bodyLen, chunk.length - i);
        this.#body.push(chunk.subarray(i, i + take));
        this.#bodyLen += take;
        i += take;
        if (this.#bodyLen === this.#bodyNeeded) {
          out.push({ ...this.#pendingHead, body: Buffer.concat(this.#body).toString('utf8') });
          this.#resetBody();
        }
        continue;
      }
      const b = chunk[i++] ?? 0;
      if (!this.#started && (b === CR || b === LF)) continue;
      this.#started = true;
      if (b === LF) this.#lfCount++;
      else if (b !== CR) this.#lfCount = 0;
      this.#head.push(b);
      if (this.#lfCount === 2) {
        const packet = this.#finishHead();
        if (packet !== undefined) out.push(packet);
      }
    }
    return out;
  }

  #resetBody(): void {
    this.#pendingHead = undefined;
    this.#bodyNeeded = undefined;
    this.#body = [];
    this.#bodyLen = 0;
  }

  #finishHead(): ClientPacket | undefined {
    const text = Buffer.from(this.#head).toString('utf8');
    this.#head = [];
    this.#lfCount = 0;
    this.#started = false;
    const lines = text.split('\n').map((l) => l.replace(/\r/g, ''));
    const firstRaw = text.split('\n')[0] ?? '';
    const crAt = firstRaw.indexOf('\r');
    const command = crAt >= 0 ? firstRaw.slice(0, crAt) : firstRaw;
    const headers: Header[] = [];
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      headers.push([line.slice(0, colon), line.slice(colon + 1).replace(/^ +/, '')]);
    }
    const cl = headers.find(([k]) => k.toLowerCase() === 'content-length')?.[1];
    if (cl !== undefined) {
      const n = Number.parseInt(cl, 10);
      if (!Number.isFinite(n) || n < 0 || n > MAX_CONTENT_LENGTH) throw new Error(`client Content-Length out of range: ${cl}`);
      if (n > 0) {
        this.#pendingHead = { command, headers };
        this.#bodyNeeded = n;
        return undefined;
      }
    }
    return { command, headers, body: undefined };
  }
}
