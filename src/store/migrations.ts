// The store's schema, one migration per version. PRAGMA user_version holds
// the version a database file is at; start-up applies the missing ones in
// order, each in its own transaction (a crash leaves the previous version).

export interface Migration {
  readonly version: number;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
      CREATE TABLE calls (
        matrix_call_id TEXT PRIMARY KEY,
        direction TEXT NOT NULL CHECK (direction IN ('outbound', 'inbound')),
        room_id TEXT NOT NULL,
        party_id TEXT NOT NULL,
        peer_party_id TEXT,
        version TEXT NOT NULL CHECK (version IN ('0', '1')),
        verto_leg TEXT NOT NULL,
        far_leg TEXT,
        state TEXT NOT NULL,
        answered INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        txn_id TEXT NOT NULL UNIQUE,
        key TEXT NOT NULL,
        room_id TEXT NOT NULL,
        type TEXT NOT NULL,
        content TEXT NOT NULL,
        created_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    // Appservice mode: who the edge speaks as (a ghost or the bridge bot), the
    // transactions the homeserver pushed that were handled, the ghosts
    // registered, and each ghost's DM with a user.
    version: 2,
    sql: `
      ALTER TABLE calls ADD COLUMN sender TEXT;
      ALTER TABLE outbox ADD COLUMN sender TEXT;
      CREATE TABLE appservice_txns (txn_id TEXT PRIMARY KEY, handled_at INTEGER NOT NULL) STRICT;
      CREATE TABLE ghosts (user_id TEXT PRIMARY KEY, display_name TEXT, registered_at INTEGER NOT NULL) STRICT;
      CREATE TABLE direct_rooms (ghost TEXT NOT NULL, user_id TEXT NOT NULL, room_id TEXT NOT NULL, PRIMARY KEY (ghost, user_id)) STRICT;
      CREATE INDEX direct_rooms_by_room ON direct_rooms (room_id);
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
