// Route table: regular expressions over the percent-encoded path, groups decoded.
// Synapse 1.67 answers unknown paths AND known paths with an unknown method with
// 400 M_UNRECOGNIZED (traces/real/synapse-04 calls 9 and 10).
import { errors } from './errors.ts';
import type { HsRequest, HsResponse } from './http.ts';

export type Handler = (req: HsRequest) => HsResponse | Promise<HsResponse>;

export interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly handler: Handler;
}

/** Builds a route; `{}` in the template is one path segment, `{*}` may be empty. Prefix C = client API. */
export function route(method: string, template: string, handler: Handler): Route {
  const body = template
    .replace(/[.]/g, '\\.')
    .replace(/^C\//, '/_matrix/client/(?:v3|r0)/')
    .replace(/\{\*\}/g, '([^/]*)')
    .replace(/\{\}/g, '([^/]+)');
  return { method, pattern: new RegExp(`^${body}$`), handler };
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw errors.unrecognized();
  }
}

export function dispatch(routes: readonly Route[], req: HsRequest): HsResponse | Promise<HsResponse> {
  for (const r of routes) {
    if (r.method !== req.method) continue;
    const m = r.pattern.exec(req.rawPath);
    if (m === null) continue;
    req.params = m.slice(1).map((s) => decode(s ?? ''));
    return r.handler(req);
  }
  throw errors.unrecognized();
}
