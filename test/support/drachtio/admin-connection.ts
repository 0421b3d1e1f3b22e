// One app connection on the simulated drachtio-server's admin port:
// framing, and the admin verbs drachtio-server 0.9.10 answers itself
// (authenticate, route, remove_route, ping). Authentication is not
// enforced (real drachtio-15): a connection that never authenticated still
// gets pings answered, routes accepted and requests delivered. A wrong
// secret or an unknown message type is answered `NO|...` and the server
// closes the connection at once.
import type { Socket } from 'node:net';
import { encodeFrame, FrameDecoder, FramingError } from './framing.ts';
import { ids } from './sip-ids.ts';
import type { AppLink } from './state.ts';
import type { SipCore } from './sip-core.ts';

export interface AdminFrame {
  readonly conn: number;
  readonly dir: 'app->server' | 'server->app';
  readonly payload: string;
  readonly atMs: number;
}

export interface AdminServerInfo {
  readonly secret: string;
  readonly hostports: string;
  readonly version: string;
  readonly core: () => SipCore;
  readonly record: (frame: AdminFrame) => void;
  readonly onAuth: (ok: boolean) => void;
}

export class AdminConnection implements AppLink {
  readonly id: number;
  readonly routes = new Set<string>();
  authenticated = false;
  readonly #socket: Socket;
  readonly #decoder = new FrameDecoder();
  readonly #info: AdminServerInfo;
  #closing = false;

  constructor(id: number, socket: Socket, info: AdminServerInfo) {
    this.id = id;
    this.#socket = socket;
    this.#info = info;
    socket.setKeepAlive(true, 45_000);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => socket.destroy());
  }

  get open(): boolean {
    return !this.#closing && !this.#socket.destroyed;
  }

  send(payload: string): void {
    if (!this.open) return;
    this.#info.record({ conn: this.id, dir: 'server->app', payload, atMs: Date.now() });
    this.#socket.write(encodeFrame(payload));
  }

  /** Drop the connection (server shutdown or crash). */
  destroy(): void {
    this.#closing = true;
    this.#socket.destroy();
  }

  #closeAfterReply(): void {
    this.#closing = true;
    this.#socket.end();
  }

  #onData(chunk: Buffer): void {
    let payloads: string[];
    try {
      payloads = this.#decoder.push(chunk);
    } catch (err) {
      if (err instanceof FramingError) {
        this.destroy();
        return;
      }
      throw err;
    }
    for (const payload of payloads) {
      if (this.#closing) return;
      this.#info.record({ conn: this.id, dir: 'app->server', payload, atMs: Date.now() });
      this.#handle(payload);
    }
  }

  #reply(msgId: string, tokens: readonly string[]): void {
    this.send(`${ids.uuid()}|response|${msgId}|${tokens.join('|')}`);
  }

  #handle(payload: string): void {
    const crlf = payload.indexOf('\r\n');
    const leader = crlf < 0 ? payload : payload.slice(0, crlf);
    const sip = crlf < 0 ? '' : payload.slice(crlf + 2);
    const tokens = leader.split('|');
    const msgId = tokens[0] ?? '';
    const type = tokens[1];
    switch (type) {
      case undefined:
        this.#reply(msgId, ['NO', 'Invalid message format']);
        this.#closeAfterReply();
        return;
      case 'authenticate': {
        const ok = tokens[2] === this.#info.secret;
        this.#info.onAuth(ok);
        if (!ok) {
          this.#reply(msgId, ['NO', 'incorrect secret']);
          this.#closeAfterReply();
          return;
        }
        this.authenticated = true;
        this.#reply(msgId, ['OK', this.#info.hostports, this.#info.version, this.#info.hostports]);
        return;
      }
      case 'route':
        this.routes.add(tokens[2] ?? '');
        this.#reply(msgId, ['OK']);
        return;
      case 'remove_route':
        this.routes.delete(tokens[2] ?? '');
        this.#reply(msgId, ['OK']);
        return;
      case 'ping':
        this.#reply(msgId, ['OK', 'pong']);
        return;
      case 'sip':
        this.#info.core().onAppSip(this, msgId, tokens[2] ?? '', tokens[3] ?? '', sip);
        return;
      case 'proxy':
        this.#info.core().onAppProxy(this, msgId, tokens.slice(1), sip);
        return;
      default:
        this.#reply(msgId, ['NO', 'Unknown message type']);
        this.#closeAfterReply();
    }
  }
}
