// How sofia-sip (inside drachtio-server) lays out the headers of a message
// it builds or changes. It serialises in the order of its `sip_t` struct:
// a header already in the message keeps its place; a new one goes right
// after the nearest header that comes before it in struct order; headers
// sofia does not know (X-..., Remote-Party-ID) go after Content-Length in
// the order they were added. The captures show exactly that: the app's
// bare `from/to/cseq` response becomes Via, From, To, Call-ID, CSeq,
// [Contact], Retry-After, Content-Type, Content-Length, X-...; a proxied
// INVITE gets Record-Route after the Vias and Max-Forwards after it.

import { headerKey, type SipHeaderLine, type SipMessage } from './sip-message.ts';

/** sofia's sip_t order (sip.h), with the canonical spelling of each name. */
const KNOWN: readonly string[] = [
  'Via', 'Route', 'Record-Route', 'Max-Forwards', 'Proxy-Require',
  'From', 'To', 'Call-ID', 'CSeq', 'Contact', 'RSeq', 'RAck',
  'Request-Disposition', 'Accept-Contact', 'Reject-Contact',
  'Expires', 'Date', 'Retry-After', 'Timestamp', 'Min-Expires',
  'Subject', 'Priority', 'Call-Info', 'Organization', 'Server', 'User-Agent', 'In-Reply-To',
  'Accept', 'Accept-Encoding', 'Accept-Language',
  'Allow', 'Require', 'Supported', 'Unsupported',
  'Event', 'Allow-Events', 'Subscription-State',
  'Proxy-Authenticate', 'Proxy-Authentication-Info', 'Proxy-Authorization',
  'Authorization', 'WWW-Authenticate', 'Authentication-Info',
  'Error-Info', 'Warning', 'Refer-To', 'Referred-By', 'Replaces',
  'Session-Expires', 'Min-SE', 'Path', 'Service-Route', 'Reason',
  'Security-Client', 'Security-Server', 'Security-Verify',
  'Privacy', 'SIP-ETag', 'SIP-If-Match', 'MIME-Version',
  'Content-Type', 'Content-Encoding', 'Content-Language', 'Content-Disposition', 'Content-Length',
];

const RANK = new Map(KNOWN.map((name, i) => [name.toLowerCase(), i]));
/** The rank of every header sofia does not know (it parses them as sip_unknown). */
export const UNKNOWN_RANK = KNOWN.length;

export function rankOf(name: string): number {
  return RANK.get(headerKey(name)) ?? UNKNOWN_RANK;
}

/** Canonical spelling of a known header; an unknown one as written. */
export function canonicalName(name: string): string {
  const i = RANK.get(headerKey(name));
  return i === undefined ? name : (KNOWN[i] ?? name);
}

/** Insert one header the way sofia's serialiser places a header it has not seen yet. */
export function insertHeader(headers: readonly SipHeaderLine[], header: SipHeaderLine): SipHeaderLine[] {
  const out = [...headers];
  const h = { name: canonicalName(header.name), value: header.value };
  const rank = rankOf(h.name);
  if (rank === UNKNOWN_RANK) {
    out.push(h);
    return out;
  }
  // after the last header whose rank is the greatest not above this one
  let at = -1;
  let best = -1;
  out.forEach((existing, i) => {
    const r = rankOf(existing.name);
    if (r <= rank && r >= best) {
      best = r;
      at = i;
    }
  });
  out.splice(at + 1, 0, h);
  return out;
}

/** Build a message from headers given in any order (a message sofia creates itself). */
export function buildMessage(startLine: string, headers: readonly SipHeaderLine[], body: string): SipMessage {
  let out: SipHeaderLine[] = [];
  for (const h of headers) out = insertHeader(out, h);
  return { startLine, headers: withContentLength(out, body), body };
}

/** Known header names in canonical spelling, values as parsed (sofia re-encodes a copied message). */
export function canonicalize(m: SipMessage): SipMessage {
  return { ...m, headers: m.headers.map((h) => ({ name: canonicalName(h.name), value: h.value })) };
}

function withContentLength(headers: SipHeaderLine[], body: string): SipHeaderLine[] {
  const value = String(Buffer.byteLength(body, 'utf8'));
  const i = headers.findIndex((h) => headerKey(h.name) === 'content-length');
  if (i >= 0) {
    const copy = [...headers];
    copy[i] = { name: 'Content-Length', value };
    return copy;
  }
  return insertHeader(headers, { name: 'Content-Length', value });
}
