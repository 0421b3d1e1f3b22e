// Known SIP scanner User-Agents (sip.scanners.user_agents): a
// case-insensitive substring match.
export class ScannerList {
  readonly #needles: readonly string[];

  constructor(userAgents: readonly string[]) {
    this.#needles = userAgents.map((u) => u.toLowerCase());
  }

  /** The matching entry, or undefined. */
  match(userAgent: string | undefined): string | undefined {
    if (userAgent === undefined) return undefined;
    const ua = userAgent.toLowerCase();
    return this.#needles.find((n) => ua.includes(n));
  }
}
