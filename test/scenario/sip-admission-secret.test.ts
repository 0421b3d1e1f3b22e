import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EdgeProcess, runCli, writeConfig } from '../support/edge-process.ts';
import { edgeConfig, startFreeSwitch, startMatrix, type FreeSwitchStack, type MatrixStack } from '../support/sim-stack.ts';
import { DrachtioSimulator } from '../support/drachtio/server.ts';
import { DRACHTIO_SIP, sipSection } from '../support/drachtio/admission-fixture.ts';
import { TEST_SECRETS } from '../support/secrets.ts';
import { waitUntil } from '../support/wait.ts';

// drachtio-server refuses the edge's secret: the built edge exits non-zero
// after ONE connection attempt with a message naming sip.drachtio.secret
// (drachtio-srf alone would retry every ~255 ms forever), and `check` fails
// on the drachtio line with the same words. The right secret from the
// environment (MSE_DRACHTIO_SECRET) passes `check`.

let fs: FreeSwitchStack;
let mx: MatrixStack;
let sim: DrachtioSimulator;

function config(secret: string | undefined): string {
  const sip = sipSection(sim.port, secret ?? 'unused') as { drachtio: Record<string, unknown> };
  if (secret === undefined) delete sip.drachtio['secret'];
  return writeConfig({ ...edgeConfig(fs, mx), sip });
}

beforeAll(async () => {
  fs = await startFreeSwitch();
  mx = await startMatrix();
  sim = new DrachtioSimulator({ secret: TEST_SECRETS.drachtioSecret, sip: DRACHTIO_SIP });
  await sim.listen();
});

afterAll(async () => {
  await sim?.close();
  await fs?.stop();
  await mx?.hs.stop();
});

describe('a wrong drachtio secret', () => {
  it('makes the edge exit non-zero after one attempt, naming sip.drachtio.secret', async () => {
    const before = sim.accepted;
    const edge = new EdgeProcess(config(TEST_SECRETS.wrongDrachtioSecret), 'sip-admission-wrong-secret');
    await waitUntil(edge, () => edge.exitCode !== undefined, 'the edge to exit', 15_000);
    expect(edge.exitCode).toBe(1);
    const fatal = edge.lines.find((l) => l.level === 60);
    expect(fatal?.msg).toContain('sip.drachtio.secret');
    expect(sim.accepted - before).toBe(1);
    expect(sim.authFailures).toBeGreaterThanOrEqual(1);
    await edge.stop();
  });

  it('fails `check` on the drachtio line, naming the key; the right secret from the environment passes', async () => {
    const bad = await runCli(['check', '--config', config(TEST_SECRETS.wrongDrachtioSecret)], 'check-bad-drachtio');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^drachtio\s+FAIL\s+127\.0\.0\.1:\d+: drachtio-server refused the secret \(check sip\.drachtio\.secret\)$/m);
    expect(bad.stdout).not.toContain(TEST_SECRETS.wrongDrachtioSecret);
    const good = await runCli(['check', '--config', config(undefined)], 'check-drachtio-env', { MSE_DRACHTIO_SECRET: TEST_SECRETS.drachtioSecret });
    expect(good.stdout).toMatch(/^drachtio\s+OK\s+127\.0\.0\.1:\d+: authenticated; drachtio-server v0\.9\.10$/m);
    expect(good.code).toBe(0);
  });
});
