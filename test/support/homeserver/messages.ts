// GET /rooms/{roomId}/messages (traces/real/synapse-07 call 14): {chunk, start, end};
// `start` echoes `from`, `end` is a topological token; dir=b gives newest first.
import { errors } from './errors.ts';
import { legacyEvent } from './format.ts';
import type { Store } from './store.ts';
import { parseToken, topologicalToken } from './stream.ts';
import type { JsonObject } from './types.ts';

export function messagesPage(store: Store, roomId: string, query: URLSearchParams): JsonObject {
  const room = store.rooms.get(roomId);
  if (room === undefined) throw errors.unknownRoom();
  const dir = query.get('dir') ?? 'f';
  if (dir !== 'b' && dir !== 'f') throw errors.invalidParam('Unknown dir');
  const limitRaw = Number(query.get('limit') ?? '10');
  const limit = Number.isSafeInteger(limitRaw) && limitRaw > 0 ? Math.min(limitRaw, 1000) : 10;
  const fromRaw = query.get('from');
  const from = fromRaw === null ? (dir === 'b' ? store.currentPos : 0) : parseToken(fromRaw);
  if (from === undefined) throw errors.invalidStreamToken();
  const events = room.timeline;
  const now = Date.now();
  if (dir === 'b') {
    const older = events.filter((e) => e.streamPos <= from);
    const page = older.slice(-limit).reverse();
    const last = page.at(-1);
    const body: JsonObject = { chunk: page.map((e) => legacyEvent(e, now)), start: fromRaw ?? topologicalToken(older.length, from) };
    if (last !== undefined && older.length > page.length) body['end'] = topologicalToken(older.length - page.length, last.streamPos - 1);
    else if (last !== undefined) body['end'] = topologicalToken(0, last.streamPos - 1);
    return body;
  }
  const newer = events.filter((e) => e.streamPos > from);
  const page = newer.slice(0, limit);
  const last = page.at(-1);
  const body: JsonObject = { chunk: page.map((e) => legacyEvent(e, now)), start: fromRaw ?? topologicalToken(0, from) };
  if (last !== undefined) body['end'] = topologicalToken(events.indexOf(last) + 1, last.streamPos);
  return body;
}
