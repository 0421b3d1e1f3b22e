// Replays captured client requests against the simulator over real HTTP and compares the
// answers (status, keys, types, protocol values) with the captured ones.
import { compareShape, type CompareOptions } from './replay-compare.ts';
import { IdMap } from './replay-ids.ts';

export interface CapturedCall {
  readonly who?: string;
  readonly label?: string;
  readonly method: string;
  /** As sent (percent-encoded), possibly with a query string. */
  readonly path: string;
  /** Decoded query parameters (synapse-01 style), when not in `path`. */
  readonly query?: Readonly<Record<string, string>>;
  readonly request_headers?: Readonly<Record<string, string>>;
  readonly request_body?: unknown;
  readonly status: number;
  readonly response_body?: unknown;
}

export interface ReplayAnswer {
  readonly status: number;
  readonly body: unknown;
}

export class Replayer {
  readonly ids = new IdMap();
  readonly tokens = new Map<string, string>();
  private readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl;
  }

  private authorization(call: CapturedCall): string | undefined {
    const headers = call.request_headers ?? {};
    const raw = headers['Authorization'] ?? headers['authorization'];
    if (raw === undefined) return undefined;
    const m = /^Bearer <(.+)>$/.exec(raw);
    if (m?.[1] === undefined) return raw;
    const name = m[1];
    if (name === 'redacted') return this.bearer(call.who ?? '');
    if (name === 'bogus token') return 'Bearer syt_bogus_token_never_issued';
    const who = /^(\S+) access token$/.exec(name)?.[1] ?? name;
    return this.bearer(who);
  }

  private bearer(who: string): string | undefined {
    const t = this.tokens.get(who);
    return t === undefined ? undefined : `Bearer ${t}`;
  }

  pathOf(call: CapturedCall, overrideQuery?: Record<string, string>): string {
    const [p, q] = this.ids.apply(call.path).split('?', 2);
    const params = new URLSearchParams(q ?? '');
    for (const [k, v] of Object.entries(call.query ?? {})) params.set(k, this.ids.apply(v));
    for (const [k, v] of Object.entries(overrideQuery ?? {})) params.set(k, v);
    const qs = params.toString();
    return qs === '' ? (p ?? '') : `${p ?? ''}?${qs}`;
  }

  /** `learn: false` when the answer may legitimately differ in shape (ids would be mis-paired). */
  async send(call: CapturedCall, overrideQuery?: Record<string, string>, learn = true): Promise<ReplayAnswer> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    const auth = this.authorization(call);
    if (auth !== undefined) headers['Authorization'] = auth;
    let body: string | undefined;
    const rb = call.request_body;
    if (rb !== undefined) {
      headers['Content-Type'] = 'application/json';
      const raw = typeof rb === 'object' && rb !== null && 'raw' in rb && typeof rb.raw === 'string' ? rb.raw : undefined;
      body = raw ?? JSON.stringify(this.ids.applyJson(rb));
    }
    const res = await fetch(`${this.baseUrl}${this.pathOf(call, overrideQuery)}`, { method: call.method, headers, ...(body === undefined ? {} : { body }) });
    const text = await res.text();
    const parsed: unknown = text === '' ? undefined : JSON.parse(text);
    if (learn) this.remember(call, parsed);
    return { status: res.status, body: parsed };
  }

  private remember(call: CapturedCall, simBody: unknown): void {
    if (call.path.endsWith('/login') && call.method === 'POST' && typeof simBody === 'object' && simBody !== null && 'access_token' in simBody) {
      const rb = call.request_body as { identifier?: { user?: string }; user?: string } | undefined;
      const user = rb?.identifier?.user ?? rb?.user;
      const token = simBody.access_token;
      if (user !== undefined && typeof token === 'string' && !this.tokens.has(user)) this.tokens.set(user, token);
    }
    this.ids.learn(call.response_body, simBody);
  }

  /** Differences between the simulator's answer and the captured one ([] = same). */
  diff(call: CapturedCall, answer: ReplayAnswer, opts: CompareOptions = {}): string[] {
    const out: string[] = [];
    if (answer.status !== call.status) out.push(`status: expected ${call.status}, got ${answer.status}`);
    if (call.response_body !== undefined) out.push(...compareShape(answer.body, this.ids.applyJson(call.response_body), opts));
    return out.map((d) => `${call.label ?? `${call.method} ${call.path}`}: ${d}`);
  }
}
