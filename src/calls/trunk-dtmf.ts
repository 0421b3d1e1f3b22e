// `!dtmf` on an outbound call's trunk leg: from the far end's answer on,
// bridged or not (the edge named the trunk leg, so the digits need not wait
// for the bridge). Asked for while the far end still rings (the caller
// hears ringback, so to them the call seems up), the digits wait for the
// answer, in order, up to DTMF_WAIT_MS; then, or when the call ends first,
// they are refused, saying why. A later burst never overtakes an earlier one.
import type { Logger } from '../log/logger.ts';
import type { ApiCommand } from '../esl/commands.ts';

/** How long `!dtmf` typed while the far end still rings waits for its answer. */
export const DTMF_WAIT_MS = 15_000;

/** What the queue reads of its call, afresh at each step. */
export interface TrunkDtmfCall {
  /** The trunk leg: ringing (its originate under way), answered, or gone. */
  trunk(): 'originating' | 'answered' | 'gone';
  ended(): boolean;
  esl(command: ApiCommand): Promise<string>;
  readonly log: Logger;
}

export class TrunkDtmf {
  readonly #call: TrunkDtmfCall;
  #chain: Promise<void> = Promise.resolve();
  readonly #waiters = new Set<(answered: boolean) => void>();
  #farEndEverAnswered = false;

  constructor(call: TrunkDtmfCall) {
    this.#call = call;
  }

  /** Queue one burst (its command built and checked by the caller); resolves with what to tell the user. */
  send(command: ApiCommand, digits: string): Promise<string> {
    const turn = this.#chain.then(() => this.#inTurn(command, digits));
    this.#chain = turn.then(
      () => undefined,
      () => undefined, // its caller handles the failure; the chain only keeps the order
    );
    return turn;
  }

  /** The far end answered: the bursts waiting for it go. */
  answered(): void {
    this.#farEndEverAnswered = true;
    this.#wake(true);
  }

  /** The call ended: the bursts still waiting are refused. */
  ended(): void {
    this.#wake(false);
  }

  async #inTurn(command: ApiCommand, digits: string): Promise<string> {
    const call = this.#call;
    if (call.trunk() === 'originating' && !call.ended()) {
      const answered = await this.#answeredWithin(DTMF_WAIT_MS);
      if (!answered) return call.ended() ? 'Not sent: the call ended before the far end answered.' : `Not sent: the far end did not answer within ${DTMF_WAIT_MS / 1000} s.`;
    }
    if (call.ended() || call.trunk() !== 'answered') return this.#farEndEverAnswered ? 'Not sent: the call is over.' : 'Not sent: the call ended before the far end answered.';
    const reply = await call.esl(command);
    if (!reply.startsWith('+OK')) {
      call.log.warn({ reply: reply.trim().slice(0, 200) }, 'uuid_send_dtmf failed');
      return 'The tones could not be sent.';
    }
    call.log.info({ digits: digits.length }, 'DTMF sent');
    return `Sent ${digits}.`;
  }

  /** Resolves true at the far end's answer, false at the deadline or when the call ends first. */
  #answeredWithin(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(done);
        resolve(false);
      }, ms);
      const done = (answered: boolean) => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve(answered);
      };
      this.#waiters.add(done);
    });
  }

  #wake(answered: boolean): void {
    for (const w of [...this.#waiters]) w(answered);
  }
}
