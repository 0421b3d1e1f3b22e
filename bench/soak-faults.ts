// The soak's fault schedule: the Verto socket, ESL and the homeserver are
// taken away at random for 0.5-5 s each, and the edge is killed (SIGKILL)
// and started again at fixed points. Seeded, so a run can be repeated.
import type { FreeSwitchStack, MatrixStack } from '../test/support/sim-stack.ts';

/** mulberry32: a small seeded generator (the run's seed is printed). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export type FaultKind = 'verto' | 'esl' | 'homeserver' | 'edge_kill';

export interface FaultRecord {
  readonly kind: FaultKind;
  readonly atS: number;
  readonly forMs: number;
}

export interface FaultPorts {
  readonly fs: FreeSwitchStack;
  readonly mx: MatrixStack;
  /** SIGKILL the edge and start a new one on the same config and state directory. */
  killEdge(): Promise<void>;
}

/**
 * Runs faults until stop(): one every 3-7 s, of a random kind, never two at
 * once; the edge kills happen at the given seconds. heal() undoes whatever
 * is in force.
 */
export class FaultSchedule {
  readonly record: FaultRecord[] = [];
  readonly #ports: FaultPorts;
  readonly #random: () => number;
  readonly #killsAtS: number[];
  readonly #t0 = performance.now();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #busy: Promise<void> = Promise.resolve();
  #down: FaultKind | undefined;

  constructor(ports: FaultPorts, random: () => number, killsAtS: readonly number[]) {
    this.#ports = ports;
    this.#random = random;
    this.#killsAtS = [...killsAtS].sort((a, b) => a - b);
  }

  start(): void {
    this.#arm();
  }

  /** No further fault; whatever is down comes back. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#busy;
    await this.#heal();
  }

  #elapsedS(): number {
    return (performance.now() - this.#t0) / 1000;
  }

  #arm(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#busy = this.#one().finally(() => this.#arm());
    }, 3_000 + this.#random() * 4_000);
  }

  async #one(): Promise<void> {
    if (this.#stopped) return;
    const atS = this.#elapsedS();
    const nextKill = this.#killsAtS[0];
    if (nextKill !== undefined && atS >= nextKill) {
      this.#killsAtS.shift();
      this.record.push({ kind: 'edge_kill', atS, forMs: 0 });
      await this.#ports.killEdge();
      return;
    }
    const kinds: FaultKind[] = ['verto', 'esl', 'homeserver'];
    const kind = kinds[Math.floor(this.#random() * kinds.length)]!;
    const forMs = Math.round(500 + this.#random() * 4_500);
    this.record.push({ kind, atS, forMs });
    await this.#take(kind);
    await new Promise<void>((resolve) => {
      // the fault's own duration: a schedule, not a wait for a condition
      const t = setTimeout(resolve, forMs);
      if (this.#stopped) {
        clearTimeout(t);
        resolve();
      }
    });
    await this.#heal();
  }

  async #take(kind: FaultKind): Promise<void> {
    this.#down = kind;
    if (kind === 'verto') await this.#ports.fs.killVerto();
    else if (kind === 'esl') await this.#ports.fs.killEsl();
    else if (kind === 'homeserver') this.#ports.mx.hs.injectFault({ path: /./, status: 502, body: { errcode: 'M_UNKNOWN', error: 'Bad gateway' }, times: Infinity });
  }

  async #heal(): Promise<void> {
    const down = this.#down;
    this.#down = undefined;
    if (down === 'verto') await this.#ports.fs.restartVerto();
    else if (down === 'esl') await this.#ports.fs.restartEsl();
    else if (down === 'homeserver') this.#ports.mx.hs.clearFaults();
  }
}
