// Loader for the shared protocol traces in ../shared/traces (relative to the repo).
//
// Two layouts exist:
//  * prefixed text: lines "C: ..." / "S: ..." (reconstructed traces) or
//    "C[sock]: ..." / "S[sock]: ..." (real captures rendered per message).
//    Each prefixed line is its text plus one LF; a line
//    "\ No newline at end of body" removes the LF of the line before it;
//    lines starting with "#" are commentary.
//  * JSON frame captures (real/*.json): {title, command_sequence, frames: [{t, socket, dir, raw, bytes?, msg?}]}.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const tracesRoot: string = path.resolve(repoRoot, '../shared/traces');

/** Absolute path of a folder under the traces root, e.g. `traceDir('esl')`. */
export function traceDir(sub: string): string {
  return path.resolve(tracesRoot, sub);
}

/** Sorted absolute paths of the files in `traces/<sub>` whose name matches `pattern`. */
export function listTraces(sub: string, pattern: RegExp = /./): string[] {
  const dir = traceDir(sub);
  return readdirSync(dir)
    .filter((name) => pattern.test(name))
    .sort()
    .map((name) => path.join(dir, name));
}

export type TraceDirection = 'client' | 'server';

/** One item of a prefixed text trace, in file order. */
export type TraceItem =
  | { readonly kind: 'data'; readonly dir: TraceDirection; readonly socket: string; readonly text: string; readonly line: number }
  | { readonly kind: 'comment'; readonly text: string; readonly line: number };

const PREFIX = /^([CS])(?:\[([^\]]*)\])?:(?: (.*))?$/;
const NO_NEWLINE = '\\ No newline at end of body';

/**
 * Parses the "C:/S:" and "C[a]:/S[a]:" layouts. Consecutive prefixed lines of
 * the same direction and socket are merged into one data item (its exact
 * bytes, LFs included). Comment lines end a data item. The default socket
 * name (no brackets) is "".
 */
export function parsePrefixedTrace(text: string): TraceItem[] {
  const items: TraceItem[] = [];
  let current: { dir: TraceDirection; socket: string; text: string; line: number } | undefined;
  const flush = (): void => {
    if (current !== undefined) items.push({ kind: 'data', ...current });
    current = undefined;
  };
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((raw, index) => {
    const lineNo = index + 1;
    if (raw === NO_NEWLINE) {
      if (current === undefined || !current.text.endsWith('\n')) {
        throw new Error(`line ${lineNo}: "${NO_NEWLINE}" without a preceding line`);
      }
      current.text = current.text.slice(0, -1);
      return;
    }
    if (raw.startsWith('#')) {
      flush();
      items.push({ kind: 'comment', text: raw, line: lineNo });
      return;
    }
    const m = PREFIX.exec(raw);
    if (m === null) {
      if (raw.trim() === '') return;
      throw new Error(`line ${lineNo}: not a trace line: ${JSON.stringify(raw.slice(0, 80))}`);
    }
    const dir: TraceDirection = m[1] === 'C' ? 'client' : 'server';
    const socket = m[2] ?? '';
    const content = (m[3] ?? '') + '\n';
    if (current !== undefined && current.dir === dir && current.socket === socket) {
      current.text += content;
    } else {
      flush();
      current = { dir, socket, text: content, line: lineNo };
    }
  });
  flush();
  return items;
}

/** Reads and parses a prefixed text trace file. */
export function loadPrefixedTrace(file: string): TraceItem[] {
  return parsePrefixedTrace(readFileSync(file, 'utf8'));
}

/** All bytes one side sent on one socket, concatenated in order. */
export function bytesOf(items: readonly TraceItem[], dir: TraceDirection, socket = ''): string {
  return items
    .filter((i): i is Extract<TraceItem, { kind: 'data' }> => i.kind === 'data' && i.dir === dir && i.socket === socket)
    .map((i) => i.text)
    .join('');
}

export type FrameDirection = 'client->server' | 'server->client' | 'note';

export interface CaptureFrame {
  readonly t: number;
  readonly socket: string;
  readonly dir: FrameDirection;
  readonly raw: string;
  readonly bytes?: number;
  /** Parsed JSON of `raw` where the capture provides it (Verto frames). */
  readonly msg?: unknown;
}

export interface FrameCapture {
  readonly title: string;
  readonly capturedFrom: string;
  readonly commandSequence: readonly string[];
  readonly frames: readonly CaptureFrame[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseFrame(v: unknown, index: number): CaptureFrame {
  if (!isRecord(v)) throw new Error(`frame ${index}: not an object`);
  const { t, socket, dir, raw, bytes, msg } = v;
  if (typeof t !== 'number' || typeof socket !== 'string' || typeof raw !== 'string') {
    throw new Error(`frame ${index}: t/socket/raw missing`);
  }
  if (dir !== 'client->server' && dir !== 'server->client' && dir !== 'note') {
    throw new Error(`frame ${index}: bad dir ${String(dir)}`);
  }
  const frame: CaptureFrame = { t, socket, dir, raw };
  return {
    ...frame,
    ...(typeof bytes === 'number' ? { bytes } : {}),
    ...(msg !== undefined ? { msg } : {}),
  };
}

/** Parses a real capture (`real/*.json` with a `frames` array). */
export function parseFrameCapture(text: string): FrameCapture {
  const doc: unknown = JSON.parse(text);
  if (!isRecord(doc) || !Array.isArray(doc.frames)) throw new Error('not a frame capture: no frames array');
  const seq = Array.isArray(doc.command_sequence) ? doc.command_sequence.filter((s): s is string => typeof s === 'string') : [];
  return {
    title: typeof doc.title === 'string' ? doc.title : '',
    capturedFrom: typeof doc.captured_from === 'string' ? doc.captured_from : '',
    commandSequence: seq,
    frames: doc.frames.map((f, i) => parseFrame(f, i)),
  };
}

/** Reads and parses a real JSON frame capture. */
export function loadFrameCapture(file: string): FrameCapture {
  return parseFrameCapture(readFileSync(file, 'utf8'));
}

/** Socket names that carry data in a capture, in order of first appearance. */
export function captureSockets(capture: FrameCapture): string[] {
  const seen: string[] = [];
  for (const f of capture.frames) {
    if (f.dir !== 'note' && !seen.includes(f.socket)) seen.push(f.socket);
  }
  return seen;
}
