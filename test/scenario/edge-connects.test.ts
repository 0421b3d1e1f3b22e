import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EdgeProcess, runCli, writeConfig } from '../support/edge-process.ts';
import { edgeConfig, startFreeSwitch, startMatrix, type FreeSwitchStack, type MatrixStack } from '../support/sim-stack.ts';
import { freePort, httpGet } from '../support/net.ts';
import { pollUntil, waitUntil } from '../support/wait.ts';
import { WireTap } from '../support/wire-tap.ts';
import { TEST_SECRETS } from '../support/secrets.ts';

// The built edge (dist/src/main.js) as its own process, against the
// FreeSWITCH and homeserver simulators over real sockets. ESL goes through
// a wire tap so the test sees exactly what the edge wrote.

let fs: FreeSwitchStack;
let mx: MatrixStack;
let tap: WireTap;

function config(overrides: { eslPassword?: string; httpPort?: number } = {}): Record<string, unknown> {
  const c = edgeConfig(fs, mx, overrides) as { esl: Record<string, unknown>; matrix: Record<string, unknown> };
  c.esl['port'] = tap.port;
  // Log in with the password (the edge's own login path), not a pre-issued token.
  delete c.matrix['access_token'];
  c.matrix['password'] = TEST_SECRETS.matrixPassword;
  return c;
}

// The events the edge acts on, then modesl's own CHANNEL_EXECUTE_COMPLETE taken back.
const SUBSCRIBE = /^event json CHANNEL_ANSWER CHANNEL_BRIDGE CHANNEL_HOLD CHANNEL_UNHOLD CHANNEL_HANGUP_COMPLETE DTMF BACKGROUND_JOB\n\nnixevent CHANNEL_EXECUTE_COMPLETE\n\n/m;

beforeAll(async () => {
  fs = await startFreeSwitch();
  mx = await startMatrix();
  tap = await WireTap.start({ host: '127.0.0.1', port: fs.eslPort });
});

afterAll(async () => {
  await tap?.close();
  await fs?.stop();
  await mx?.hs.stop();
});

describe('the edge process against the simulators', () => {
  it('connects to ESL, Verto and the homeserver, survives ESL and Verto restarts (same sessid), and stops cleanly on SIGTERM', async () => {
    const httpPort = await freePort();
    const edge = new EdgeProcess(writeConfig(config({ httpPort })), 'connects');
    const readyz = `http://127.0.0.1:${httpPort}/readyz`;
    try {
      // ESL: auth with the configured password, then the event subscription, on the wire.
      await waitUntil(tap, () => SUBSCRIBE.test(tap.sent[0] ?? ''), 'ESL auth + subscription', 10_000);
      expect(tap.sent[0]?.startsWith(`auth ${TEST_SECRETS.eslPassword}\n\n`)).toBe(true);
      // Verto: one logged-in session. Homeserver: the edge logged in and long-polls /sync.
      await pollUntil(() => fs.verto.liveSessions().length === 1, 'a Verto session', 10_000);
      await mx.hs.waitForRequest((r) => r.path === '/_matrix/client/v3/login' && r.status === 200, 10_000);
      await mx.hs.waitForRequest((r) => r.path.endsWith('/sync') && r.userId === mx.edgeUserId, 10_000);
      await pollUntil(async () => (await httpGet(readyz)).status === 200, '/readyz 200', 10_000);

      // Kill ESL: the edge notices (not ready) and reconnects when it returns, without a restart.
      const before = tap.connections;
      await fs.killEsl();
      await pollUntil(async () => (await httpGet(readyz)).status === 503, '/readyz 503 after ESL loss', 10_000);
      await edge.waitForLine((l) => l.peer === 'esl' && l.msg === 'ESL connection lost', 'the loss logged');
      await fs.restartEsl();
      await waitUntil(tap, () => tap.sent.slice(before).some((s) => SUBSCRIBE.test(s)), 'ESL re-subscription', 15_000);
      await pollUntil(async () => (await httpGet(readyz)).status === 200, '/readyz 200 after reconnect', 10_000);
      // Kill Verto: the edge logs in again with the same sessid (so FreeSWITCH would re-attach answered calls).
      const sessid = fs.verto.liveSessions()[0];
      expect(sessid).toBeDefined();
      await fs.killVerto();
      await pollUntil(async () => (await httpGet(readyz)).status === 503, '/readyz 503 after Verto loss', 10_000);
      await fs.restartVerto();
      await pollUntil(() => fs.verto.liveSessions().length === 1, 'a Verto session again', 15_000);
      expect(fs.verto.liveSessions()).toEqual([sessid]);
      await pollUntil(async () => (await httpGet(readyz)).status === 200, '/readyz 200 after Verto reconnect', 10_000);
      expect(edge.exitCode).toBeUndefined();
    } finally {
      const code = await edge.stop();
      expect(code).toBe(0);
    }
    // Every socket closed: ESL said exit, the Verto session is gone.
    await waitUntil(tap, () => tap.open === 0, 'ESL socket closed', 5_000);
    expect(tap.sent.at(-1)).toMatch(/exit\n\n$/);
    await pollUntil(() => fs.verto.liveSessions().length === 0, 'Verto session closed', 5_000);
  });

  it('check: config OK and three probes OK', async () => {
    const { code, stdout } = await runCli(['check', '--config', writeConfig(config())], 'check-ok');
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^config OK/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual(['esl OK', 'verto OK', 'matrix OK']);
    expect(code).toBe(0);
  });

  it('check with a wrong ESL password names ESL and exits non-zero', async () => {
    const { code, stdout } = await runCli(['check', '--config', writeConfig(config({ eslPassword: TEST_SECRETS.wrongEslPassword }))], 'check-bad-esl');
    expect(code).toBe(1);
    const esl = stdout.split('\n').find((l) => l.startsWith('esl'));
    expect(esl).toMatch(/^esl\s+FAIL\s+.*authentication failed \(check esl\.password\)/);
    expect(stdout).toMatch(/^verto\s+OK/m);
    expect(stdout).not.toContain(TEST_SECRETS.wrongEslPassword);
  });

  it('an invalid config is refused before anything starts, naming the key', async () => {
    const bad = config();
    (bad['verto'] as Record<string, unknown>)['url'] = 'http://127.0.0.1:1';
    const { code, stderr } = await runCli(['run', '--config', writeConfig(bad)], 'bad-config');
    expect(code).toBe(2);
    expect(stderr).toContain('verto.url: must be a ws:// or wss:// URL');
  });

  it('--help lists the commands and no secret', async () => {
    const { code, stdout } = await runCli(['--help'], 'help', { MSE_ESL_PASSWORD: TEST_SECRETS.eslPassword });
    expect(code).toBe(0);
    expect(stdout).toMatch(/check/);
    expect(stdout).toMatch(/--config/);
    expect(stdout).not.toContain(TEST_SECRETS.eslPassword);
  });
});
