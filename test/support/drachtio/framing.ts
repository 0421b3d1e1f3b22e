// drachtio's admin-port framing: `<decimal UTF-8 byte length>#<payload>`,
// nothing after the payload. Frames are cut by the length only, never by
// TCP reads or CRLF: one read may carry several frames, or part of one.
// drachtio-server reads at most 5 length digits (a 6th digit, or anything
// but a digit before '#', makes it drop the connection).

export const MAX_LENGTH_DIGITS = 5;

export function encodeFrame(payload: string): Buffer {
  const body = Buffer.from(payload, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length}#`, 'ascii'), body]);
}

export class FramingError extends Error {
  override readonly name = 'FramingError';
}

/** Accumulates bytes and yields complete payloads; throws FramingError on a bad length specifier. */
export class FrameDecoder {
  #buffer: Buffer = Buffer.alloc(0);
  readonly #maxDigits: number;

  constructor(maxDigits = MAX_LENGTH_DIGITS) {
    this.#maxDigits = maxDigits;
  }

  /** Bytes buffered but not yet a complete frame. */
  get pending(): number {
    return this.#buffer.length;
  }

  push(chunk: Buffer): string[] {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const out: string[] = [];
    for (;;) {
      const hash = this.#buffer.indexOf(0x23);
      const digits = hash < 0 ? this.#buffer.length : hash;
      for (let i = 0; i < Math.min(digits, this.#maxDigits + 1); i += 1) {
        const c = this.#buffer[i] ?? 0;
        if (c < 0x30 || c > 0x39) throw new FramingError(`invalid message length specifier (byte 0x${c.toString(16)} at ${i})`);
      }
      if (digits > this.#maxDigits) throw new FramingError(`message length specifier longer than ${this.#maxDigits} digits`);
      if (hash < 0) return out;
      if (hash === 0) throw new FramingError('empty message length specifier');
      const length = Number.parseInt(this.#buffer.toString('ascii', 0, hash), 10);
      if (length === 0) throw new FramingError('zero message length');
      const end = hash + 1 + length;
      if (this.#buffer.length < end) return out;
      out.push(this.#buffer.toString('utf8', hash + 1, end));
      this.#buffer = this.#buffer.subarray(end);
    }
  }
}
