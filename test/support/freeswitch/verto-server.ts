// The mod_verto WebSocket server of the FreeSWITCH simulator: one listener
// (any path, no subprotocol), one VertoSession per socket, one process-wide
// counter for server request ids, sessions by sessid. Calls go to the
// VertoBackend (the channel model).
import { WebSocketServer, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import type { VertoBackend } from './contract.ts';
import type { VertoDirectory } from './verto-directory.ts';
import { VertoSession, type SessionHost } from './verto-session.ts';
import { channelDataVariables, DEFAULT_IDENTITY, type SwitchIdentity } from './verto-channel-data.ts';

export interface VertoServerOptions {
  readonly backend: VertoBackend;
  readonly directory: VertoDirectory;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0 (any free port). */
  readonly port?: number;
  /** Idle time before the server's keep-alive verto.ping. FreeSWITCH: 30 000. */
  readonly pingIntervalMs?: number;
  /** Delay before queued server requests are written (mod_verto's 50 ms read poll). Default 50. */
  readonly eventFlushMs?: number;
  /** Server request ids; default a counter of this server starting at 1. Pass one to share it. */
  readonly nextRequestId?: () => number;
  /** Identity in the CHANNEL_DATA `variables` the server fills in when the model gives none. */
  readonly identity?: SwitchIdentity;
  /** Event-Sequence for those variables; default a counter of this server. */
  readonly nextEventSequence?: () => number;
  /** Largest accepted frame (libks: 1 000 000 bytes). */
  readonly maxPayload?: number;
  /** Called with every text frame as it is received and just before it is written (the benchmark timestamps them). */
  readonly onFrame?: (direction: 'received' | 'sent', text: string) => void;
}

export class VertoServer {
  readonly #wss: WebSocketServer;
  readonly #sessions = new Map<string, VertoSession>();
  readonly #sockets = new Map<WebSocket, VertoSession>();

  private constructor(wss: WebSocketServer, options: VertoServerOptions) {
    this.#wss = wss;
    let requestId = 1;
    let sequence = 1;
    const identity = options.identity ?? DEFAULT_IDENTITY;
    const nextSequence = options.nextEventSequence ?? (() => sequence++);
    const host: SessionHost = {
      backend: options.backend,
      directory: options.directory,
      sessions: this.#sessions,
      nextRequestId: options.nextRequestId ?? (() => requestId++),
      channelData: () => channelDataVariables(identity, nextSequence()),
      pingIntervalMs: options.pingIntervalMs ?? 30_000,
      eventFlushMs: options.eventFlushMs ?? 50,
      lastDisplay: new Map(),
    };
    wss.on('connection', (ws, req) => {
      const remoteAddress = `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? 0}`;
      const session = new VertoSession(host, {
        remoteAddress,
        send: (text) => {
          if (ws.readyState !== ws.OPEN) return;
          options.onFrame?.('sent', text);
          ws.send(text);
        },
        close: (code) => {
          if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(code);
        },
      });
      this.#sockets.set(ws, session);
      ws.on('message', (data, isBinary) => {
        if (isBinary) return;
        const text = rawText(data);
        options.onFrame?.('received', text);
        session.onFrame(text);
      });
      ws.on('close', () => {
        this.#sockets.delete(ws);
        session.onClose();
      });
      ws.on('error', () => ws.terminate());
    });
  }

  /** Listen and resolve once bound. */
  static start(options: VertoServerOptions): Promise<VertoServer> {
    return new Promise((resolve, reject) => {
      const wss = new WebSocketServer({
        host: options.host ?? '127.0.0.1',
        port: options.port ?? 0,
        maxPayload: options.maxPayload ?? 1_000_000,
        handleProtocols: () => false,
      });
      wss.once('error', reject);
      wss.once('listening', () => {
        wss.off('error', reject);
        resolve(new VertoServer(wss, options));
      });
    });
  }

  get port(): number {
    return (this.#wss.address() as AddressInfo).port;
  }

  get url(): string {
    const a = this.#wss.address() as AddressInfo;
    return `ws://${a.address}:${a.port}`;
  }

  /** Session ids that have a live authenticated socket. */
  liveSessions(): readonly string[] {
    return [...this.#sessions.keys()];
  }

  /** Close every socket (calls detach as on a socket loss) and stop listening. */
  close(): Promise<void> {
    for (const [ws, session] of this.#sockets) {
      session.onClose();
      ws.terminate();
    }
    this.#sockets.clear();
    return new Promise((resolve) => this.#wss.close(() => resolve()));
  }
}

function rawText(data: Buffer | ArrayBuffer | Buffer[]): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
