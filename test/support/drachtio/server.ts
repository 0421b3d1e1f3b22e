// A drachtio-server simulator faithful to drachtio-server 0.9.10 as
// captured in ../shared/traces/real/drachtio-*: the admin port over TCP
// (what drachtio-srf connects to) and a simulated SIP side (network.ts).
// Emits 'change' on every frame, SIP message and connection change, for
// waitUntil() in tests.
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { AdminConnection, type AdminFrame } from './admin-connection.ts';
import { Network } from './network.ts';
import { SipCore } from './sip-core.ts';
import type { SipIdentity } from './state.ts';

export interface DrachtioSimulatorOptions {
  readonly secret: string;
  /** The SIP address the server announces and sends from (default 127.0.0.1:5070). */
  readonly sip?: SipIdentity;
  readonly version?: string;
}

export class DrachtioSimulator extends EventEmitter {
  readonly network: Network;
  /** Every admin frame, both directions, all connections, in order. */
  readonly frames: AdminFrame[] = [];
  /** TCP connections accepted on the admin port (including refused logins). */
  accepted = 0;
  authFailures = 0;
  authSuccesses = 0;
  readonly #options: DrachtioSimulatorOptions;
  readonly #connections = new Set<AdminConnection>();
  #core: SipCore;
  #server: Server | undefined;
  #port = 0;
  #nextConn = 1;

  constructor(options: DrachtioSimulatorOptions) {
    super();
    this.#options = options;
    const self = options.sip ?? { host: '127.0.0.1', port: 5070 };
    this.network = new Network({ transport: 'udp', address: self.host, port: self.port });
    this.network.on('change', () => this.emit('change'));
    this.#core = this.#newCore();
  }

  get port(): number {
    return this.#port;
  }

  get sip(): SipIdentity {
    return this.#options.sip ?? { host: '127.0.0.1', port: 5070 };
  }

  /** Connections open now. */
  get open(): number {
    return [...this.#connections].filter((c) => c.open).length;
  }

  /** Listen on the admin port (again after close(): a restarted server keeps no SIP state). */
  async listen(port = 0, host = '127.0.0.1'): Promise<number> {
    this.#core = this.#newCore();
    const server = createServer((socket) => this.#accept(socket));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const a = server.address();
    this.#port = typeof a === 'object' && a !== null ? a.port : port;
    return this.#port;
  }

  /** The server goes away: every admin connection is dropped, the port closes. */
  async close(): Promise<void> {
    for (const c of this.#connections) c.destroy();
    this.#connections.clear();
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
    this.network.close();
    this.emit('change');
  }

  /** Admin frames of one direction as payload strings. */
  payloads(dir: AdminFrame['dir']): string[] {
    return this.frames.filter((f) => f.dir === dir).map((f) => f.payload);
  }

  #newCore(): SipCore {
    const self = this.sip;
    return new SipCore(this.network, self, () => [...this.#connections]);
  }

  #accept(socket: Socket): void {
    this.accepted += 1;
    const self = this.sip;
    const hostports = `tcp/${self.host}:${self.port},udp/${self.host}:${self.port}`;
    const conn = new AdminConnection(this.#nextConn++, socket, {
      secret: this.#options.secret,
      hostports,
      version: this.#options.version ?? 'v0.9.10',
      core: () => this.#core,
      record: (frame) => {
        this.frames.push(frame);
        this.emit('change');
      },
      onAuth: (ok) => {
        if (ok) this.authSuccesses += 1;
        else this.authFailures += 1;
      },
    });
    this.#connections.add(conn);
    socket.on('close', () => {
      this.#connections.delete(conn);
      this.emit('change');
    });
    this.emit('change');
  }
}
