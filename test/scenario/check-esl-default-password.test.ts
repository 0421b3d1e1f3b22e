import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, writeConfig } from '../support/edge-process.ts';
import { edgeConfig, startFreeSwitch, startMatrix, type FreeSwitchStack, type MatrixStack, type StackOptions } from '../support/sim-stack.ts';
import { WireTap } from '../support/wire-tap.ts';
import { waitUntil } from '../support/wait.ts';
import { TEST_SECRETS } from '../support/secrets.ts';

// `check` against event sockets that do or do not accept mod_event_socket's
// built-in password ClueCon (what FreeSWITCH falls back to when its
// configured password is empty, e.g. MSE_ESL_PASSWORD missing with an
// event_socket.conf.xml that lacks the shipped guard). After the probe with
// esl.password, check logs in with ClueCon on a second connection; accepted,
// the esl line fails naming the cause. ESL goes through a wire tap, so the
// test sees both logins as sent, and that every socket was closed.

let mx: MatrixStack;
const stacks: FreeSwitchStack[] = [];
const taps: WireTap[] = [];

beforeAll(async () => {
  mx = await startMatrix();
});

afterAll(async () => {
  await Promise.allSettled(taps.map((t) => t.close()));
  await Promise.allSettled(stacks.map((s) => s.stop()));
  await mx?.hs.stop();
});

async function freeswitch(options: StackOptions): Promise<{ fs: FreeSwitchStack; tap: WireTap }> {
  const fs = await startFreeSwitch(options);
  stacks.push(fs);
  const tap = await WireTap.start({ host: '127.0.0.1', port: fs.eslPort });
  taps.push(tap);
  return { fs, tap };
}

async function check(fs: FreeSwitchStack, tap: WireTap, eslPassword: string, name: string) {
  const c = edgeConfig(fs, mx, { eslPassword }) as { esl: Record<string, unknown> };
  c.esl['port'] = tap.port;
  const result = await runCli(['check', '--config', writeConfig(c)], name);
  // check has exited: every ESL socket it opened must be closed.
  await waitUntil(tap, () => tap.open === 0, 'every ESL socket closed', 5_000);
  const esl = result.stdout.split('\n').find((l) => l.startsWith('esl'));
  return { ...result, esl };
}

const CLUECON_LINE =
  /^esl\s+FAIL\s+127\.0\.0\.1:\d+: refuses esl\.password but accepts the default password ClueCon: anyone on this host controls FreeSWITCH; set MSE_ESL_PASSWORD in FreeSWITCH's environment$/;

describe('check and the default ESL password ClueCon', () => {
  it('FreeSWITCH accepts ClueCon, the edge has another password: esl FAIL naming the cause, exit 1, no secret printed', async () => {
    const { fs, tap } = await freeswitch({ eslPassword: 'ClueCon' });
    const r = await check(fs, tap, TEST_SECRETS.eslPassword, 'check-esl-accepts-cluecon');
    expect(r.code).toBe(1);
    expect(r.esl).toMatch(CLUECON_LINE);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('esl'))).toHaveLength(1);
    expect(r.stdout).toMatch(/^verto\s+OK/m);
    expect(r.stdout).toMatch(/^matrix\s+OK/m);
    for (const out of [r.stdout, r.stderr]) expect(out).not.toContain(TEST_SECRETS.eslPassword);
    // On the wire: the configured password first (refused), then ClueCon on a second connection (accepted, then exit).
    expect(tap.connections).toBe(2);
    expect(tap.sent[0]).toBe(`auth ${TEST_SECRETS.eslPassword}\n\n`);
    expect(tap.sent[1]?.startsWith('auth ClueCon\n\n')).toBe(true);
    expect(tap.sent[1]).toMatch(/exit\n\n$/);
  });

  it('FreeSWITCH with the shipped config and MSE_ESL_PASSWORD set: ClueCon is refused, check passes as before', async () => {
    const { fs, tap } = await freeswitch({ freeswitchEnv: { MSE_ESL_PASSWORD: TEST_SECRETS.eslPassword, MSE_VERTO_PASSWORD: TEST_SECRETS.vertoPassword } });
    const r = await check(fs, tap, TEST_SECRETS.eslPassword, 'check-esl-refuses-cluecon');
    expect(r.esl).toMatch(/^esl\s+OK\s+127\.0\.0\.1:\d+: authenticated; status: /);
    expect(r.code).toBe(0);
    expect(tap.connections).toBe(2);
    expect(tap.sent[0]?.startsWith(`auth ${TEST_SECRETS.eslPassword}\n\n`)).toBe(true);
    expect(tap.sent[0]).toMatch(/exit\n\n$/);
    expect(tap.sent[1]).toBe('auth ClueCon\n\n');
    for (const out of [r.stdout, r.stderr]) expect(out).not.toContain(TEST_SECRETS.eslPassword);
  });

  it('FreeSWITCH with the shipped config started without MSE_ESL_PASSWORD: every login refused, ClueCon too', async () => {
    const { fs, tap } = await freeswitch({ freeswitchEnv: { MSE_VERTO_PASSWORD: TEST_SECRETS.vertoPassword } });
    const r = await check(fs, tap, TEST_SECRETS.eslPassword, 'check-esl-password-missing-in-freeswitch');
    expect(r.code).toBe(1);
    expect(r.esl).toMatch(/^esl\s+FAIL\s+127\.0\.0\.1:\d+: authentication failed \(check esl\.password\)$/);
    expect(r.stdout).toMatch(/^verto\s+OK/m);
    expect(tap.connections).toBe(2);
    expect(tap.sent).toEqual([`auth ${TEST_SECRETS.eslPassword}\n\n`, 'auth ClueCon\n\n']);
    for (const out of [r.stdout, r.stderr]) expect(out).not.toContain(TEST_SECRETS.eslPassword);
  });

  it('the edge itself configured with ClueCon: no second login', async () => {
    const { fs, tap } = await freeswitch({ eslPassword: 'ClueCon' });
    const r = await check(fs, tap, 'ClueCon', 'check-esl-configured-cluecon');
    expect(r.esl).toMatch(/^esl\s+OK/);
    expect(r.code).toBe(0);
    expect(tap.connections).toBe(1);
  });
});
