// How a failed PUT /send is judged for the outbox, by HTTP status whatever
// the error's class: matrix-js-sdk throws MatrixError for a JSON error
// body, a bare HTTPError for anything else (a proxy's HTML 413 or 502),
// ConnectionError when no answer came, and whatever its parsing threw for
// a malformed answer.
import { ConnectionError } from 'matrix-js-sdk';
import type { SendResult } from './outbox.ts';

export type SendFailure = Extract<SendResult, { ok: false }>;

/**
 * 4xx other than 429 is final (the homeserver, or a proxy before it,
 * refused this very request: repeating it gets the same answer); 5xx, 429
 * (or M_LIMIT_EXCEEDED), and no status at all (network, timeout, an answer
 * that did not parse) are worth a retry with the same transaction id.
 */
export function judgeSendError(err: unknown): SendFailure {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { httpStatus?: unknown; errcode?: unknown; message?: unknown };
  const status = typeof e.httpStatus === 'number' && Number.isInteger(e.httpStatus) && e.httpStatus > 0 ? e.httpStatus : undefined;
  const errcode = typeof e.errcode === 'string' ? e.errcode.slice(0, 64) : undefined;
  if (status !== undefined) {
    const retry = status >= 500 || status === 429 || errcode === 'M_LIMIT_EXCEEDED' || status < 400;
    // the status and errcode only: an HTTPError's message can carry the answer's body
    const reason = errcode === undefined ? `${status} (not a Matrix error)` : `${status} ${errcode}`;
    return { ok: false, retry, retryAfterMs: retry ? retryAfterMsOf(err) : undefined, reason };
  }
  if (err instanceof ConnectionError) return { ok: false, retry: true, retryAfterMs: undefined, reason: 'the homeserver is unreachable' };
  const message = typeof e.message === 'string' ? e.message : String(err);
  return { ok: false, retry: true, retryAfterMs: undefined, reason: message.slice(0, 200) };
}

/** The homeserver's Retry-After, when it gave a usable one (matrix-js-sdk's getRetryAfterMs throws on a malformed header). */
function retryAfterMsOf(err: unknown): number | undefined {
  const fn = (err as { getRetryAfterMs?: unknown }).getRetryAfterMs;
  if (typeof fn !== 'function') return undefined;
  try {
    const ms: unknown = fn.call(err);
    return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 ? Math.min(ms, 3_600_000) : undefined;
  } catch {
    return undefined;
  }
}
