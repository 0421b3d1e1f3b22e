import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// The README's commands work as written on a fresh clone whose machine has
// an older `node`: each one that runs Node goes through npm (scripts put
// node_modules/.bin, with the Node 24 of the `node` dev dependency, first
// on PATH) or `npx node`, which resolves to that same binary.

const scripts = Object.keys((JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts);

/** The shell blocks (```sh) of a markdown text, or of one of its sections. */
function shellBlocks(markdown: string, section?: string): string[] {
  let text = markdown;
  if (section !== undefined) {
    const start = markdown.indexOf(`\n## ${section}\n`);
    expect(start, `section ${section}`).toBeGreaterThanOrEqual(0);
    const end = markdown.indexOf('\n## ', start + 1);
    text = markdown.slice(start, end === -1 ? undefined : end);
  }
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** Each command of a block: comments dropped, lines joined at `\`, split at && ; |. */
function commands(block: string): string[] {
  return block
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.replace(/(^|\s)#.*$/, '').trim())
    .filter((l) => l !== '')
    .flatMap((l) => l.split(/&&|;|\|/).map((c) => c.trim()))
    .filter((c) => c !== '');
}

/** Why a command does not run on the project's Node, or undefined when it does (or runs no Node at all). */
function runnerProblem(command: string): string | undefined {
  const [tool, sub, third] = command.split(/\s+/);
  if (tool === 'node' || tool === 'nodejs' || /(^|\/)node$/.test(tool ?? '')) return 'runs the system\'s node';
  if (tool === 'npx') return sub === 'node' || sub === 'vitest' ? undefined : `npx ${sub ?? ''}: not the project's Node`;
  if (tool === 'npm') {
    if (sub === 'ci' || sub === 'test' || sub === 'start') return undefined;
    if (sub === 'run') return third !== undefined && scripts.includes(third) ? undefined : `npm run ${third ?? ''}: no such script`;
    return `npm ${sub ?? ''}: not a script`;
  }
  if (tool === 'matrix-sip-edge' || tool?.endsWith('main.js')) return 'runs the edge with the system\'s node (its #! line)';
  return undefined;
}

const readme = readFileSync('README.md', 'utf8');

describe('the README runs the project\'s Node', () => {
  for (const section of ['Try it', 'Run it']) {
    it(`"${section}": every command is an npm script or npx node`, () => {
      const found = shellBlocks(readme, section).flatMap(commands);
      expect(found.length).toBeGreaterThan(0);
      for (const c of found) {
        expect(runnerProblem(c), c).toBeUndefined();
        // and each names an npm runner (cp and the like aside)
        if (!/^(cp|mkdir|cd)\b/.test(c)) expect(c, c).toMatch(/^(npm|npx node|npx vitest)\b/);
      }
    });
  }

  it('no shell block of README.md or freeswitch/README.md runs the system\'s node', () => {
    for (const file of ['README.md', 'freeswitch/README.md']) {
      for (const c of shellBlocks(readFileSync(file, 'utf8')).flatMap(commands)) expect(runnerProblem(c), `${file}: ${c}`).toBeUndefined();
    }
  });

  it('config.example.yaml names commands the same way', () => {
    const example = readFileSync('config.example.yaml', 'utf8');
    for (const m of example.matchAll(/`([^`]+)`/g)) {
      const c = m[1]!;
      if (/^(node|npx|npm|matrix-sip-edge)\b/.test(c)) expect(runnerProblem(c), c).toBeUndefined();
    }
    expect(runnerProblem('node dist/src/main.js check')).toBeDefined();
  });
});
