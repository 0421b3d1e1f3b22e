import { EventEmitter } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP pass-through that records every byte the client sends (the edge's
 * side of the wire), so a test can assert on exactly what reached the
 * server. Emits 'change' on every chunk and connection change.
 */
export class WireTap extends EventEmitter {
  readonly #server: Server;
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<Socket>();
  /** Client -> server bytes, per connection, in order. */
  readonly sent: string[] = [];
  connections = 0;
  open = 0;
  /** Armed by dropWhen: the next chunk after which this holds for its connection's bytes is not passed on, and that connection is cut. */
  #drop: ((sentOnConnection: string) => boolean) | undefined;

  private constructor(target: { host: string; port: number }) {
    super();
    this.#target = target;
    this.#server = createServer((client) => this.#accept(client));
  }

  static async start(target: { host: string; port: number }): Promise<WireTap> {
    const tap = new WireTap(target);
    await new Promise<void>((resolve) => tap.#server.listen(0, '127.0.0.1', resolve));
    return tap;
  }

  get port(): number {
    const a = this.#server.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  }

  /**
   * Cut the connection (both ends, as a network drop would) at the first
   * client chunk after which `pred` holds for what the client sent on that
   * connection; that chunk is recorded but never reaches the server. Once.
   */
  dropWhen(pred: (sentOnConnection: string) => boolean): void {
    this.#drop = pred;
  }

  /** Everything the client sent, all connections. */
  text(): string {
    return this.sent.join('');
  }

  #accept(client: Socket): void {
    const index = this.sent.length;
    this.sent.push('');
    this.connections += 1;
    this.open += 1;
    const upstream = createConnection(this.#target);
    // A tap must not add Nagle's delays to what it relays.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    this.#sockets.add(client);
    this.#sockets.add(upstream);
    client.on('data', (d: Buffer) => {
      this.sent[index] += d.toString('utf8');
      const drop = this.#drop;
      if (drop !== undefined && drop(this.sent[index] ?? '')) {
        this.#drop = undefined;
        close();
        return;
      }
      upstream.write(d);
      this.emit('change');
    });
    upstream.on('data', (d: Buffer) => client.write(d));
    const close = () => {
      if (!this.#sockets.has(client)) return;
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
      this.open -= 1;
      this.emit('change');
    };
    client.on('close', close);
    upstream.on('close', close);
    client.on('error', close);
    upstream.on('error', close);
    this.emit('change');
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
