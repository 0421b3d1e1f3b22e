// Record of every request the simulator answered, for assertions such as
// "nothing reached Matrix" or "this PUT /send was made".
import type { IncomingHttpHeaders } from 'node:http';
import type { Json } from './types.ts';

export interface RequestRecord {
  readonly method: string;
  /** Path as sent, percent-encoded, without the query string. */
  readonly path: string;
  /** Decoded query parameters (last value wins). */
  readonly query: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
  /** Parsed JSON body, the raw text when it is not JSON, undefined when empty. */
  readonly body: unknown;
  /** User the request acted as, when its token was valid. */
  readonly userId: string | undefined;
  readonly status: number;
  readonly response: Json;
  readonly receivedAt: number;
  readonly answeredAt: number;
}

export class Recorder {
  readonly records: RequestRecord[] = [];
  private readonly listeners = new Set<(r: RequestRecord) => void>();

  add(record: RequestRecord): void {
    this.records.push(record);
    for (const l of [...this.listeners]) l(record);
  }

  subscribe(listener: (r: RequestRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  clear(): void {
    this.records.length = 0;
  }
}
