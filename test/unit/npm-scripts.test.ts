import { existsSync, readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

// Every npm script that runs a file of this repository names a file that
// exists (dist/ excepted: the build makes it).
it('each `node <file>` of package.json scripts names a file of the repository', () => {
  const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;
  const named = Object.entries(scripts).flatMap(([name, line]) => [...line.matchAll(/\bnode (\S+\.(?:ts|js))/g)].map((m) => [name, m[1]!] as const));
  expect(named.length).toBeGreaterThan(0);
  for (const [name, file] of named) {
    if (file.startsWith('dist/')) continue;
    expect(existsSync(file), `npm run ${name}: ${file}`).toBe(true);
  }
});
