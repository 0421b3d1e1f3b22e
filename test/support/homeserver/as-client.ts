// Outgoing HTTP from the homeserver to an appservice, with the request headers Synapse 1.67
// sends (traces/real/synapse-02: Content-Length, Content-Type, User-Agent, Accept,
// Accept-Encoding, Host) and, in v1 mode, `Authorization: Bearer <hs_token>`.
import { request } from 'node:http';
import type { Registration } from './registration.ts';

export type AppserviceApi = 'v1' | 'legacy';

export interface AsReply {
  readonly status: number;
  readonly body: unknown;
}

export interface AsRequestSpec {
  readonly method: 'GET' | 'PUT' | 'POST';
  /** Path under the appservice URL for each API flavour. */
  readonly v1Path: string;
  readonly legacyPath: string;
  readonly body?: unknown;
}

export function asUrl(reg: Registration, api: AppserviceApi, spec: AsRequestSpec, extraQuery = ''): URL {
  const path = api === 'v1' ? spec.v1Path : spec.legacyPath;
  const url = new URL(`${reg.url ?? ''}${path}`);
  if (api === 'legacy') url.searchParams.set('access_token', reg.hsToken);
  if (extraQuery !== '') for (const [k, v] of new URLSearchParams(extraQuery)) url.searchParams.append(k, v);
  return url;
}

export function callAppservice(
  reg: Registration,
  api: AppserviceApi,
  spec: AsRequestSpec,
  signal: AbortSignal,
  timeoutMs: number,
  extraQuery = '',
): Promise<AsReply> {
  const url = asUrl(reg, api, spec, extraQuery);
  const payload = spec.body === undefined ? undefined : Buffer.from(JSON.stringify(spec.body));
  const headers: Record<string, string> = {};
  if (payload !== undefined) {
    headers['Content-Length'] = String(payload.length);
    headers['Content-Type'] = 'application/json';
  }
  headers['User-Agent'] = 'Synapse/1.67.0';
  headers['Accept'] = 'application/json';
  headers['Accept-Encoding'] = 'gzip';
  if (api === 'v1') headers['Authorization'] = `Bearer ${reg.hsToken}`;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: spec.method, headers, signal, timeout: timeoutMs, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = text === '' ? undefined : (JSON.parse(text) as unknown);
        } catch {
          // non-JSON answer: keep the text
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('timeout', () => req.destroy(new Error('appservice request timed out')));
    req.on('error', reject);
    req.end(payload);
  });
}
