// A request drachtio-srf hands the edge (its `req`, `res`), checked before
// anything is read from it: the source address must be an IP address, the
// Call-ID printable and bounded, the Request-URI a sip:/sips: URI; the
// User-Agent is bounded. Only this typed view leaves the module.
import { isIP } from 'node:net';
import type { SrfInstance } from './srf.ts';

export interface ProxyOutcome {
  readonly connected: boolean;
  readonly finalStatus: number | undefined;
}

export interface IncomingRequest {
  readonly method: string;
  readonly sourceAddress: string;
  readonly sourcePort: number;
  readonly callId: string;
  readonly userAgent: string | undefined;
  /** User part of the Request-URI (the dialled number for an INVITE), when it has one. */
  readonly requestUser: string | undefined;
  /** Caller number from the From URI, when it has a user part. */
  readonly fromUser: string | undefined;
  /** Does the request carry this header (name case-insensitive, any value, empty included)? */
  hasHeader(name: string): boolean;
  respond(status: number, headers?: Readonly<Record<string, string>>): void;
  proxy(destination: string, headers: Readonly<Record<string, string>>): Promise<ProxyOutcome>;
  onCancel(fn: () => void): void;
  /** Forget an INVITE that will never be answered (a dropped scanner): drachtio-srf keeps it until a final response. */
  forget(): void;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null;
}

const PRINTABLE = /^[\x21-\x7e]{1,256}$/;
const USER = /^[A-Za-z0-9+*#._~!$&'()=,;?/-]{1,64}$/;

function header(req: Record<string, unknown>, name: string): string | undefined {
  const get = req['get'];
  if (typeof get !== 'function') return undefined;
  const v: unknown = get.call(req, name);
  return typeof v === 'string' ? v : undefined;
}

function hasHeader(req: Record<string, unknown>, name: string): boolean {
  const has = req['has'];
  if (typeof has === 'function') return has.call(req, name) === true;
  // not a drachtio-srf request object: treat anything unreadable as present
  const get = req['get'];
  return typeof get !== 'function' || get.call(req, name) !== undefined;
}

function uriUser(uri: string): string | undefined {
  const m = /^sips?:([^@;>?\s]+)@/i.exec(uri.trim());
  const user = m?.[1];
  return user !== undefined && USER.test(user) ? user : undefined;
}

function nameAddrUri(value: string | undefined): string {
  if (value === undefined) return '';
  const angle = /<([^>]*)>/.exec(value);
  return angle?.[1] ?? value.split(';')[0] ?? '';
}

export type WrapResult = { readonly ok: true; readonly request: IncomingRequest } | { readonly ok: false; readonly reason: string };

export function wrapRequest(srf: SrfInstance & { proxyRequest?: unknown }, req: unknown, res: unknown): WrapResult {
  if (!isObject(req) || !isObject(res) || typeof res['send'] !== 'function') return { ok: false, reason: 'not a drachtio-srf request' };
  const method = req['method'];
  const uri = req['uri'];
  const address = req['source_address'];
  const portRaw = req['source_port'];
  if (typeof method !== 'string' || !/^[A-Z]{2,16}$/.test(method)) return { ok: false, reason: 'no valid method' };
  if (typeof uri !== 'string' || !/^sips?:/i.test(uri) || uri.length > 512) return { ok: false, reason: 'no valid Request-URI' };
  if (typeof address !== 'string' || isIP(address) === 0) return { ok: false, reason: 'no valid source address' };
  // Number() of an object can throw (no prototype, a throwing valueOf): only numbers and digit strings are ports.
  const port = typeof portRaw === 'number' ? portRaw : typeof portRaw === 'string' && /^[0-9]{1,5}$/.test(portRaw) ? Number(portRaw) : NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535) return { ok: false, reason: 'no valid source port' };
  const callId = header(req, 'call-id');
  if (callId === undefined || !PRINTABLE.test(callId)) return { ok: false, reason: 'no valid Call-ID' };
  const uaRaw = header(req, 'user-agent');
  const userAgent = uaRaw === undefined ? undefined : uaRaw.slice(0, 256);
  const send = res['send'] as (status: number, opts: object) => void;

  const request: IncomingRequest = {
    method,
    sourceAddress: address,
    sourcePort: port,
    callId,
    userAgent,
    requestUser: uriUser(uri),
    fromUser: uriUser(nameAddrUri(header(req, 'from'))),
    hasHeader: (name) => hasHeader(req, name),
    respond(status, headers = {}) {
      send.call(res, status, { headers: { ...headers } });
    },
    async proxy(destination, headers) {
      const proxyRequest = srf.proxyRequest;
      if (typeof proxyRequest !== 'function') throw new Error('drachtio-srf has no proxyRequest');
      let result: unknown;
      try {
        result = await (proxyRequest as (r: unknown, d: string[], o: object) => Promise<unknown>).call(srf, req, [destination], { recordRoute: true, headers: { ...headers } });
      } catch (err) {
        // drachtio-srf rejects with the server's reason as a plain string
        throw new Error(typeof err === 'string' ? err : err instanceof Error ? err.message : 'proxy failed');
      }
      if (!isObject(result)) return { connected: false, finalStatus: undefined };
      const finalStatus = typeof result['finalStatus'] === 'number' ? result['finalStatus'] : undefined;
      return { connected: result['connected'] === true, finalStatus };
    },
    onCancel(fn) {
      const on = req['on'];
      if (typeof on === 'function') on.call(req, 'cancel', () => fn());
    },
    forget() {
      const agent = req['agent'];
      const socket = req['socket'];
      const map = isObject(agent) ? agent['mapServer'] : undefined;
      if (!(map instanceof Map)) return;
      const entry: unknown = map.get(socket);
      const pending = isObject(entry) ? entry['pendingNetworkInvites'] : undefined;
      if (pending instanceof Map) pending.delete(callId);
    },
  };
  return { ok: true, request };
}
