// Which trunk a source address belongs to (sip.trunks[].sources: IP
// addresses and CIDR blocks, v4 and v6), with node's BlockList.
import { BlockList, isIP } from 'node:net';
import type { EdgeConfig } from '../config/load.ts';

export interface Trunk {
  readonly name: string;
  readonly maxConcurrentCalls: number;
  readonly busyStatus: 486 | 503;
}

export class TrunkTable {
  readonly #entries: ReadonlyArray<{ readonly trunk: Trunk; readonly list: BlockList }>;

  constructor(trunks: EdgeConfig['sip']['trunks']) {
    this.#entries = trunks.map((t) => {
      const list = new BlockList();
      for (const source of t.sources) {
        const [ip = '', bits] = source.split('/');
        const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
        if (bits === undefined) list.addAddress(ip, family);
        else list.addSubnet(ip, Number(bits), family);
      }
      return { trunk: { name: t.name, maxConcurrentCalls: t.max_concurrent_calls, busyStatus: t.busy_status }, list };
    });
  }

  /** The first trunk whose sources include the address. */
  match(address: string): Trunk | undefined {
    const family = isIP(address);
    if (family === 0) return undefined;
    // an IPv4-mapped IPv6 source (::ffff:a.b.c.d) is its IPv4 address
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    const ip = mapped ?? address;
    const type = mapped !== undefined || family === 4 ? 'ipv4' : 'ipv6';
    return this.#entries.find((e) => e.list.check(ip, type))?.trunk;
  }
}
