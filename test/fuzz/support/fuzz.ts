// The frame every fuzz file uses: properties grouped by the parser they
// feed, inputs counted per parser, and one summary line per parser at the
// end of the file:
//
//   fuzz: <parser> <n> inputs, <k> crashes
//
// followed by one line per property. The seed is fixed unless
// MSE_FUZZ_SEED says otherwise (see SEED); a failure reports the seed, the
// path and the shrunk counterexample.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * fast-check's seed. CI runs a fixed one, so that a run's verdict does not
 * depend on luck (a red CI run blocks everything); MSE_FUZZ_SEED=random
 * explores new inputs (a failure prints the seed it drew), MSE_FUZZ_SEED=<n>
 * replays one.
 */
const DEFAULT_SEED = 20_261_202;
const SEED_SETTING = process.env['MSE_FUZZ_SEED'];
const SEED = SEED_SETTING === 'random' ? undefined : SEED_SETTING === undefined ? DEFAULT_SEED : Number(SEED_SETTING);

/** Inputs each parser must see in every run of the suite (issue 10, item 7). */
export const MIN_INPUTS = 10_000;

export interface ParserFuzz {
  /** One property, one test, `runs` generated inputs. */
  property<Ts>(name: string, property: fc.IProperty<Ts>, runs: number): void;
  /** Count an input that got this far (accepted, or refused by a named check); shrinking runs count too. */
  hit(label: string): void;
  /** A last test: each label was hit at least `min` times, so the generators get past the parser's first check. */
  expectReached(min: number, ...labels: string[]): void;
}

export function fuzzParser(parser: string, define: (fuzz: ParserFuzz) => void): void {
  const ran: Array<{ readonly name: string; readonly inputs: number }> = [];
  const hits = new Map<string, number>();
  let crashes = 0;
  const total = (): number => ran.reduce((n, r) => n + r.inputs, 0);
  describe(parser, () => {
    define({
      property(name, property, runs) {
        it(`${name} (${runs} inputs)`, () => {
          const details = fc.check(property, { numRuns: runs, ...(SEED === undefined ? {} : { seed: SEED }) });
          ran.push({ name, inputs: details.numRuns });
          if (details.failed) {
            // fast-check stops at the first counterexample: one failed property is one crash.
            crashes += 1;
            throw new Error(fc.defaultReportMessage(details));
          }
        });
      },
      hit(label) {
        hits.set(label, (hits.get(label) ?? 0) + 1);
      },
      expectReached(min, ...labels) {
        it(`inputs reached: ${labels.join(', ')}`, () => {
          for (const label of labels) expect(hits.get(label) ?? 0, label).toBeGreaterThanOrEqual(min);
        });
      },
    });
    it(`saw at least ${MIN_INPUTS} inputs`, () => {
      expect(total()).toBeGreaterThanOrEqual(MIN_INPUTS);
    });
    afterAll(() => {
      const lines = [
        ...ran.map((r) => `  ${r.name}: ${r.inputs} inputs`),
        ...[...hits].sort(([a], [b]) => a.localeCompare(b)).map(([label, n]) => `  reached ${label}: ${n}`),
      ];
      console.log([`fuzz: ${parser} ${total()} inputs, ${crashes} crashes`, ...lines].join('\n'));
    });
  });
}

type ErrorClass = abstract new (...args: never[]) => Error;

export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: Error };

/**
 * Run a parser whose contract is "a value, or one of these error classes
 * with a message saying what was wrong". Any other exception escapes: the
 * property fails on it.
 */
export function thrownOnly<T>(run: () => T, ...allowed: readonly ErrorClass[]): Outcome<T> {
  try {
    return { ok: true, value: run() };
  } catch (err) {
    if (!allowed.some((cls) => err instanceof cls)) throw err;
    const error = err as Error;
    expect(error.message.trim(), `${error.name} without a message`).not.toBe('');
    return { ok: false, error };
  }
}

/** CR, LF or NUL: what must never reach a line-framed peer (ESL, the dialplan, SDP lines). */
export const LINE_BREAK = /[\r\n\0]/;
