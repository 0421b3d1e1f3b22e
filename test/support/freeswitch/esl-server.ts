// The simulated mod_event_socket (inbound mode): a TCP server speaking what
// shared/protocols/esl.md and the traces show. One EslConnection per socket;
// commands are handled strictly in order, and events queued while a command
// runs are written after its reply (as FreeSWITCH's reader thread does).
import { createServer, type Server, type Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { FsEvent } from './contract.ts';
import type { FreeSwitchModel } from './channel-model.ts';
import { SITES } from './channel-events.ts';
import { executeApi } from './esl-api.ts';
import { ClientPacketReader, apiResponse, commandReply, disconnectNotice, frameEvent, frameMessage, headerValue, type ClientPacket, type EventFormat, type Header } from './esl-wire.ts';
import { parseCause } from './causes.ts';
import { EVENT_NAMES } from './esl-event-names.ts';

export interface EslServerOptions {
  /** `password` of event_socket.conf.xml (default ClueCon). */
  readonly password?: string;
  /** apply-inbound-acl: when given, only these peer addresses are accepted (others get text/rude-rejection). */
  readonly allowFrom?: readonly string[];
}

const SHUTDOWN_BODY = 'The system is being shut down.\n';

export class EslServer {
  readonly #model: FreeSwitchModel;
  readonly #options: EslServerOptions;
  readonly #server: Server;
  readonly #connections = new Set<EslConnection>();
  readonly #unsubscribe: () => void;

  constructor(model: FreeSwitchModel, options: EslServerOptions = {}) {
    this.#model = model;
    this.#options = options;
    this.#server = createServer({ allowHalfOpen: true }, (socket) => this.#accept(socket));
    this.#unsubscribe = model.onEvent((event) => {
      for (const c of this.#connections) c.deliver(event);
    });
  }

  /** Starts listening; resolves with the bound port (0 = ephemeral). */
  listen(port = 0, host = '127.0.0.1'): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve(this.port);
      });
    });
  }

  get port(): number {
    const a = this.#server.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  #accept(socket: Socket): void {
    socket.setNoDelay(true);
    const peer = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const acl = this.#options.allowFrom;
    if (acl !== undefined && !acl.includes(peer)) {
      socket.on('error', () => undefined);
      socket.write(frameMessage([['Content-Type', 'text/rude-rejection']], 'Access Denied, go away.\n'));
      socket.once('finish', () => socket.destroy());
      socket.end(disconnectNotice());
      return;
    }
    const conn = new EslConnection(this.#model, socket, this.#options.password ?? 'ClueCon', () => this.#connections.delete(conn));
    this.#connections.add(conn);
    conn.start();
  }

  /** Sends every client the shutdown notice, closes every socket and the listener. */
  async close(): Promise<void> {
    this.#unsubscribe();
    for (const c of this.#connections) c.shutdown(SHUTDOWN_BODY);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

type Filter = { readonly header: string; readonly value: string };

/** One inbound ESL socket. */
class EslConnection {
  readonly #model: FreeSwitchModel;
  readonly #socket: Socket;
  readonly #password: string;
  readonly #onClose: () => void;
  readonly #reader = new ClientPacketReader();
  readonly #queue: ClientPacket[] = [];
  readonly #held: string[] = [];
  #authed = false;
  #running = false;
  #busy = false;
  #closed = false;
  #peerEnded = false;
  #listening = false;
  #format: EventFormat = 'plain';
  #all = false;
  readonly #events = new Set<string>();
  readonly #customs = new Set<string>();
  readonly #filters: Filter[] = [];
  #myUuid: string | undefined;
  #logLevel: number | undefined;

  constructor(model: FreeSwitchModel, socket: Socket, password: string, onClose: () => void) {
    this.#model = model;
    this.#socket = socket;
    this.#password = password;
    this.#onClose = onClose;
  }

  start(): void {
    this.#socket.on('data', (chunk: Buffer) => {
      try {
        this.#queue.push(...this.#reader.push(chunk));
      } catch {
        this.#socket.destroy(); // negative or > 16 MiB Content-Length: FreeSWITCH drops the connection
        return;
      }
      void this.#drain();
    });
    this.#socket.on('end', () => {
      this.#peerEnded = true;
      void this.#drain();
    });
    this.#socket.on('error', () => undefined);
    this.#socket.on('close', () => {
      this.#closed = true;
      this.#onClose();
    });
    this.#write(frameMessage([['Content-Type', 'auth/request']]));
  }

  #write(text: string): void {
    if (!this.#closed && this.#socket.writable) this.#socket.write(text);
  }

  /** Writes the disconnect notice and closes. */
  #disconnect(body?: string): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#socket.writable) {
      this.#socket.once('finish', () => this.#socket.destroy());
      this.#socket.end(disconnectNotice(body));
    } else this.#socket.destroy();
  }

  shutdown(body: string): void {
    this.#disconnect(body);
  }

  async #drain(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    while (this.#queue.length > 0 && !this.#closed) {
      const packet = this.#queue.shift();
      if (packet === undefined) break;
      this.#busy = true;
      await this.#handle(packet);
      this.#busy = false;
      this.#flushHeld();
    }
    this.#running = false;
    if (this.#peerEnded && !this.#closed) this.#disconnect();
  }

  // -------------------------------------------------------------------------
  // events

  deliver(event: FsEvent): void {
    if (this.#closed || !this.#authed || !this.#wants(event)) return;
    const text = frameEvent(event, this.#format);
    if (this.#busy) this.#held.push(text);
    else this.#write(text);
  }

  #flushHeld(): void {
    for (const text of this.#held.splice(0)) this.#write(text);
  }

  #wants(event: FsEvent): boolean {
    if (!this.#listening) return false;
    const get = (name: string): string | undefined => headerValue(event.headers, name);
    if (this.#myUuid !== undefined && get('Unique-ID') !== this.#myUuid) return false;
    const name = get('Event-Name') ?? '';
    if (!this.#all) {
      if (!this.#events.has(name)) return false;
      const subclass = get('Event-Subclass');
      if (name === 'CUSTOM' && subclass !== undefined && !this.#customs.has(subclass)) return false;
    }
    if (this.#filters.length === 0) return true;
    let include = false;
    let sawInclude = false;
    for (const f of this.#filters) {
      const exclude = f.value.startsWith('-');
      const raw = f.value.startsWith('-') || f.value.startsWith('+') ? f.value.slice(1) : f.value;
      const v = get(f.header);
      const match = v !== undefined && (raw.startsWith('/') ? new RegExp(raw.replace(/^\/|\/$/g, '')).test(v) : v.toLowerCase() === raw.toLowerCase());
      if (exclude) {
        if (match) return false;
      } else {
        sawInclude = true;
        if (match) include = true;
      }
    }
    return !sawInclude || include;
  }

  // -------------------------------------------------------------------------
  // commands

  async #handle(p: ClientPacket): Promise<void> {
    const cmd = p.command;
    const lower = cmd.toLowerCase();
    if (lower.startsWith('exit') || cmd.startsWith('...')) {
      this.#write(commandReply('+OK bye'));
      this.#disconnect();
      return;
    }
    if (!this.#authed) {
      this.#beforeAuth(cmd, lower);
      return;
    }
    if (lower.startsWith('api ')) {
      const rest = cmd.slice(4);
      const sp = rest.indexOf(' ');
      const name = sp < 0 ? rest : rest.slice(0, sp);
      const args = sp < 0 ? '' : rest.slice(sp + 1);
      const body = await executeApi(this.#model, name, args);
      this.#write(apiResponse(body));
      return;
    }
    if (lower.startsWith('bgapi ')) {
      this.#bgapi(cmd.slice(6), headerValue(p.headers, 'Job-UUID') ?? randomUUID());
      return;
    }
    this.#write(commandReply(this.#command(p, cmd, lower)));
  }

  #beforeAuth(cmd: string, lower: string): void {
    if (lower.startsWith('auth ')) {
      if (cmd.slice(5) === this.#password) {
        this.#authed = true;
        this.#write(commandReply('+OK accepted'));
      } else {
        this.#write(commandReply('-ERR invalid'));
        this.#disconnect();
      }
      return;
    }
    if (lower.startsWith('userauth ')) {
      this.#write(commandReply('-ERR invalid'));
      this.#disconnect();
      return;
    }
    this.#write(commandReply('-ERR command not found'));
  }

  #bgapi(rest: string, jobUuid: string): void {
    this.#write(commandReply(`+OK Job-UUID: ${jobUuid}`, [['Job-UUID', jobUuid]]));
    const sp = rest.indexOf(' ');
    const name = sp < 0 ? rest : rest.slice(0, sp);
    const args = sp < 0 ? '' : rest.slice(sp + 1);
    const model = this.#model;
    // the job thread starts at once; a synchronous API's result is queued behind this reply
    void executeApi(model, name, args).then((body) => {
      if (model.stopped) return;
      const headers: Header[] = [['Job-UUID', jobUuid], ['Job-Command', name]];
      if (args !== '') headers.push(['Job-Command-Arg', args]);
      model.fireEvent('BACKGROUND_JOB', SITES.backgroundJob, headers, body);
    });
  }

  /** Every command answered with a command/reply; returns its Reply-Text. */
  #command(p: ClientPacket, cmd: string, lower: string): string {
    if (lower.startsWith('nixevent')) return this.#nixevent(cmd.slice(8));
    if (lower.startsWith('noevents')) {
      if (!this.#listening) return '-ERR not listening for events';
      this.#listening = false;
      this.#all = false;
      this.#events.clear();
      this.#customs.clear();
      this.#held.length = 0;
      return '+OK no longer listening for events';
    }
    if (lower.startsWith('nolog')) {
      if (this.#logLevel === undefined) return '-ERR not loging';
      this.#logLevel = undefined;
      return '+OK no longer logging';
    }
    if (lower.startsWith('nolinger') || lower.startsWith('linger')) return '-ERR not controlling a session';
    if (lower.startsWith('log')) return this.#log(cmd.slice(3).trim());
    if (lower.startsWith('event')) return this.#event(cmd.slice(5));
    if (lower.startsWith('filter ')) return this.#filter(cmd.slice(7));
    if (lower.startsWith('sendmsg')) return this.#sendmsg(p, cmd.slice(7).trim());
    if (lower.startsWith('sendevent')) {
      const name = cmd.slice(9).trim().toUpperCase() || 'CUSTOM';
      const id = randomUUID();
      this.#model.fireEvent(name, SITES.sendevent, [...p.headers.filter(([k]) => k.toLowerCase() !== 'content-length'), ['Event-UUID', id]], p.body);
      return `+OK ${id}`;
    }
    if (lower.startsWith('myevents')) return this.#myevents(cmd.slice(8).trim());
    if (lower.startsWith('divert_events')) return '-ERR not controlling a session.';
    return '-ERR command not found';
  }

  #eventNames(words: readonly string[]): { names: string[]; customs: string[]; format: EventFormat | undefined } {
    const names: string[] = [];
    const customs: string[] = [];
    let format: EventFormat | undefined;
    let custom = false;
    for (const w of words) {
      if (w === '') continue;
      if (custom) {
        customs.push(w);
        continue;
      }
      const lw = w.toLowerCase();
      if (lw === 'plain' || lw === 'json' || lw === 'xml') {
        format = lw;
        continue;
      }
      const name = w.toUpperCase().replace(/^SWITCH_EVENT_/, '');
      if (!EVENT_NAMES.has(name)) continue;
      names.push(name);
      if (name === 'CUSTOM') custom = true;
    }
    return { names, customs, format };
  }

  #event(rest: string): string {
    const { names, customs, format } = this.#eventNames(rest.trim().split(' '));
    if (format !== undefined) this.#format = format;
    if (names.length === 0) return '-ERR no keywords supplied';
    for (const n of names) {
      if (n === 'ALL') this.#all = true;
      this.#events.add(n);
    }
    for (const c of customs) this.#customs.add(c);
    this.#listening = true;
    return `+OK event listener enabled ${this.#format}`;
  }

  #nixevent(rest: string): string {
    const { names, customs } = this.#eventNames(rest.trim().split(' '));
    if (names.length === 0 && customs.length === 0) return '-ERR no keywords supplied';
    for (const n of names) {
      if (n === 'ALL') {
        this.#all = false;
        this.#events.clear();
        continue;
      }
      if (this.#all) {
        this.#all = false;
        for (const e of EVENT_NAMES) if (e !== 'ALL') this.#events.add(e);
      }
      this.#events.delete(n);
    }
    for (const c of customs) this.#customs.delete(c);
    return '+OK events nixed';
  }

  #filter(rest: string): string {
    const t = rest.trim();
    const sp = t.indexOf(' ');
    const header = sp < 0 ? t : t.slice(0, sp);
    const value = sp < 0 ? '' : t.slice(sp + 1);
    if (header.toLowerCase() === 'delete') {
      const sp2 = value.indexOf(' ');
      const h = sp2 < 0 ? value : value.slice(0, sp2);
      const v = sp2 < 0 ? '' : value.slice(sp2 + 1);
      if (h === 'all') this.#filters.length = 0;
      else {
        for (let i = this.#filters.length - 1; i >= 0; i--) {
          const f = this.#filters[i];
          if (f !== undefined && f.header.toLowerCase() === h.toLowerCase() && (v === '' || f.value === v)) this.#filters.splice(i, 1);
        }
      }
      return `+OK filter deleted. [${h}][${v}]`;
    }
    if (header === '' || value === '') return '-ERR invalid syntax';
    this.#filters.push({ header, value });
    return `+OK filter added. [${header}]=[${value}]`;
  }

  #sendmsg(p: ClientPacket, uuidArg: string): string {
    const uuid = uuidArg !== '' ? uuidArg : (headerValue(p.headers, 'session-id') ?? '');
    const ch = this.#model.channel(uuid);
    if (ch === undefined) return `-ERR invalid session id [${uuid}]`;
    const command = (headerValue(p.headers, 'call-command') ?? '').toLowerCase();
    if (command === 'execute') {
      const app = headerValue(p.headers, 'execute-app-name') ?? '';
      const arg = headerValue(p.headers, 'execute-app-arg') ?? p.body ?? '';
      this.#model.execute(uuid, app, arg, headerValue(p.headers, 'Event-UUID'));
    } else if (command === 'hangup') {
      this.#model.kill(uuid, parseCause(headerValue(p.headers, 'hangup-cause')));
    }
    return '+OK';
  }

  #myevents(rest: string): string {
    if (this.#myUuid !== undefined) return '-ERR aready enabled.';
    const [uuid = '', fmt] = rest.split(/\s+/);
    if (fmt !== undefined && this.#model.channel(uuid) === undefined) return '-ERR invalid uuid';
    if (fmt === 'json' || fmt === 'xml' || fmt === 'plain') this.#format = fmt;
    this.#myUuid = uuid;
    this.#listening = true;
    this.#all = true;
    return '+OK Events Enabled';
  }

  #log(level: string): string {
    const levels: Record<string, number> = { console: 0, alert: 1, crit: 2, err: 3, error: 3, warning: 4, notice: 5, info: 6, debug: 7 };
    const text = level === '' ? 'debug' : level;
    const n = /^\d+$/.test(text) ? Number(text) : levels[text.toLowerCase()];
    if (n === undefined || n > 7) return '-ERR invalid log level';
    this.#logLevel = n;
    return `+OK log level ${text} [${n}]`;
  }
}
