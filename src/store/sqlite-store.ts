import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.ts';
import type { CallRecord, CallUpdate, NewSend, PendingSend, StateStore } from './state-store.ts';

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

/** The file name of the database inside the state directory. */
export const STATE_FILE = 'edge-state.sqlite';

type Row = Record<string, unknown>;

/**
 * Handled appservice transaction ids are pruned at most this often: the
 * DELETE scans the whole table (handled_at has no index), and on every
 * transaction it cost more than the rest of the bookkeeping, growing with
 * the ids kept (npm run bench -- --mode appservice).
 */
const TXN_PRUNE_EVERY_MS = 60_000;

/**
 * The embedded store: one SQLite file (Node's built-in node:sqlite, so no
 * server and no native dependency). WAL journal: every statement is its own
 * committed transaction, so a kill -9 between any two leaves a readable
 * file with all statements before it (synchronous=NORMAL loses nothing on a
 * process crash; only a power cut can take the last commits).
 */
export class SqliteStateStore implements StateStore {
  readonly #db: DatabaseSync;
  #txnsPrunedAt = Number.NEGATIVE_INFINITY;
  readonly #statements: {
    getMeta: StatementSync;
    setMeta: StatementSync;
    putCall: StatementSync;
    deleteCall: StatementSync;
    calls: StatementSync;
    getCall: StatementSync;
    countCalls: StatementSync;
    updateCall: StatementSync;
    enqueue: StatementSync;
    deleteSend: StatementSync;
    sends: StatementSync;
    txnHandled: StatementSync;
    markTxn: StatementSync;
    pruneTxns: StatementSync;
    ghost: StatementSync;
    putGhost: StatementSync;
    directRoom: StatementSync;
    putDirectRoom: StatementSync;
    ghostOfRoom: StatementSync;
    forgetDirectRoomsIn: StatementSync;
  };

  /** Open (or create) the store in `dir`; ':memory:' for a throwaway one. */
  static open(dir: string): SqliteStateStore {
    if (dir === ':memory:') return new SqliteStateStore(new DatabaseSync(':memory:'));
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      return new SqliteStateStore(new DatabaseSync(join(dir, STATE_FILE)));
    } catch (err) {
      if (err instanceof StoreError) throw err;
      throw new StoreError(`cannot open the state store in ${dir}: ${(err as Error).message}`);
    }
  }

  private constructor(db: DatabaseSync) {
    this.#db = db;
    // EXCLUSIVE: the file stays locked while this edge runs, so a second edge
    // pointed at the same directory (same Verto session id, same calls) is refused.
    try {
      db.exec('PRAGMA locking_mode = EXCLUSIVE; PRAGMA busy_timeout = 1000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
      migrate(db);
    } catch (err) {
      db.close();
      if (err instanceof StoreError) throw err;
      const locked = /locked|busy/i.test((err as Error).message);
      throw new StoreError(locked ? 'the state store is in use by another edge (one edge per state directory)' : `cannot read the state store: ${(err as Error).message}`);
    }
    this.#statements = {
      getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      putCall: db.prepare(
        `INSERT OR REPLACE INTO calls (matrix_call_id, direction, room_id, party_id, peer_party_id, version, verto_leg, far_leg, state, answered, created_at, sender)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      deleteCall: db.prepare('DELETE FROM calls WHERE matrix_call_id = ?'),
      calls: db.prepare('SELECT * FROM calls ORDER BY created_at'),
      getCall: db.prepare('SELECT * FROM calls WHERE matrix_call_id = ?'),
      countCalls: db.prepare('SELECT COUNT(*) AS n FROM calls'),
      updateCall: db.prepare('UPDATE calls SET peer_party_id = ?, far_leg = ?, state = ?, answered = ? WHERE matrix_call_id = ?'),
      enqueue: db.prepare('INSERT INTO outbox (txn_id, key, room_id, type, content, created_at, sender) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq'),
      deleteSend: db.prepare('DELETE FROM outbox WHERE txn_id = ?'),
      sends: db.prepare('SELECT * FROM outbox ORDER BY seq'),
      txnHandled: db.prepare('SELECT 1 AS found FROM appservice_txns WHERE txn_id = ?'),
      markTxn: db.prepare('INSERT OR IGNORE INTO appservice_txns (txn_id, handled_at) VALUES (?, ?)'),
      pruneTxns: db.prepare('DELETE FROM appservice_txns WHERE handled_at < ?'),
      ghost: db.prepare('SELECT display_name FROM ghosts WHERE user_id = ?'),
      putGhost: db.prepare('INSERT INTO ghosts (user_id, display_name, registered_at) VALUES (?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET display_name = excluded.display_name'),
      directRoom: db.prepare('SELECT room_id FROM direct_rooms WHERE ghost = ? AND user_id = ?'),
      putDirectRoom: db.prepare('INSERT OR REPLACE INTO direct_rooms (ghost, user_id, room_id) VALUES (?, ?, ?)'),
      ghostOfRoom: db.prepare('SELECT ghost FROM direct_rooms WHERE room_id = ? LIMIT 1'),
      forgetDirectRoomsIn: db.prepare('DELETE FROM direct_rooms WHERE room_id = ? AND (user_id = ? OR ghost = ?)'),
    };
  }

  vertoSessionId(): string {
    const row = this.#statements.getMeta.get('verto_sessid') as Row | undefined;
    if (row !== undefined && typeof row['value'] === 'string') return row['value'];
    const sessid = randomUUID();
    this.#statements.setMeta.run('verto_sessid', sessid);
    return sessid;
  }

  putCall(c: CallRecord): void {
    this.#statements.putCall.run(c.matrixCallId, c.direction, c.roomId, c.partyId, c.peerPartyId ?? null, c.version, c.vertoLeg, c.farLeg ?? null, c.state, c.answered ? 1 : 0, c.createdAt, c.sender ?? null);
  }

  updateCall(matrixCallId: string, update: CallUpdate): void {
    const row = this.#statements.getCall.get(matrixCallId) as Row | undefined;
    const current = row === undefined ? undefined : callFromRow(row);
    if (current === undefined) return;
    const next = { ...current, ...update };
    this.#statements.updateCall.run(next.peerPartyId ?? null, next.farLeg ?? null, next.state, next.answered ? 1 : 0, matrixCallId);
  }

  deleteCall(matrixCallId: string): void {
    this.#statements.deleteCall.run(matrixCallId);
  }

  callCount(): number {
    return num((this.#statements.countCalls.get() as Row | undefined)?.['n']) ?? 0;
  }

  call(matrixCallId: string): CallRecord | undefined {
    const row = this.#statements.getCall.get(matrixCallId) as Row | undefined;
    return row === undefined ? undefined : callFromRow(row);
  }

  calls(): readonly CallRecord[] {
    return (this.#statements.calls.all() as Row[]).map(callFromRow).filter((c): c is CallRecord => c !== undefined);
  }

  enqueueSend(send: NewSend): PendingSend {
    const createdAt = Date.now();
    const row = this.#statements.enqueue.get(send.txnId, send.key, send.roomId, send.type, JSON.stringify(send.content), createdAt, send.sender ?? null) as Row | undefined;
    const seq = row?.['seq'];
    if (typeof seq !== 'number' && typeof seq !== 'bigint') throw new StoreError('the outbox did not return a sequence number');
    return { ...send, seq: Number(seq), createdAt };
  }

  deleteSend(txnId: string): void {
    this.#statements.deleteSend.run(txnId);
  }

  pendingSends(): readonly PendingSend[] {
    return (this.#statements.sends.all() as Row[]).map(sendFromRow).filter((s): s is PendingSend => s !== undefined);
  }

  transactionHandled(txnId: string): boolean {
    return this.#statements.txnHandled.get(txnId) !== undefined;
  }

  markTransactionHandled(txnId: string, keepMs: number): void {
    const now = Date.now();
    this.#statements.markTxn.run(txnId, now);
    if (now - this.#txnsPrunedAt < TXN_PRUNE_EVERY_MS) return;
    this.#txnsPrunedAt = now;
    this.#statements.pruneTxns.run(now - keepMs);
  }

  ghost(userId: string): { readonly displayName: string | undefined } | undefined {
    const row = this.#statements.ghost.get(userId) as Row | undefined;
    return row === undefined ? undefined : { displayName: str(row['display_name']) };
  }

  putGhost(userId: string, displayName: string | undefined): void {
    this.#statements.putGhost.run(userId, displayName ?? null, Date.now());
  }

  directRoom(ghost: string, userId: string): string | undefined {
    return str((this.#statements.directRoom.get(ghost, userId) as Row | undefined)?.['room_id']);
  }

  putDirectRoom(ghost: string, userId: string, roomId: string): void {
    this.#statements.putDirectRoom.run(ghost, userId, roomId);
  }

  forgetDirectRoomsIn(roomId: string, userId: string): void {
    this.#statements.forgetDirectRoomsIn.run(roomId, userId, userId);
  }

  ghostOfRoom(roomId: string): string | undefined {
    return str((this.#statements.ghostOfRoom.get(roomId) as Row | undefined)?.['ghost']);
  }

  atomically<T>(fn: () => T): T {
    if (this.#db.isTransaction) return fn();
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn();
      this.#db.exec('COMMIT');
      return result;
    } catch (err) {
      this.#db.exec('ROLLBACK');
      throw err;
    }
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}

/** Apply the migrations the file lacks, each in a transaction; refuse a file from a newer edge. */
function migrate(db: DatabaseSync): void {
  // BEGIN IMMEDIATE takes the (exclusive) write lock at once, before anything is read.
  db.exec('BEGIN IMMEDIATE');
  db.exec('COMMIT');
  const at = Number((db.prepare('PRAGMA user_version').get() as Row | undefined)?.['user_version'] ?? 0);
  if (at > SCHEMA_VERSION) throw new StoreError(`the state store is at schema version ${at}, newer than this edge's ${SCHEMA_VERSION}: run the newer edge, or move the state directory aside`);
  for (const m of MIGRATIONS) {
    if (m.version <= at) continue;
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec(m.sql);
      db.exec(`PRAGMA user_version = ${m.version}`);
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw new StoreError(`migrating the state store to version ${m.version} failed: ${(err as Error).message}`);
    }
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined);

/** A row read back is checked like any other input; a row that does not fit is skipped. */
function callFromRow(row: Row): CallRecord | undefined {
  const direction = row['direction'];
  const version = row['version'];
  const matrixCallId = str(row['matrix_call_id']);
  const roomId = str(row['room_id']);
  const partyId = str(row['party_id']);
  const vertoLeg = str(row['verto_leg']);
  const state = str(row['state']);
  const createdAt = num(row['created_at']);
  if ((direction !== 'outbound' && direction !== 'inbound') || (version !== '0' && version !== '1')) return undefined;
  if (matrixCallId === undefined || roomId === undefined || partyId === undefined || vertoLeg === undefined || state === undefined || createdAt === undefined) return undefined;
  return {
    matrixCallId,
    direction,
    roomId,
    partyId,
    peerPartyId: str(row['peer_party_id']),
    version,
    vertoLeg,
    farLeg: str(row['far_leg']),
    state,
    answered: num(row['answered']) === 1,
    createdAt,
    sender: str(row['sender']),
  };
}

function sendFromRow(row: Row): PendingSend | undefined {
  const seq = num(row['seq']);
  const txnId = str(row['txn_id']);
  const key = str(row['key']);
  const roomId = str(row['room_id']);
  const type = str(row['type']);
  const createdAt = num(row['created_at']);
  const text = str(row['content']);
  if (seq === undefined || txnId === undefined || key === undefined || roomId === undefined || type === undefined || createdAt === undefined || text === undefined) return undefined;
  let content: unknown;
  try {
    content = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof content !== 'object' || content === null || Array.isArray(content)) return undefined;
  return { seq, txnId, key, roomId, type, content: content as Record<string, unknown>, createdAt, sender: str(row['sender']) };
}
