// A raw WebSocket client for replays: sends text frames, queues what the
// server sends, and waits for the next frame or the close with a deadline.
import WebSocket from 'ws';

export class ReplayClient {
  readonly #ws: WebSocket;
  readonly #frames: string[] = [];
  #waiter: (() => void) | undefined;
  #closeCode: number | undefined;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (data) => {
      this.#frames.push(Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8'));
      this.#waiter?.();
    });
    ws.on('close', (code) => {
      this.#closeCode = code;
      this.#waiter?.();
    });
  }

  static open(url: string): Promise<ReplayClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const client = new ReplayClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
    });
  }

  send(text: string): void {
    this.#ws.send(text);
  }

  /** Frames received and not yet taken. */
  pending(): readonly string[] {
    return [...this.#frames];
  }

  /** The next frame, or an error after `deadlineMs`. */
  next(deadlineMs: number): Promise<string> {
    return this.#until(() => this.#frames.shift(), deadlineMs, 'a frame');
  }

  /** Resolve with the close code once the server closed the socket. */
  closed(deadlineMs: number): Promise<number> {
    return this.#until(() => (this.#frames.length === 0 ? this.#closeCode : undefined), deadlineMs, 'the close');
  }

  close(code = 1000): void {
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) this.#ws.close(code);
  }

  /** Drop the TCP connection without a close frame. */
  drop(): void {
    this.#ws.terminate();
  }

  #until<T>(take: () => T | undefined, deadlineMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new Error(`no ${what} within ${deadlineMs} ms (pending: ${this.#frames.length})`));
      }, deadlineMs);
      const check = (): void => {
        const v = take();
        if (v !== undefined) {
          clearTimeout(timer);
          this.#waiter = undefined;
          resolve(v);
        }
      };
      this.#waiter = check;
      check();
    });
  }
}
