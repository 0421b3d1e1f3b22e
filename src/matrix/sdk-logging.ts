// matrix-js-sdk logs through loglevel to the console; the edge logs through pino only.
import { logger as sdkGlobalLogger } from 'matrix-js-sdk/lib/logger.js';
import type { Logger } from '../log/logger.ts';

/** matrix-js-sdk's own global logger writes to the console; the edge logs through pino only. */
export function silenceSdkGlobalLogger(): void {
  // A loglevel logger: its children copy its methodFactory when they are
  // created (matrix-js-sdk src/logger.ts getPrefixedLogger), so a silent
  // factory here silences every child made later (e.g. MatrixRTCSession).
  const l = sdkGlobalLogger as unknown as { methodFactory?: unknown; rebuild?: () => void; setLevel?: (level: string) => void };
  l.methodFactory = () => () => undefined;
  l.rebuild?.();
  l.setLevel?.('silent');
}

/** The sdk's per-client logger, forwarded to pino at debug level (no secrets: tokens travel in headers). */
export function sdkLogger(log: Logger) {
  const fwd = (level: 'debug' | 'warn') => (...msg: unknown[]) => log[level]({ sdk: msg.map((m) => (m instanceof Error ? m.message : String(m))).join(' ').slice(0, 500) }, 'matrix-js-sdk');
  const l = {
    trace: () => undefined,
    debug: () => undefined,
    info: fwd('debug'),
    warn: fwd('debug'),
    error: fwd('warn'),
    getChild: () => l,
  };
  return l;
}
