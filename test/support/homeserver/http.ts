// HTTP plumbing: reading request bodies, writing JSON answers with Synapse's headers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errors } from './errors.ts';
import type { Json } from './types.ts';

export const MAX_BODY_BYTES = 1024 * 1024;

export interface HsRequest {
  readonly method: string;
  /** Path as sent (percent-encoded), without the query string. */
  readonly rawPath: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  readonly rawBody: string;
  readonly remoteAddress: string;
  /** Path parameters, percent-decoded. */
  params: string[];
}

export interface HsResponse {
  readonly status: number;
  readonly body: Json;
}

export const ok = (body: Json): HsResponse => ({ status: 200, body });

/** The request body as JSON; an empty body counts as {} (js-sdk sends none on some POSTs). */
export function jsonBody(req: HsRequest): unknown {
  if (req.rawBody.trim() === '') return {};
  try {
    return JSON.parse(req.rawBody) as unknown;
  } catch {
    throw errors.notJson();
  }
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const SYNAPSE_HEADERS: Record<string, string> = {
  'access-control-allow-headers': 'X-Requested-With, Content-Type, Authorization, Date',
  'access-control-allow-methods': 'GET, HEAD, POST, PUT, DELETE, OPTIONS',
  'access-control-allow-origin': '*',
  'cache-control': 'no-cache, no-store, must-revalidate',
  'content-type': 'application/json',
  server: 'Synapse/1.67.0',
};

export function writeJson(res: ServerResponse, r: HsResponse): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(r.status, SYNAPSE_HEADERS);
  res.end(JSON.stringify(r.body));
}
