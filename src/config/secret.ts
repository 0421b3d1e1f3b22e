import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * A secret value (password, token). It never prints itself: string
 * conversion, JSON, util.inspect and pino all see "[redacted]". Only
 * `reveal()` gives the value, at the one place that sends it on the wire.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
