// Compares what the simulator said with what drachtio-server said in a
// capture. Everything must be equal except values the server makes up
// (message/transaction ids and Call-IDs: UUIDs; To/From tags; branches;
// the CSeq of requests it originates; times). Those may differ, but each
// captured value must stand for one and the same simulator value
// throughout the capture (and back): a transaction id in a delivery must
// reappear in the echo, a tag in the 200 must be the tag of the ACK.

const VARIABLE = /(?<branch>branch=z9hG4bK[^;,\s]*)|(?<tag>tag=[A-Za-z0-9]+)|(?<uuid>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})|(?<time>\b[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}\b)|(?<cseq>(?<=CSeq: )[0-9]+)/gi;

interface Part {
  readonly kind: 'text' | 'branch' | 'tag' | 'uuid' | 'time' | 'cseq';
  readonly value: string;
}

function parts(s: string): Part[] {
  const out: Part[] = [];
  let last = 0;
  for (const m of s.matchAll(VARIABLE)) {
    const index = m.index;
    if (index > last) out.push({ kind: 'text', value: s.slice(last, index) });
    const groups = m.groups ?? {};
    const kind = (Object.keys(groups).find((k) => groups[k] !== undefined) ?? 'text') as Part['kind'];
    out.push({ kind, value: m[0] });
    last = index + m[0].length;
  }
  if (last < s.length) out.push({ kind: 'text', value: s.slice(last) });
  return out;
}

export class Aliases {
  readonly #forward = new Map<string, string>();
  readonly #backward = new Map<string, string>();

  /** Record captured <-> actual; returns a problem or undefined. */
  bind(kind: string, captured: string, actual: string): string | undefined {
    if (kind === 'time') return undefined;
    const k = `${kind}:${captured}`;
    const b = `${kind}:${actual}`;
    const known = this.#forward.get(k);
    if (known !== undefined && known !== actual) return `${captured} stood for ${known} before, now for ${actual}`;
    const back = this.#backward.get(b);
    if (back !== undefined && back !== captured) return `${actual} stood for ${back} before, now for ${captured}`;
    this.#forward.set(k, actual);
    this.#backward.set(b, captured);
    return undefined;
  }

  /** A captured text with every value seen so far replaced by the simulator's (for what the test injects). */
  substitute(captured: string): string {
    return parts(captured).map((p) => (p.kind === 'text' || p.kind === 'time' ? p.value : this.#forward.get(`${p.kind}:${p.value}`) ?? p.value)).join('');
  }
}

function visible(s: string): string {
  return s.replace(/\r\n/g, '⏎\n');
}

/** undefined when equal up to aliases; else a readable difference. */
export function compareText(captured: string, actual: string, aliases: Aliases): string | undefined {
  const a = parts(captured);
  const b = parts(actual);
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i += 1) {
    const x = a[i];
    const y = b[i];
    if (x === undefined || y === undefined || x.kind !== y.kind || (x.kind === 'text' && x.value !== y.value)) {
      const at = a.slice(0, i).map((p) => p.value).join('').length;
      return `differs at character ${at}:\n--- captured ---\n${visible(captured.slice(Math.max(0, at - 80), at + 160))}\n--- simulator ---\n${visible(actual.slice(Math.max(0, at - 80), at + 160))}`;
    }
    if (x.kind !== 'text') {
      const problem = aliases.bind(x.kind, x.value, y.value);
      if (problem !== undefined) return `${x.kind} ${problem}`;
    }
  }
  return undefined;
}
