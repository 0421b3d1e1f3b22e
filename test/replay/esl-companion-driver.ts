// Plays the ESL clients of a companion capture against the simulator's ESL
// server: opens the sockets, sends the commands the capture sent (uuids of
// the capture rewritten to the simulator's), waits for each reply, and at
// the end waits for the events before closing as the capture's clients did.
//
// The capture's clock is kept as an order, not as a duration: before a
// client acts at capture time t (syncTo), the driver waits until every
// socket got as many compared events as the capture shows before t (so a
// verto.bye sent while the trunk rang in the capture is sent after the
// simulator's ring too). A wait that runs out is not an error by itself:
// the comparison then shows what is missing.
import { RawEslClient } from '../support/freeswitch/esl-test-client.ts';
import { headerValue, type ParsedMessage } from '../support/freeswitch/esl-wire.ts';
import { classify } from './esl-companion-compare.ts';
import type { CompanionTrace, EslAction } from './esl-companion-trace.ts';

/** Replies counted for waiting: every non-event message but the disconnect notice. */
function replyCount(msgs: readonly ParsedMessage[]): number {
  return msgs.filter((m) => classify(m) === 'reply' && headerValue(m.headers, 'Content-Type') !== 'text/disconnect-notice').length;
}

function eventCount(msgs: readonly ParsedMessage[]): number {
  return msgs.filter((m) => { const k = classify(m); return k === 'channel' || k === 'other'; }).length;
}

export class CompanionDriver {
  readonly #port: number;
  readonly #trace: CompanionTrace;
  readonly #rewrite: (text: string) => string;
  readonly #deadlineMs: number;
  readonly #syncMs = 1000;
  readonly #clients = new Map<string, { readonly client: RawEslClient; sent: number }>();
  readonly #stepsDone = new Map<string, number>();

  constructor(port: number, trace: CompanionTrace, rewrite: (text: string) => string, deadlineMs = 3000) {
    this.#port = port;
    this.#trace = trace;
    this.#rewrite = rewrite;
    this.#deadlineMs = deadlineMs;
  }

  /** What the simulator sent on `socket` so far. */
  messages(socket: string): readonly ParsedMessage[] {
    return this.#clients.get(socket)?.client.messages ?? [];
  }

  /** STEP notes whose ESL actions were never played (a note missing from the Verto twin). */
  unplayed(): string[] {
    return [...this.#trace.afterStep.entries()]
      .filter(([text, groups]) => groups.slice(this.#stepsDone.get(text) ?? 0).some((g) => g.length > 0))
      .map(([text]) => text);
  }

  prelude(): Promise<void> {
    return this.#run(this.#trace.prelude);
  }

  /** The ESL actions that followed this STEP note in the capture (the n-th time the text appears). */
  async step(text: string): Promise<void> {
    const n = this.#stepsDone.get(text) ?? 0;
    this.#stepsDone.set(text, n + 1);
    await this.#run(this.#trace.afterStep.get(text)?.[n] ?? []);
  }

  /** Waits until each socket has the compared events the capture had received before capture time `t` (seconds). */
  async syncTo(t: number | undefined): Promise<void> {
    if (t === undefined) return;
    for (const [socket, { client }] of this.#clients) {
      const times = this.#trace.serverTimes.get(socket) ?? [];
      const want = eventCount((this.#trace.server.get(socket) ?? []).filter((_m, i) => (times[i] ?? Infinity) < t));
      await client.waitFor(() => eventCount(client.messages) >= want, this.#syncMs, `${want} events on [${socket}] before t=${t}`).catch(() => undefined);
    }
  }

  /** Waits (up to the deadline) until every socket got as many compared events as the capture, then closes like the capture. */
  async finish(): Promise<void> {
    for (const [socket, { client }] of this.#clients) {
      const want = eventCount(this.#trace.server.get(socket) ?? []);
      await client.waitFor(() => eventCount(client.messages) >= want, this.#deadlineMs, `${want} compared events on [${socket}]`).catch(() => undefined);
    }
    await this.#run(this.#trace.closing);
  }

  destroy(): void {
    for (const { client } of this.#clients.values()) client.destroy();
    this.#clients.clear();
  }

  async #run(actions: readonly EslAction[]): Promise<void> {
    for (const a of actions) await this.#act(a);
  }

  async #act(a: EslAction): Promise<void> {
    if (a.kind === 'connect') {
      const client = await RawEslClient.connect(this.#port);
      this.#clients.set(a.socket, { client, sent: 0 });
      await client.waitFor(() => replyCount(client.messages) >= 1, this.#deadlineMs, `auth/request on [${a.socket}]`);
      return;
    }
    const entry = this.#clients.get(a.socket);
    if (entry === undefined) throw new Error(`[${a.socket}] used before it was connected`);
    const { client } = entry;
    if (a.kind === 'send') {
      await this.syncTo(this.#trace.actionTimes.get(a));
      entry.sent += a.text.split('\n\n').length - 1;
      client.write(this.#rewrite(a.text));
      const want = entry.sent + 1;
      await client.waitFor(() => replyCount(client.messages) >= want, this.#deadlineMs, `reply ${want - 1} on [${a.socket}]`);
    } else if (a.kind === 'client-close') {
      client.end();
    } else {
      await client.waitClosed(this.#deadlineMs);
    }
  }
}
