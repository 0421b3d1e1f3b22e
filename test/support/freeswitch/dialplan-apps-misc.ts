// Bookkeeping applications of the vanilla dialplan that change nothing a
// client can see on the wire: bind_meta_app (mod_dptools: a `*<digit>`
// binding while bridged; the model records it and never fires it) and hash
// (mod_hash: `insert/<realm>/<key>/<value>`, `delete/<realm>/<key>`,
// `delete_ifmatch/<realm>/<key>/<value>`). Both complete at once with
// CHANNEL_EXECUTE / CHANNEL_EXECUTE_COMPLETE like any application.
import type { Channel } from './channel.ts';

export interface MetaBinding {
  readonly key: string;
  readonly legs: string;
  readonly flags: string;
  readonly app: string;
}

const bindings = new WeakMap<Channel, MetaBinding[]>();
const hashes = new WeakMap<object, Map<string, string>>();

/** bind_meta_app `<key> <a|b|ab> <s|o|i|1...> <app[::args]>`; returns false on bad data (the app then only logs). */
export function bindMetaApp(ch: Channel, data: string): boolean {
  const m = /^\s*(\S+)\s+(\S+)\s+(\S+)\s+(.+)$/.exec(data);
  if (m === null) return false;
  const list = bindings.get(ch) ?? [];
  list.push({ key: m[1] ?? '', legs: m[2] ?? '', flags: m[3] ?? '', app: (m[4] ?? '').trim() });
  bindings.set(ch, list);
  return true;
}

export function metaBindings(ch: Channel): readonly MetaBinding[] {
  return bindings.get(ch) ?? [];
}

/** mod_hash `hash` application on the store of `owner` (the model). */
export function hashApp(owner: object, data: string): void {
  const [cmd = '', realm = '', key = '', ...rest] = data.split('/');
  const value = rest.join('/');
  const store = hashes.get(owner) ?? new Map<string, string>();
  hashes.set(owner, store);
  const id = `${realm}/${key}`;
  if (cmd === 'insert') store.set(id, value);
  else if (cmd === 'delete') store.delete(id);
  else if (cmd === 'delete_ifmatch' && store.get(id) === value) store.delete(id);
}

/** `hash select/<realm>/<key>` as the API would answer it (undefined = not found). */
export function hashSelect(owner: object, realm: string, key: string): string | undefined {
  return hashes.get(owner)?.get(`${realm}/${key}`);
}
