// The ESL companion of a real Verto capture (traces/real/verto-NN-*.esl.json):
// what the ESL clients did, grouped by the capture's STEP notes (the same
// notes, on the same clock, as in the Verto twin), and what FreeSWITCH sent
// on each ESL socket, split into messages.
import path from 'node:path';
import { loadFrameCapture, traceDir } from '../support/traces.ts';
import { ServerStreamParser, type ParsedMessage } from '../support/freeswitch/esl-wire.ts';

/** One thing an ESL client did. */
export type EslAction =
  | { readonly kind: 'connect'; readonly socket: string }
  | { readonly kind: 'send'; readonly socket: string; readonly text: string }
  | { readonly kind: 'client-close'; readonly socket: string }
  | { readonly kind: 'server-closes'; readonly socket: string };

export interface CompanionTrace {
  readonly file: string;
  /** Actions before the first STEP note. */
  readonly prelude: readonly EslAction[];
  /** Actions after each STEP note (text without `STEP: `), in order; a text may repeat. */
  readonly afterStep: ReadonlyMap<string, readonly (readonly EslAction[])[]>;
  /**
   * The clients' own closes (`client closes TCP` and the server's close that
   * follows), taken out of the steps: the replay does them once every event
   * has arrived, as the capture's clients did after waiting.
   */
  readonly closing: readonly EslAction[];
  /** Server messages per socket. */
  readonly server: ReadonlyMap<string, readonly ParsedMessage[]>;
  /** For each server message, the capture time (s) of the TCP read that completed it; parallel to `server`. */
  readonly serverTimes: ReadonlyMap<string, readonly number[]>;
  /** Capture time (s) of each client action. */
  readonly actionTimes: ReadonlyMap<EslAction, number>;
}

function actionOf(socket: string, dir: string, raw: string): EslAction | undefined {
  if (dir === 'client->server') return { kind: 'send', socket, text: raw };
  if (dir !== 'note') return undefined;
  if (/^TCP connected/.test(raw)) return { kind: 'connect', socket };
  if (/^client closes TCP/.test(raw)) return { kind: 'client-close', socket };
  if (/^TCP closed by peer or locally/.test(raw)) return { kind: 'server-closes', socket };
  return undefined;
}

/** Loads `traces/real/<name>` (a `verto-NN-*.esl.json`). */
export function loadCompanion(name: string): CompanionTrace {
  const file = path.join(traceDir('real'), name);
  const capture = loadFrameCapture(file);
  const groups: { step: string | undefined; actions: EslAction[] }[] = [{ step: undefined, actions: [] }];
  const parsers = new Map<string, ServerStreamParser>();
  const server = new Map<string, ParsedMessage[]>();
  const serverTimes = new Map<string, number[]>();
  const actionTimes = new Map<EslAction, number>();
  for (const f of capture.frames) {
    if (f.dir === 'note' && f.raw.startsWith('STEP: ')) {
      groups.push({ step: f.raw.slice('STEP: '.length), actions: [] });
      continue;
    }
    if (f.dir === 'server->client') {
      const parser = parsers.get(f.socket) ?? new ServerStreamParser();
      parsers.set(f.socket, parser);
      const msgs = parser.push(f.raw);
      server.set(f.socket, [...(server.get(f.socket) ?? []), ...msgs]);
      serverTimes.set(f.socket, [...(serverTimes.get(f.socket) ?? []), ...msgs.map(() => f.t)]);
      continue;
    }
    const action = actionOf(f.socket, f.dir, f.raw);
    if (action === undefined) continue;
    actionTimes.set(action, f.t);
    groups.at(-1)?.actions.push(action);
  }
  for (const [socket, parser] of parsers) {
    if (parser.pending !== 0) throw new Error(`${name} [${socket}]: ${parser.pending} trailing bytes`);
  }
  const closing: EslAction[] = [];
  const closed = new Set<string>();
  for (const g of groups) {
    g.actions = g.actions.filter((a) => {
      if (a.kind === 'client-close') closed.add(a.socket);
      const deferred = closed.has(a.socket);
      if (deferred) closing.push(a);
      return !deferred;
    });
  }
  const afterStep = new Map<string, EslAction[][]>();
  for (const g of groups) {
    if (g.step !== undefined) afterStep.set(g.step, [...(afterStep.get(g.step) ?? []), g.actions]);
  }
  return { file: name, prelude: groups[0]?.actions ?? [], afterStep, closing, server, serverTimes, actionTimes };
}
