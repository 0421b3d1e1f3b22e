import { z } from 'zod';

/**
 * The room state event that links a room to a phone number:
 *
 *   type:      "org.matrix-sip-edge.destination"
 *   state_key: ""
 *   content:   { "number": "+4930123456" }     (E.164, or an extension)
 *
 * A call placed in the room goes to that number (subject to policy). A
 * `!dial <number>` command overrides it for the next call in that room.
 */
export const DESTINATION_STATE_TYPE = 'org.matrix-sip-edge.destination';

const destinationContent = z.strictObject({ number: z.string().min(2).max(32) });

export function parseDestinationState(content: unknown): string | undefined {
  const parsed = destinationContent.safeParse(content);
  return parsed.success ? parsed.data.number : undefined;
}
