// Stands in for drachtio-server on its admin port while it is "away": a
// plain TCP server that records when each connection arrives and closes it
// at once, before any byte is exchanged. The times are the edge's
// reconnection attempts as seen on the wire. Emits 'change' per attempt.
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export class AttemptRecorder extends EventEmitter {
  /** performance.now() of each accepted connection, in order. */
  readonly times: number[] = [];
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;

  async listen(port: number, host = '127.0.0.1'): Promise<void> {
    const server = createServer((socket) => {
      this.times.push(performance.now());
      this.#sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => this.#sockets.delete(socket));
      socket.destroy();
      this.emit('change');
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
