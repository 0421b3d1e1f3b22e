// A small HTTP listener playing the appservice in replays: records every request the
// homeserver makes (headers in wire order) and answers from a script.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly headerNames: readonly string[];
  readonly headers: IncomingMessage['headers'];
  readonly body: unknown;
}

export interface ListenerReply {
  readonly status: number;
  readonly body: unknown;
}

export type Responder = (req: ReceivedRequest, index: number) => ListenerReply | Promise<ListenerReply>;

export class AppserviceListener {
  readonly received: ReceivedRequest[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly listeners = new Set<() => void>();
  private responder: Responder;
  /** Most requests handled at the same time (Synapse sends one transaction at a time). */
  maxConcurrent = 0;
  private concurrent = 0;

  constructor(responder: Responder = () => ({ status: 200, body: {} })) {
    this.responder = responder;
  }

  respondWith(responder: Responder): void {
    this.responder = responder;
  }

  async start(port = 0): Promise<number> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.concurrent++;
        this.maxConcurrent = Math.max(this.maxConcurrent, this.concurrent);
        const text = Buffer.concat(chunks).toString('utf8');
        const names: string[] = [];
        for (let i = 0; i < req.rawHeaders.length; i += 2) names.push(req.rawHeaders[i] ?? '');
        const record: ReceivedRequest = { method: req.method ?? '', url: req.url ?? '', headerNames: names, headers: req.headers, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
        const index = this.received.length;
        this.received.push(record);
        void Promise.resolve(this.responder(record, index)).then((reply) => {
          this.concurrent--;
          res.writeHead(reply.status, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify(reply.body));
          for (const l of [...this.listeners]) l();
        });
      });
    });
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  /** Resolves once `count` requests have been answered, or rejects at the deadline. */
  waitForCount(count: number, timeoutMs = 5000): Promise<void> {
    if (this.received.length >= count && this.concurrent === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.received.length < count || this.concurrent > 0) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`appservice listener: ${this.received.length} of ${count} requests after ${timeoutMs} ms`));
      }, timeoutMs);
      this.listeners.add(check);
    });
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.listeners.clear();
    if (server === undefined) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }
}
