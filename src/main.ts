#!/usr/bin/env node
// The entry point. The Node.js version is checked first, with nothing else
// loaded: on an older Node the edge's modules would fail to load, or fail
// later, call by call. Then the commands (src/cli/commands.ts).
import { nodeVersionProblem } from './node-version.ts';

const problem = nodeVersionProblem(process.versions.node, process.argv.slice(2));
if (problem !== undefined) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
const { main } = await import('./cli/commands.ts');
await main();
