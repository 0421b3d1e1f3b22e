// Small builders for what the test endpoints (trunk, FreeSWITCH) send.
import { randomBytes } from 'node:crypto';
import { buildMessage } from './sofia-order.ts';
import { getHeaders, callIdOf, getHeader, viaValues, type SipHeaderLine, type SipMessage } from './sip-message.ts';

export const rand = (n = 8): string => randomBytes(n).toString('hex');

/** A response to a request, as a UA makes it (Vias, From, To(+tag), Call-ID, CSeq copied). */
export function responseTo(request: SipMessage, status: number, reason: string, toTag: string | undefined, extra: readonly SipHeaderLine[] = [], body = ''): SipMessage {
  const to = getHeader(request, 'to') ?? '';
  return buildMessage(`SIP/2.0 ${status} ${reason}`, [
    ...viaValues(request).map((v) => ({ name: 'Via', value: v })),
    { name: 'From', value: getHeader(request, 'from') ?? '' },
    { name: 'To', value: toTag === undefined || /;\s*tag=/i.test(to) ? to : `${to};tag=${toTag}` },
    { name: 'Call-ID', value: callIdOf(request) },
    { name: 'CSeq', value: getHeader(request, 'cseq') ?? '' },
    ...extra,
  ], body);
}

/** Record-Route of a response, reversed into a Route set for requests of the other side... as listed (UAC side). */
export function routeSet(m: SipMessage): SipHeaderLine[] {
  return getHeaders(m, 'record-route').map((v) => ({ name: 'Route', value: v }));
}

export const SDP_OFFER = ['v=0', 'o=trunk 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 26000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');
