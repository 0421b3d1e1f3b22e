// Injected failures: answer matching requests with a chosen status and body instead of
// handling them (e.g. 500 on PUT /send, 429 M_LIMIT_EXCEEDED on /sync).
import type { HsRequest, HsResponse } from './http.ts';
import type { Json } from './types.ts';

export interface FaultSpec {
  readonly method?: string;
  /** Matched against the percent-encoded path (string: substring). */
  readonly path: string | RegExp;
  readonly status: number;
  readonly body: Json;
  /** How many requests to fail (default 1; Infinity for all). */
  readonly times?: number;
}

export class Faults {
  private readonly active: { spec: FaultSpec; left: number }[] = [];

  add(spec: FaultSpec): void {
    this.active.push({ spec, left: spec.times ?? 1 });
  }

  clear(): void {
    this.active.length = 0;
  }

  match(req: HsRequest): HsResponse | undefined {
    for (const f of this.active) {
      if (f.left <= 0) continue;
      if (f.spec.method !== undefined && f.spec.method !== req.method) continue;
      const p = f.spec.path;
      if (typeof p === 'string' ? !req.rawPath.includes(p) : !p.test(req.rawPath)) continue;
      f.left--;
      return { status: f.spec.status, body: f.spec.body };
    }
    return undefined;
  }
}
