// Id mapping for replays: learns which simulator value stands for which captured value
// (room ids, event ids, stream tokens, device ids, tokens) by walking a captured answer and
// the simulator's answer side by side, then rewrites later captured requests.

const LEARNED_KEYS = new Set(['room_id', 'event_id', 'next_batch', 'prev_batch', 'device_id', 'access_token', 'start', 'end', 'filter_id', 'replaces_state']);

export class IdMap {
  private readonly map = new Map<string, string>();

  set(traceValue: string, simValue: string): void {
    if (traceValue !== simValue && traceValue !== '') this.map.set(traceValue, simValue);
  }

  get(traceValue: string): string | undefined {
    return this.map.get(traceValue);
  }

  /** Learns from values under id-like keys and from object keys that are room ids. */
  learn(trace: unknown, sim: unknown): void {
    if (Array.isArray(trace) && Array.isArray(sim)) {
      trace.forEach((t, i) => this.learn(t, sim[i]));
      return;
    }
    if (typeof trace !== 'object' || trace === null || typeof sim !== 'object' || sim === null || Array.isArray(sim)) return;
    const t = trace as Record<string, unknown>;
    const s = sim as Record<string, unknown>;
    const tRooms = Object.keys(t).filter((k) => k.startsWith('!'));
    const sRooms = Object.keys(s).filter((k) => k.startsWith('!'));
    if (tRooms.length === 1 && sRooms.length === 1 && tRooms[0] !== undefined && sRooms[0] !== undefined && this.map.get(tRooms[0]) === undefined) {
      this.set(tRooms[0], sRooms[0]);
    }
    for (const [k, tv] of Object.entries(t)) {
      const sk = k.startsWith('!') ? (this.map.get(k) ?? k) : k;
      const sv = s[sk];
      if (LEARNED_KEYS.has(k) && typeof tv === 'string' && typeof sv === 'string' && !this.map.has(tv)) this.set(tv, sv);
      else this.learn(tv, sv);
    }
  }

  /** Rewrites captured ids in a string, raw and percent-encoded. */
  apply(text: string): string {
    let out = text;
    for (const [from, to] of [...this.map].sort((a, b) => b[0].length - a[0].length)) {
      out = out.split(from).join(to).split(encodeURIComponent(from)).join(encodeURIComponent(to));
    }
    return out;
  }

  applyJson(value: unknown): unknown {
    return value === undefined ? undefined : (JSON.parse(this.apply(JSON.stringify(value))) as unknown);
  }
}
