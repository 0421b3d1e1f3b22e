// A raw ESL client for tests: writes bytes, collects server messages with
// the exact framing, waits for them with a deadline (no sleeps).
import { connect, type Socket } from 'node:net';
import { ServerStreamParser, type ParsedMessage } from './esl-wire.ts';

export class RawEslClient {
  readonly socket: Socket;
  readonly messages: ParsedMessage[] = [];
  #parser = new ServerStreamParser();
  #closed = false;
  #waiters = new Set<() => void>();
  raw = '';

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.raw += chunk.toString('utf8');
      this.messages.push(...this.#parser.push(chunk));
      this.#wake();
    });
    socket.on('end', () => {
      // the server closed its side: FreeSWITCH closes the whole connection
      this.#closed = true;
      socket.end();
      this.#wake();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#wake();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawEslClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host, allowHalfOpen: true }, () => resolve(new RawEslClient(s)));
      s.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes received that do not (yet) form a complete message. */
  get pendingBytes(): number {
    return this.#parser.pending;
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }

  /** Resolves when `cond` holds (checked on every arrival), rejects after `ms`. */
  waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (cond()) {
          clearTimeout(timer);
          this.#waiters.delete(check);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}; got ${this.messages.length} messages${this.#closed ? ', socket closed' : ''}`));
      }, ms);
      this.#waiters.add(check);
    });
  }

  waitForCount(n: number, ms = 3000): Promise<void> {
    return this.waitFor(() => this.messages.length >= n, ms, `${n} messages`);
  }

  waitClosed(ms = 3000): Promise<void> {
    return this.waitFor(() => this.#closed, ms, 'socket close');
  }

  write(text: string): void {
    this.socket.write(text);
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}
