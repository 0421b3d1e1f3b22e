// A small SIP message model for the drachtio-server simulator: the start
// line, the header lines in wire order (names as written), and the body.
// Parsing is strict about what the simulator relies on (CRLF lines, a
// start line, Via/From/To/Call-ID/CSeq present); anything else is refused
// (undefined), the way sofia-sip drops a message it cannot parse.

const CRLF = '\r\n';

export interface SipHeaderLine {
  readonly name: string;
  readonly value: string;
}

export interface SipMessage {
  readonly startLine: string;
  readonly headers: readonly SipHeaderLine[];
  readonly body: string;
}

const COMPACT: Readonly<Record<string, string>> = {
  v: 'via', f: 'from', t: 'to', i: 'call-id', m: 'contact', l: 'content-length', c: 'content-type',
  e: 'content-encoding', s: 'subject', k: 'supported', o: 'event', u: 'allow-events', r: 'refer-to', b: 'referred-by', x: 'session-expires',
};

/** Lower-case long form of a header name (compact forms expanded). */
export function headerKey(name: string): string {
  const lower = name.toLowerCase();
  return COMPACT[lower] ?? lower;
}

/**
 * Start line, headers and body, nothing required: what an app sends on
 * the admin wire (a bare response without Via, a request stub).
 */
export function parseSipLoose(raw: string): SipMessage | undefined {
  const split = raw.indexOf(CRLF + CRLF);
  let head: string[];
  let body: string;
  if (split < 0) {
    // a stub may end right after its last header line
    head = raw.replace(/\r\n$/, '').split(CRLF);
    body = '';
  } else {
    head = raw.slice(0, split).split(CRLF);
    body = raw.slice(split + 4);
  }
  const startLine = head[0] ?? '';
  if (!/^(SIP\/2\.0 [1-6][0-9]{2} .*|[A-Z]+ \S+ SIP\/2\.0)$/.test(startLine)) return undefined;
  const headers: SipHeaderLine[] = [];
  for (const line of head.slice(1)) {
    if (/^[ \t]/.test(line)) {
      const last = headers.pop();
      if (last === undefined) return undefined;
      headers.push({ name: last.name, value: `${last.value} ${line.trim()}` });
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    const name = line.slice(0, colon).trim();
    if (!/^[A-Za-z0-9!%*_+`'~.-]+$/.test(name)) return undefined;
    headers.push({ name, value: line.slice(colon + 1).trim() });
  }
  return { startLine, headers, body };
}

/** A message from the network: it must carry Via, From, To, Call-ID and a valid CSeq. */
export function parseSipMessage(raw: string): SipMessage | undefined {
  if (raw.indexOf(CRLF + CRLF) < 0) return undefined;
  const m = parseSipLoose(raw);
  if (m === undefined) return undefined;
  for (const required of ['via', 'from', 'to', 'call-id', 'cseq']) {
    if (getHeader(m, required) === undefined) return undefined;
  }
  if (cseqOf(m) === undefined) return undefined;
  return m;
}

export function serializeSip(m: SipMessage): string {
  return `${m.startLine}${CRLF}${m.headers.map((h) => `${h.name}: ${h.value}${CRLF}`).join('')}${CRLF}${m.body}`;
}

export function isRequest(m: SipMessage): boolean {
  return !m.startLine.startsWith('SIP/2.0 ');
}

export function methodOf(m: SipMessage): string {
  return isRequest(m) ? (m.startLine.split(' ')[0] ?? '') : (cseqOf(m)?.method ?? '');
}

export function requestUri(m: SipMessage): string {
  return m.startLine.split(' ')[1] ?? '';
}

export function statusOf(m: SipMessage): number {
  return isRequest(m) ? 0 : Number.parseInt(m.startLine.slice(8, 11), 10);
}

export function reasonOf(m: SipMessage): string {
  return isRequest(m) ? '' : m.startLine.slice(12);
}

export function getHeader(m: SipMessage, name: string): string | undefined {
  const key = headerKey(name);
  return m.headers.find((h) => headerKey(h.name) === key)?.value;
}

export function getHeaders(m: SipMessage, name: string): string[] {
  const key = headerKey(name);
  return m.headers.filter((h) => headerKey(h.name) === key).map((h) => h.value);
}

/** Split a header value on commas outside quotes and angle brackets. */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let angle = 0;
  for (const ch of value) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === '<') angle += 1;
    else if (!quoted && ch === '>') angle -= 1;
    if (ch === ',' && !quoted && angle === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim() !== '') out.push(cur.trim());
  return out;
}

/** Every Via value, top first (one line may carry several). */
export function viaValues(m: SipMessage): string[] {
  return getHeaders(m, 'via').flatMap(splitList);
}

/** A ;param of a header value, outside any <...>; '' for a flag, undefined when absent. */
export function paramOf(value: string, name: string): string | undefined {
  const outside = value.replace(/<[^>]*>/g, '<>').replace(/"[^"]*"/g, '""');
  const re = new RegExp(`;\\s*${name}(?:=([^;,\\s]*))?(?=;|,|\\s|$)`, 'i');
  const m = re.exec(outside);
  if (m === null) return undefined;
  return m[1] ?? '';
}

export function tagOf(value: string | undefined): string | undefined {
  return value === undefined ? undefined : paramOf(value, 'tag') || undefined;
}

export function cseqOf(m: SipMessage): { readonly seq: number; readonly method: string } | undefined {
  const v = getHeader(m, 'cseq');
  const match = v === undefined ? null : /^([0-9]{1,10})\s+([A-Z]+)$/.exec(v);
  if (match === null) return undefined;
  return { seq: Number.parseInt(match[1] ?? '0', 10), method: match[2] ?? '' };
}

export function callIdOf(m: SipMessage): string {
  return getHeader(m, 'call-id') ?? '';
}

/** The URI inside a name-addr (`"x" <sip:a@b>;tag=1` -> `sip:a@b`) or a bare addr-spec. */
export function uriOf(value: string): string {
  const angle = /<([^>]*)>/.exec(value);
  if (angle !== null) return angle[1] ?? '';
  return value.split(';')[0]?.trim() ?? '';
}

/** user part of a SIP URI (`sip:+4930@host` -> `+4930`). */
export function userOf(uri: string): string {
  const m = /^sips?:([^@;>]*)@/.exec(uri);
  return m?.[1] ?? '';
}

/** host and port of a SIP URI. */
export function hostPortOf(uri: string): { host: string; port: number } {
  const m = /^sips?:(?:[^@]*@)?([^;:>?]+)(?::([0-9]+))?/.exec(uri);
  return { host: m?.[1] ?? '', port: m?.[2] === undefined ? 5060 : Number.parseInt(m[2], 10) };
}

export function withStartLine(m: SipMessage, startLine: string): SipMessage {
  return { ...m, startLine };
}

export function withoutHeaders(m: SipMessage, name: string): SipMessage {
  const key = headerKey(name);
  return { ...m, headers: m.headers.filter((h) => headerKey(h.name) !== key) };
}

/** Replace the value of the first header of that name (in place). */
export function replaceHeader(m: SipMessage, name: string, value: string): SipMessage {
  const key = headerKey(name);
  let done = false;
  return {
    ...m,
    headers: m.headers.map((h) => {
      if (done || headerKey(h.name) !== key) return h;
      done = true;
      return { name: h.name, value };
    }),
  };
}
