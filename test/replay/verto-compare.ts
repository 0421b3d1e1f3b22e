// Compare a frame the simulator sent with the frame of a trace: same keys in
// the same order (repeats included), same value types, same literal texts.
// Allowed to differ: server request ids (must increase), SDP bodies, serno,
// the values inside CHANNEL_DATA `variables`, and callIDs FreeSWITCH chose
// (learnt from a server verto.invite, then held to).
import { get, str, type Tree } from './verto-json-tree.ts';

export interface CompareState {
  lastServerId: number;
  /** trace value -> simulator value (server-chosen call uuids). */
  readonly aliases: Map<string, string>;
}

export function newCompareState(): CompareState {
  return { lastServerId: 0, aliases: new Map() };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function compareFrame(expected: Tree, actual: Tree, st: CompareState): string[] {
  const method = str(get(expected, 'method'));
  const learn = method === 'verto.invite' && get(expected, 'id') !== undefined;
  const out: string[] = [];
  walk(expected, actual, '$', st, { serverRequest: method !== undefined, learn }, out);
  return out;
}

interface Mode {
  readonly serverRequest: boolean;
  readonly learn: boolean;
}

function kind(t: Tree): string {
  return t.t;
}

function walk(e: Tree, a: Tree, path: string, st: CompareState, mode: Mode, out: string[]): void {
  const key = path.slice(path.lastIndexOf('.') + 1);
  if (path === '$.id' && mode.serverRequest) {
    if (a.t !== 'num' || !Number.isInteger(a.v) || a.v <= st.lastServerId) out.push(`${path}: server request id ${JSON.stringify(a)} not an increasing integer (last ${st.lastServerId})`);
    else st.lastServerId = a.v;
    return;
  }
  if (kind(e) !== kind(a)) {
    out.push(`${path}: type ${kind(a)}, trace has ${kind(e)}`);
    return;
  }
  if (key === 'sdp' && e.t === 'str' && a.t === 'str') {
    if (!a.v.startsWith('v=0\r\n')) out.push(`${path}: not an SDP`);
    return;
  }
  if (key === 'serno') return;
  if (e.t === 'str' && a.t === 'str') {
    if (key === 'callID' || path.includes('.reattached_sessions[')) {
      const mapped = st.aliases.get(e.v);
      if (mapped !== undefined ? mapped === a.v : e.v === a.v) return;
      if (mode.learn && mapped === undefined && UUID.test(a.v)) {
        st.aliases.set(e.v, a.v);
        return;
      }
    }
    if (e.v !== a.v && !path.includes('.variables.')) out.push(`${path}: ${JSON.stringify(a.v)}, trace has ${JSON.stringify(e.v)}`);
    return;
  }
  if ((e.t === 'num' && a.t === 'num') || (e.t === 'bool' && a.t === 'bool')) {
    if (e.v !== a.v) out.push(`${path}: ${a.v}, trace has ${e.v}`);
    return;
  }
  if (e.t === 'arr' && a.t === 'arr') {
    if (e.items.length !== a.items.length) out.push(`${path}: ${a.items.length} items, trace has ${e.items.length}`);
    e.items.forEach((x, i) => {
      const y = a.items[i];
      if (y !== undefined) walk(x, y, `${path}[${i}]`, st, mode, out);
    });
    return;
  }
  if (e.t === 'obj' && a.t === 'obj') {
    // Reconstructed traces show `variables: {}`; the real server fills it (README obs. 6): any object.
    if (key === 'variables' && e.entries.length === 0) return;
    const ek = e.entries.map(([k]) => k);
    const ak = a.entries.map(([k]) => k);
    if (ek.join('\u0000') !== ak.join('\u0000')) {
      out.push(`${path}: keys ${JSON.stringify(ak)}, trace has ${JSON.stringify(ek)}`);
      return;
    }
    e.entries.forEach(([k, x], i) => {
      const y = a.entries[i]?.[1];
      if (y !== undefined) walk(x, y, `${path}.${k}`, st, mode, out);
    });
  }
}
