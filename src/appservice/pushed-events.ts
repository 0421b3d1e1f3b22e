// Events as the homeserver pushes them in a transaction (client format with
// room_id; Synapse adds legacy copies such as user_id and age next to
// unsigned, traces/real/synapse-02). Each is validated on its own: one
// event the edge cannot read does not cost the others.
import { z } from 'zod';

const pushedEventSchema = z.object({
  type: z.string().min(1).max(255),
  room_id: z.string().regex(/^![^\s]+$/),
  sender: z.string().regex(/^@[^\s]+:[^\s]+$/),
  event_id: z.string().min(1).max(255),
  origin_server_ts: z.number(),
  content: z.record(z.string(), z.unknown()),
  state_key: z.string().optional(),
  unsigned: z.object({ age: z.number().optional(), prev_content: z.record(z.string(), z.unknown()).optional() }).loose().optional(),
  prev_content: z.record(z.string(), z.unknown()).optional(),
  age: z.number().optional(),
});

export interface PushedEvent {
  readonly type: string;
  readonly roomId: string;
  readonly sender: string;
  readonly eventId: string;
  readonly originServerTs: number;
  readonly content: Readonly<Record<string, unknown>>;
  readonly stateKey: string | undefined;
  /** ms since the event was sent, when the homeserver said (unsigned.age, or the legacy top-level age). */
  readonly ageMs: number | undefined;
  readonly prevContent: Readonly<Record<string, unknown>> | undefined;
}

export type TransactionParse =
  | { readonly ok: true; readonly events: readonly PushedEvent[]; readonly skipped: number; readonly reasons: readonly string[] }
  | { readonly ok: false; readonly reason: string };

const bodySchema = z.object({ events: z.array(z.unknown()).max(10_000) }).loose();

export function parseTransactionBody(body: unknown): TransactionParse {
  const top = bodySchema.safeParse(body);
  if (!top.success) return { ok: false, reason: 'a transaction is {"events": [...]}' };
  const events: PushedEvent[] = [];
  const reasons: string[] = [];
  for (const raw of top.data.events) {
    const e = pushedEventSchema.safeParse(raw);
    if (!e.success) {
      reasons.push(e.error.issues.map((i) => `${i.path.join('.') || 'event'}: ${i.message}`).join('; ').slice(0, 200));
      continue;
    }
    const d = e.data;
    events.push({
      type: d.type,
      roomId: d.room_id,
      sender: d.sender,
      eventId: d.event_id,
      originServerTs: d.origin_server_ts,
      content: d.content,
      stateKey: d.state_key,
      ageMs: d.unsigned?.age ?? d.age,
      prevContent: d.unsigned?.prev_content ?? d.prev_content,
    });
  }
  return { ok: true, events, skipped: reasons.length, reasons };
}
