import { z } from 'zod';

// The m.call.* events (legacy 1:1 VoIP), versions 0 and "1".
// version: "1" is a string; 0 was an integer. Any other value is treated
// as "1", as the spec says; party_id is required from "1" on.

const MAX_SDP_BYTES = 64 * 1024;

export const CALL_EVENT_TYPES = [
  'm.call.invite',
  'm.call.candidates',
  'm.call.answer',
  'm.call.select_answer',
  'm.call.reject',
  'm.call.hangup',
  'm.call.negotiate',
  'm.call.asserted_identity',
] as const;
export type CallEventType = (typeof CALL_EVENT_TYPES)[number];

/** The spec's grammar for VoIP ids (call_id, party_id): 1-255 of [0-9A-Za-z._~-]. */
const opaqueId = z.string().regex(/^[0-9A-Za-z._~-]{1,255}$/, { error: 'must be 1-255 of letters, digits and . _ ~ -' });
const version = z.union([z.literal(0), z.string(), z.number()]).transform((v): '0' | '1' => (v === 0 || v === '0' ? '0' : '1'));

const common = {
  call_id: opaqueId,
  version,
  party_id: opaqueId.optional(),
};

const sdpString = z
  .string()
  .min(1, { error: 'SDP is empty' })
  .refine((s) => Buffer.byteLength(s, 'utf8') <= MAX_SDP_BYTES, { error: `SDP is larger than ${MAX_SDP_BYTES} bytes` });

const streamMetadata = z
  .record(z.string(), z.looseObject({ purpose: z.string().optional() }))
  .optional();

export const inviteContent = z.looseObject({
  ...common,
  offer: z.looseObject({ type: z.literal('offer'), sdp: sdpString }),
  lifetime: z.number().int().positive().max(24 * 3600 * 1000),
  invitee: z.string().optional(),
  sdp_stream_metadata: streamMetadata,
});

export const candidate = z.looseObject({
  candidate: z.string().max(1024),
  sdpMid: z.string().max(64).nullable().optional(),
  sdpMLineIndex: z.number().int().min(0).max(64).nullable().optional(),
});

export const candidatesContent = z.looseObject({
  ...common,
  candidates: z.array(candidate).max(100),
});

export const answerContent = z.looseObject({
  ...common,
  answer: z.looseObject({ type: z.literal('answer'), sdp: sdpString }),
  sdp_stream_metadata: streamMetadata,
});

export const selectAnswerContent = z.looseObject({ ...common, selected_party_id: opaqueId });
export const rejectContent = z.looseObject({ ...common, reason: z.string().max(255).optional() });
export const hangupContent = z.looseObject({ ...common, reason: z.string().max(255).optional() });
export const negotiateContent = z.looseObject({
  ...common,
  description: z.looseObject({ type: z.enum(['offer', 'answer']), sdp: sdpString }),
  lifetime: z.number().int().positive().optional(),
});
export const assertedIdentityContent = z.looseObject({
  ...common,
  asserted_identity: z.looseObject({
    id: z.string().optional(),
    display_name: z.string().optional(),
    avatar_url: z.string().optional(),
  }),
});

const schemas = {
  'm.call.invite': inviteContent,
  'm.call.candidates': candidatesContent,
  'm.call.answer': answerContent,
  'm.call.select_answer': selectAnswerContent,
  'm.call.reject': rejectContent,
  'm.call.hangup': hangupContent,
  'm.call.negotiate': negotiateContent,
  'm.call.asserted_identity': assertedIdentityContent,
} as const;

type Contents = { [K in CallEventType]: z.infer<(typeof schemas)[K]> };

/** A validated call event from a room. */
export type CallEvent = {
  [K in CallEventType]: {
    readonly type: K;
    readonly roomId: string;
    readonly sender: string;
    readonly eventId: string;
    /** Milliseconds since the homeserver received it (unsigned.age), when known. */
    readonly ageMs: number | undefined;
    readonly content: Contents[K];
  };
}[CallEventType];

export function isCallEventType(type: string): type is CallEventType {
  return (CALL_EVENT_TYPES as readonly string[]).includes(type);
}

export type CallEventParse =
  | { readonly ok: true; readonly event: CallEvent }
  | { readonly ok: false; readonly reason: string };

/** Validate the content of an m.call.* event; the reason names the field. */
export function parseCallEvent(
  type: CallEventType,
  meta: { roomId: string; sender: string; eventId: string; ageMs: number | undefined },
  content: unknown,
): CallEventParse {
  const parsed = schemas[type].safeParse(content);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'content';
    return { ok: false, reason: `${type}: ${where}: ${issue?.message ?? 'invalid'}` };
  }
  return { ok: true, event: { type, ...meta, content: parsed.data } as CallEvent };
}
