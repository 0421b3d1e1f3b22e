// Drives the client side of a Verto trace over real WebSockets against the
// simulator and checks every server frame against the trace, in order.
import { ReplayClient } from './verto-client.ts';
import { compareFrame, newCompareState, type CompareState } from './verto-compare.ts';
import { parseTree } from './verto-json-tree.ts';
import type { Step } from './verto-trace.ts';

export interface ReplayHooks {
  /** A capture STEP line: do what the capture did outside this WebSocket (ESL, SIP…). */
  readonly step?: (text: string, r: Replayer) => void | Promise<void>;
  /** Before trace step `index` (for fragments whose setup is not in the trace). */
  readonly before?: (index: number, r: Replayer) => void | Promise<void>;
  /** The server frame that matched expected step `index` (to look closer than the comparison does). */
  readonly received?: (index: number, socket: string, text: string, r: Replayer) => void | Promise<void>;
}

export class Replayer {
  readonly #url: string;
  readonly #deadlineMs: number;
  readonly #clients = new Map<string, ReplayClient>();
  readonly state: CompareState = newCompareState();

  constructor(url: string, deadlineMs = 2000) {
    this.#url = url;
    this.#deadlineMs = deadlineMs;
  }

  async client(name: string): Promise<ReplayClient> {
    const existing = this.#clients.get(name);
    if (existing !== undefined) return existing;
    const c = await ReplayClient.open(this.#url);
    this.#clients.set(name, c);
    return c;
  }

  /** Setup outside the trace: log `socket` in and swallow the reply and verto.clientReady. */
  async login(socket: string, sessid: string, login: string, passwd: string): Promise<void> {
    const c = await this.client(socket);
    c.send(JSON.stringify({ jsonrpc: '2.0', method: 'login', params: { login, passwd, sessid }, id: 900 }));
    const reply = await c.next(this.#deadlineMs);
    if (!reply.includes('"logged in"')) throw new Error(`setup login failed: ${reply}`);
    const ready = await c.next(this.#deadlineMs);
    if (!ready.includes('"verto.clientReady"')) throw new Error(`setup: no clientReady: ${ready}`);
    this.#noteServerId(ready);
  }

  /** Swallow one server frame outside the trace (setup), keeping the id order. */
  async skip(socket: string): Promise<string> {
    const text = await (await this.client(socket)).next(this.#deadlineMs);
    this.#noteServerId(text);
    return text;
  }

  async run(steps: readonly Step[], hooks: ReplayHooks = {}): Promise<void> {
    for (const [i, s] of steps.entries()) {
      await hooks.before?.(i, this);
      const where = `step ${i} (${s.kind}${'socket' in s ? ` ${s.socket}` : ''})`;
      switch (s.kind) {
        case 'open':
          await this.client(s.socket);
          break;
        case 'send':
          (await this.client(s.socket)).send(this.#substitute(s.text));
          break;
        case 'expect': {
          const c = await this.client(s.socket);
          let text: string;
          try {
            text = await c.next(this.#deadlineMs);
          } catch (e) {
            throw new Error(`${where}: expected ${s.text.slice(0, 300)}: ${String(e)}`);
          }
          const diffs = compareFrame(s.frame, parseTree(text), this.state);
          if (diffs.length > 0) throw new Error(`${where}: ${diffs.join('; ')}\n  trace: ${s.text.slice(0, 600)}\n  got:   ${text.slice(0, 600)}`);
          await hooks.received?.(i, s.socket, text, this);
          break;
        }
        case 'close':
          (await this.client(s.socket)).close(1000);
          break;
        case 'drop':
          (await this.client(s.socket)).drop();
          break;
        case 'expectClose': {
          const code = await (await this.client(s.socket)).closed(this.#deadlineMs);
          if (code !== s.code) throw new Error(`${where}: closed with ${code}, trace has ${s.code}`);
          break;
        }
        case 'step':
          await hooks.step?.(s.text, this);
          break;
      }
    }
  }

  /** Frames the server sent that the trace does not have. */
  unexpected(): string[] {
    return [...this.#clients.entries()].flatMap(([name, c]) => c.pending().map((f) => `${name}: ${f.slice(0, 200)}`));
  }

  closeAll(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }

  #noteServerId(text: string): void {
    const m = /^\{"jsonrpc":"2.0","id":(\d+),"method"/.exec(text);
    if (m !== null) this.state.lastServerId = Math.max(this.state.lastServerId, Number(m[1]));
  }

  #substitute(text: string): string {
    let out = text;
    for (const [from, to] of this.state.aliases) out = out.split(from).join(to);
    return out;
  }
}
