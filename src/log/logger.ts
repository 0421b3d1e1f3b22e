import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * Keys that are redacted wherever they appear, as a second line of defence:
 * secrets are held in `Secret` objects that print as "[redacted]" anyway.
 */
const REDACT_PATHS = [
  'password', 'passwd', 'access_token', 'accessToken', 'hs_token', 'as_token', 'token', 'authorization',
  '*.password', '*.passwd', '*.access_token', '*.accessToken', '*.hs_token', '*.as_token', '*.token', '*.authorization',
  'params.passwd', 'msg.params.passwd', 'headers.authorization',
];

/** The process logger: pino JSON on stdout (or the given stream). */
export function createLogger(level: LevelWithSilent, destination?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    base: { service: 'matrix-sip-edge' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination === undefined ? pino(options) : pino(options, destination as pino.DestinationStream);
}
