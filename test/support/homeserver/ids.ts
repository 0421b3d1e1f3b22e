// Identifier generation shaped like Synapse's (random, opaque to clients).
import { randomBytes, randomInt } from 'node:crypto';

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function pick(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

export const newRoomId = (serverName: string): string => `!${pick(LETTERS, 18)}:${serverName}`;
/** Room version 4+ style event id: '$' + 43 url-safe base64 characters. */
export const newEventId = (): string => `$${randomBytes(32).toString('base64url').slice(0, 43)}`;
export const newDeviceId = (): string => pick(UPPER, 10);
export const newAccessToken = (localpart: string): string =>
  `syt_${Buffer.from(localpart).toString('base64url')}_${pick(LETTERS, 20)}_${pick(LETTERS, 6)}`;
