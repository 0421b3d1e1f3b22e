import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EdgeProcess, runCli, writeConfig } from '../support/edge-process.ts';
import { edgeConfig, startFreeSwitch, startMatrix, type FreeSwitchStack, type MatrixStack } from '../support/sim-stack.ts';
import { DrachtioSimulator } from '../support/drachtio/server.ts';
import { Trunk } from '../support/drachtio/trunk.ts';
import { DRACHTIO_SIP, sipSection } from '../support/drachtio/admission-fixture.ts';
import { statusOf, type SipMessage } from '../support/drachtio/sip-message.ts';
import { TEST_SECRETS } from '../support/secrets.ts';
import { waitUntil } from '../support/wait.ts';

// drachtio-srf writes every admin frame it sends through the `debug`
// package, `authenticate|<secret>` included, when DEBUG enables its
// drachtio:* namespaces. The built edge, started with DEBUG=drachtio* in
// admission mode, switches those namespaces off before drachtio-srf is
// used, says so once at warn level, and its stdout and stderr never carry
// the secret, though the secret did go over the wire. `check` likewise.

const SECRET = TEST_SECRETS.drachtioSecret;
const DEBUG_ENV = { DEBUG: 'drachtio*' };

let fs: FreeSwitchStack;
let mx: MatrixStack;
let sim: DrachtioSimulator;
let configPath: string;

beforeAll(async () => {
  fs = await startFreeSwitch();
  mx = await startMatrix();
  sim = new DrachtioSimulator({ secret: SECRET, sip: DRACHTIO_SIP });
  await sim.listen();
  configPath = writeConfig({ ...edgeConfig(fs, mx), sip: sipSection(sim.port) });
});

afterAll(async () => {
  await sim?.close();
  await fs?.stop();
  await mx?.hs.stop();
});

/** The authenticate frames drachtio-server received that carried the test secret. */
const authenticatesWithSecret = () => sim.payloads('app->server').filter((p) => p.includes(`authenticate|${SECRET}|`)).length;

describe('DEBUG=drachtio* with sip.admission on', () => {
  it('the edge disables drachtio-srf\'s debug output once, with a warning; the secret is nowhere in its stdout or stderr', async () => {
    const authBefore = sim.authSuccesses;
    const secretFramesBefore = authenticatesWithSecret();
    const edge = new EdgeProcess(configPath, 'sip-admission-debug', DEBUG_ENV);
    let stdout = '';
    let stderr = '';
    edge.child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    edge.child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      // authenticated on the wire with the secret in the frame
      await waitUntil(sim, () => sim.authSuccesses > authBefore || edge.exitCode !== undefined, 'the edge authenticated to drachtio-server', 15_000);
      expect(edge.exitCode).toBeUndefined();
      expect(authenticatesWithSecret()).toBe(secretFramesBefore + 1);
      // more traffic through drachtio-srf (a request and its answer) while the namespaces would print,
      // once the edge has taken the OPTIONS route
      await waitUntil(sim, () => sim.payloads('app->server').some((p) => /^[^|]+\|route\|options$/.test(p)), 'the edge routes OPTIONS', 8_000);
      const trunk = new Trunk(sim, '198.51.100.12');
      trunk.options();
      await waitUntil(sim, () => trunk.optionsResponses.length === 1, 'OPTIONS answered', 8_000);
      expect(statusOf(trunk.optionsResponses[0] as SipMessage)).toBe(200);
    } finally {
      await edge.stop();
    }
    expect(edge.exitCode).toBe(0);
    expect(stdout.includes(SECRET), 'the secret in the edge\'s stdout').toBe(false);
    expect(stderr.includes(SECRET), 'the secret in the edge\'s stderr').toBe(false);
    const warnings = edge.lines.filter((l) => l.level === 40 && typeof l.msg === 'string' && l.msg.includes('drachtio*'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toMatch(/DEBUG/);
  });

  it('`check` with DEBUG=drachtio* authenticates and prints the secret nowhere', async () => {
    const secretFramesBefore = authenticatesWithSecret();
    const r = await runCli(['check', '--config', configPath], 'check-drachtio-debug', DEBUG_ENV);
    expect(r.stdout).toMatch(/^drachtio\s+OK\s+127\.0\.0\.1:\d+: authenticated; drachtio-server v0\.9\.10$/m);
    expect(authenticatesWithSecret()).toBe(secretFramesBefore + 1);
    expect(r.stderr).toMatch(/^matrix-sip-edge: DEBUG enables drachtio\* namespaces, .*disabled for secret safety$/m);
    expect(r.stdout.includes(SECRET), 'the secret in check\'s stdout').toBe(false);
    expect(r.stderr.includes(SECRET), 'the secret in check\'s stderr').toBe(false);
  });
});
