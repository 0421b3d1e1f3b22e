import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isOlder, nodeVersionProblem, REQUIRED_NODE } from '../../src/node-version.ts';
import { REPO_ROOT, writeConfig } from '../support/edge-process.ts';
import { TEST_SECRETS } from '../support/secrets.ts';

// The edge on a Node.js it cannot run on: every command exits 1 at once,
// before it connects to anything, with one line naming the version found,
// the version needed and the command that works. Run with the system's
// own node when it is older (these machines ship Node 20), else the check
// is exercised directly. The happy path (check with the project's Node 24
// prints its OK lines) is test/scenario/edge-connects.test.ts.

const systemNode = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => existsSync(p));
const systemVersion = systemNode === undefined ? undefined : execFileSync(systemNode, ['--version'], { encoding: 'utf8' }).trim().replace(/^v/, '');
const old = systemVersion !== undefined && isOlder(systemVersion, REQUIRED_NODE);

const listeners: Server[] = [];
afterAll(async () => {
  for (const s of listeners) await new Promise((r) => s.close(r));
});

/** A TCP port that counts who connects to it. */
async function countingPort(): Promise<{ port: number; connections: () => number }> {
  let n = 0;
  const server = createServer((socket) => {
    n += 1;
    socket.destroy();
  });
  listeners.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  return { port: typeof address === 'object' && address !== null ? address.port : 0, connections: () => n };
}

describe.runIf(old)(`the system's Node.js ${systemVersion ?? ''}`, () => {
  it.each([['check'], ['run'], ['register'], []])('`node dist/src/main.js %s -c config.yaml` exits 1 with one line, having connected to nothing', async (...command: string[]) => {
    const esl = await countingPort();
    const hs = await countingPort();
    const config = writeConfig({
      esl: { host: '127.0.0.1', port: esl.port, password: TEST_SECRETS.eslPassword },
      verto: { url: `ws://127.0.0.1:${esl.port}`, login: 'edge@127.0.0.1', password: TEST_SECRETS.vertoPassword },
      matrix: { homeserver_url: `http://127.0.0.1:${hs.port}`, user_id: '@edge:localhost', access_token: TEST_SECRETS.matrixToken },
    });
    const args = [...command, '-c', config];
    const child = spawn(systemNode!, [join(REPO_ROOT, 'dist/src/main.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(1);
    expect(stdout).toBe('');
    const lines = stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`Node.js ${systemVersion} is too old`);
    expect(lines[0]).toContain(`needs ${REQUIRED_NODE} or newer`);
    expect(lines[0]).toContain(`\`npx node dist/src/main.js ${args.join(' ')}\``);
    expect(lines[0]).toContain(`\`npm start -- ${args.join(' ')}\``);
    expect(esl.connections() + hs.connections()).toBe(0);
  });
});

describe('the version check', () => {
  it('refuses what is older than the version needed, and says which command works', () => {
    expect(isOlder('20.20.2', '22.16.0')).toBe(true);
    expect(isOlder('22.15.9', '22.16.0')).toBe(true);
    expect(isOlder('22.16.0', '22.16.0')).toBe(false);
    expect(isOlder('24.1.0', '22.16.0')).toBe(false);
    expect(isOlder('v23.0.0', '22.16.0')).toBe(false);
    expect(nodeVersionProblem('24.11.0', ['check'])).toBeUndefined();
    expect(nodeVersionProblem('20.20.2', ['check', '-c', 'c.yaml'])).toBe(
      `matrix-sip-edge: Node.js 20.20.2 is too old, it needs ${REQUIRED_NODE} or newer: run it with the Node that \`npm ci\` installed, \`npx node dist/src/main.js check -c c.yaml\` or \`npm start -- check -c c.yaml\``,
    );
    expect(nodeVersionProblem('20.0.0', [])).toContain('`npm start -- run`');
  });
  it('package.json `engines` says the same version', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
    expect(pkg.engines.node).toBe(`>=${REQUIRED_NODE.replace(/\.0$/, '')}`);
  });
});
