// The identifiers drachtio-server and sofia-sip make up, in the shapes the
// captures show (so frame lengths match the real ones byte for byte):
// UUID message, transaction and Call-IDs; 13-character tags; branches
// z9hG4bK + 13 characters (requests it originates), z9hG4bK + UUID
// (proxied INVITE), z9hG4bK. + 26 characters (relayed in-dialog requests);
// 9-digit initial CSeq; HH:MM:SS.µs times without a date.
import { randomInt, randomUUID } from 'node:crypto';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function alnum(n: number): string {
  let s = '';
  for (let i = 0; i < n; i += 1) s += ALNUM[randomInt(ALNUM.length)];
  return s;
}

export const ids = {
  uuid: (): string => randomUUID(),
  tag: (): string => alnum(13),
  branchUac: (): string => `z9hG4bK${alnum(13)}`,
  branchProxy: (): string => `z9hG4bK${randomUUID()}`,
  branchRelay: (): string => `z9hG4bK.${alnum(26)}`,
  cseq: (): number => randomInt(100_000_000, 200_000_000),
};

/** drachtio's time token: UTC wall clock, microseconds, no date. */
export function stackTime(nowMs: number = Date.now()): string {
  const d = new Date(nowMs);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const micros = d.getUTCMilliseconds() * 1000 + randomInt(1000);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(micros, 6)}`;
}
