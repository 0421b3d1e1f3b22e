// Stream tokens: opaque to clients, shaped like Synapse's multi-part tokens
// ("s12_3_0_1_1_1_1_5_0" for stream positions, "t5-75_..." for topological ones).

const SUFFIX = '_1_0_1_1_1_1_1_0';

export const streamToken = (pos: number): string => `s${pos}${SUFFIX}`;
export const topologicalToken = (depth: number, pos: number): string => `t${depth}-${pos}${SUFFIX}`;

/** Position encoded in a stream or topological token, or undefined when malformed. */
export function parseToken(token: string): number | undefined {
  const m = /^s(\d+)(?:_\d+)*$/.exec(token) ?? /^t\d+-(\d+)(?:_\d+)*$/.exec(token);
  if (m === null || m[1] === undefined) return undefined;
  const pos = Number(m[1]);
  return Number.isSafeInteger(pos) ? pos : undefined;
}
