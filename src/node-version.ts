// The Node.js the edge runs on, checked before any of its modules is loaded
// (they use what older Node lacks: node:sqlite and its isOpen/isTransaction
// came in 22.16, Promise.withResolvers in 22). No imports: this module must
// load on any Node.

/** The oldest Node.js the edge runs on (package.json `engines` says the same). */
export const REQUIRED_NODE = '22.16.0';

function parts(version: string): number[] {
  return version.replace(/^v/, '').split('.').map((p) => Number.parseInt(p, 10) || 0);
}

export function isOlder(found: string, required: string): boolean {
  const a = parts(found);
  const b = parts(required);
  for (let i = 0; i < 3; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x < y;
  }
  return false;
}

/** One line saying what is wrong and the command that works, or undefined when this Node will do. */
export function nodeVersionProblem(found: string, args: readonly string[]): string | undefined {
  if (!isOlder(found, REQUIRED_NODE)) return undefined;
  const given = args.length === 0 ? 'run' : args.join(' ');
  return `matrix-sip-edge: Node.js ${found} is too old, it needs ${REQUIRED_NODE} or newer: run it with the Node that \`npm ci\` installed, \`npx node dist/src/main.js ${given}\` or \`npm start -- ${given}\``;
}
