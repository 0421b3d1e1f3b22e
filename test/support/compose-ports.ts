// Container ports a compose service publishes, from either ports syntax:
// short ("[ip:][host[-range]:]container[-range][/proto]", a bare number or
// range included) and long ({ target, published, protocol }).

export interface PublishedPort {
  readonly spec: string;
  /** First and last container port of the mapping. */
  readonly from: number;
  readonly to: number;
  readonly protocol: string;
}

export function publishedPorts(ports: unknown): PublishedPort[] {
  if (!Array.isArray(ports)) return [];
  return ports.map((p): PublishedPort => {
    if (typeof p === 'number') return { spec: String(p), from: p, to: p, protocol: 'tcp' };
    if (typeof p === 'string') {
      const [mapping = '', protocol = 'tcp'] = p.split('/');
      const container = mapping.slice(mapping.lastIndexOf(':') + 1);
      const m = /^(\d+)(?:-(\d+))?$/.exec(container);
      if (m === null) throw new Error(`unreadable port mapping ${p}`);
      return { spec: p, from: Number(m[1]), to: Number(m[2] ?? m[1]), protocol };
    }
    if (typeof p === 'object' && p !== null) {
      const o = p as Record<string, unknown>;
      const m = /^(\d+)(?:-(\d+))?$/.exec(String(o['target']));
      if (m === null) throw new Error(`unreadable port mapping ${JSON.stringify(p)}`);
      return { spec: JSON.stringify(p), from: Number(m[1]), to: Number(m[2] ?? m[1]), protocol: String(o['protocol'] ?? 'tcp') };
    }
    throw new Error(`unreadable port mapping ${String(p)}`);
  });
}

/** Mappings whose container side includes one of these ports. */
export function publishing(ports: unknown, containerPorts: readonly number[]): string[] {
  return publishedPorts(ports).filter((p) => containerPorts.some((c) => c >= p.from && c <= p.to)).map((p) => p.spec);
}
