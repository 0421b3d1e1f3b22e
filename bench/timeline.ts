// Per-call timestamps (performance.now(), ms, one clock: both simulators run
// in the benchmark's process) and the figures computed from them.

export interface CallTimes {
  /** Homeserver: the m.call.invite was stored (before the edge could see it). */
  inviteStored?: number;
  /** FreeSWITCH simulator: the trunk leg was created (the SIP INVITE to the trunk leaves). */
  trunkCreated?: number;
  /** Verto server: the verto.invite arrived. */
  vertoInviteReceived?: number;
  /** Verto server: verto.answer was written to the edge. */
  vertoAnswerSent?: number;
  /** Homeserver: the edge's m.call.answer was stored. */
  answerStored?: number;
  /** The edge refused or ended the call before it was answered (m.call.reject / m.call.hangup). */
  failed?: string;
  hungUp?: number;
}

export interface Spread {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** Nearest-rank percentiles of a sample (ms). */
export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
  return { n: sorted.length, p50: rank(50), p99: rank(99), max: sorted.at(-1) ?? NaN };
}

export class Timeline {
  readonly calls = new Map<number, CallTimes>();

  get(n: number): CallTimes {
    let t = this.calls.get(n);
    if (t === undefined) {
      t = {};
      this.calls.set(n, t);
    }
    return t;
  }

  /** Matrix invite stored -> Verto invite received: the edge's first hop, as the simulators saw it (calls numbered from `from`). */
  inviteHop(from = 0): Spread {
    return spread(this.#after(from).flatMap((t) => (t.inviteStored !== undefined && t.vertoInviteReceived !== undefined ? [t.vertoInviteReceived - t.inviteStored] : [])));
  }

  /** Matrix invite stored -> trunk leg created: the post-dial delay the edge adds. */
  postDialHop(from = 0): Spread {
    return spread(this.#after(from).flatMap((t) => (t.inviteStored !== undefined && t.trunkCreated !== undefined ? [t.trunkCreated - t.inviteStored] : [])));
  }

  /** Verto answer sent -> Matrix answer stored: the edge's second hop. */
  answerHop(from = 0): Spread {
    return spread(this.#after(from).flatMap((t) => (t.vertoAnswerSent !== undefined && t.answerStored !== undefined ? [t.answerStored - t.vertoAnswerSent] : [])));
  }

  /** Answered calls per second, from the first invite to the last answer. */
  setupsPerSecond(): number {
    const answered = [...this.calls.values()].filter((t) => t.answerStored !== undefined);
    const first = Math.min(...[...this.calls.values()].flatMap((t) => (t.inviteStored === undefined ? [] : [t.inviteStored])));
    const last = Math.max(...answered.map((t) => t.answerStored ?? 0));
    return answered.length > 1 ? (answered.length / (last - first)) * 1000 : NaN;
  }

  #after(from: number): CallTimes[] {
    return [...this.calls].filter(([n]) => n >= from).map(([, t]) => t);
  }

  failures(): Map<string, number> {
    const out = new Map<string, number>();
    for (const t of this.calls.values()) if (t.failed !== undefined) out.set(t.failed, (out.get(t.failed) ?? 0) + 1);
    return out;
  }
}
