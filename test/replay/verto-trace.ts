// Verto traces as replay steps: the reconstructed files (traces/verto/*.json,
// `messages`) and the real captures (traces/real/verto-NN-*.json, `frames`
// with notes for socket opens/closes and the capture's STEP lines).
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { parseTree, treeOf, type Tree } from './verto-json-tree.ts';

export const TRACES_DIR = resolve(import.meta.dirname, '../../../shared/traces');

export type Step =
  | { readonly kind: 'send'; readonly socket: string; readonly text: string }
  | { readonly kind: 'expect'; readonly socket: string; readonly frame: Tree; readonly text: string }
  | { readonly kind: 'open'; readonly socket: string }
  | { readonly kind: 'close'; readonly socket: string }
  | { readonly kind: 'drop'; readonly socket: string }
  | { readonly kind: 'expectClose'; readonly socket: string; readonly code: number }
  | { readonly kind: 'step'; readonly text: string };

const reconstructedSchema = z.object({
  messages: z.array(z.object({ dir: z.enum(['client->server', 'server->client']), socket: z.string().optional(), msg: z.unknown() })),
});

const realSchema = z.object({
  frames: z.array(z.object({ t: z.number(), socket: z.string(), dir: z.enum(['client->server', 'server->client', 'note']), raw: z.string() })),
});

const rawSchema = z.object({ raw: z.string() });

export function reconstructedNames(): string[] {
  return readdirSync(join(TRACES_DIR, 'verto')).filter((f) => f.endsWith('.json')).sort();
}

export function realNames(): string[] {
  return readdirSync(join(TRACES_DIR, 'real'))
    .filter((f) => /^verto-\d+-.*\.json$/.test(f) && !f.includes('.esl.'))
    .sort();
}

/** traces/verto/<name>: every message in order; sockets named by the `socket` field (default "main"). */
export function loadReconstructed(name: string): Step[] {
  const file = reconstructedSchema.parse(JSON.parse(readFileSync(join(TRACES_DIR, 'verto', name), 'utf8')));
  return file.messages.map((m): Step => {
    const socket = m.socket ?? 'main';
    const raw = rawSchema.safeParse(m.msg);
    const text = typeof m.msg === 'string' ? m.msg : raw.success ? raw.data.raw : JSON.stringify(m.msg);
    if (m.dir === 'client->server') return { kind: 'send', socket, text };
    return { kind: 'expect', socket, frame: raw.success ? parseTree(raw.data.raw) : treeOf(m.msg), text };
  });
}

/** traces/real/<name>: frames plus socket life-cycle and STEP notes. */
export function loadReal(name: string): Step[] {
  const file = realSchema.parse(JSON.parse(readFileSync(join(TRACES_DIR, 'real', name), 'utf8')));
  const steps: Step[] = [];
  const clientClosed = new Set<string>();
  for (const f of file.frames) {
    if (f.dir === 'client->server') steps.push({ kind: 'send', socket: f.socket, text: f.raw });
    else if (f.dir === 'server->client') steps.push({ kind: 'expect', socket: f.socket, frame: parseTree(f.raw), text: f.raw });
    else if (f.raw.startsWith('STEP: ')) steps.push({ kind: 'step', text: f.raw.slice(6) });
    else if (/^WebSocket open /.test(f.raw)) steps.push({ kind: 'open', socket: f.socket });
    else if (/^client closes WebSocket/.test(f.raw)) {
      clientClosed.add(f.socket);
      steps.push({ kind: 'close', socket: f.socket });
    } else if (/^client drops the TCP connection/.test(f.raw)) {
      clientClosed.add(f.socket);
      steps.push({ kind: 'drop', socket: f.socket });
    } else {
      const m = /^WebSocket closed, code (\d+)/.exec(f.raw);
      if (m !== null && !clientClosed.has(f.socket)) steps.push({ kind: 'expectClose', socket: f.socket, code: Number(m[1]) });
    }
  }
  return steps;
}
