import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { configSchema, type RawConfig } from './schema.ts';
import { ConfigError, problemsFromZod, type ConfigProblem } from './errors.ts';
import { Secret } from './secret.ts';

/** The server name of a user id (@local:server -> server): the edge's ghosts live there too. */
export const serverNameOf = (userId: string): string => userId.slice(userId.indexOf(':') + 1);

/** The validated configuration the edge runs with. Secrets are wrapped. */
export interface EdgeConfig {
  readonly esl: Omit<RawConfig['esl'], 'password' | 'password_file'> & { readonly password: Secret };
  readonly verto: Omit<RawConfig['verto'], 'password' | 'password_file'> & { readonly password: Secret };
  readonly matrix: Omit<RawConfig['matrix'], 'access_token' | 'access_token_file' | 'password' | 'password_file' | 'appservice'> & {
    readonly accessToken: Secret | undefined;
    readonly password: Secret | undefined;
    /** registration_file is absolute. */
    readonly appservice: RawConfig['matrix']['appservice'];
  };
  readonly http: RawConfig['http'];
  readonly calls: RawConfig['calls'];
  readonly routing: RawConfig['routing'];
  readonly policy: RawConfig['policy'];
  readonly caller_id: RawConfig['caller_id'];
  readonly inbound: RawConfig['inbound'];
  readonly log: RawConfig['log'];
  /** The state directory, absolute. */
  readonly state: { readonly dir: string };
  readonly sip: Omit<RawConfig['sip'], 'drachtio'> & {
    readonly drachtio: Omit<RawConfig['sip']['drachtio'], 'secret' | 'secret_file'> & { readonly secret: Secret | undefined };
  };
}

export type Environment = Readonly<Record<string, string | undefined>>;

/** The environment variables that may carry each secret (value, or a file holding it). */
export const SECRET_ENV = {
  'esl.password': 'MSE_ESL_PASSWORD',
  'verto.password': 'MSE_VERTO_PASSWORD',
  'matrix.access_token': 'MSE_MATRIX_ACCESS_TOKEN',
  'matrix.password': 'MSE_MATRIX_PASSWORD',
  'sip.drachtio.secret': 'MSE_DRACHTIO_SECRET',
} as const;

type SecretKey = keyof typeof SECRET_ENV;

function readSecretFile(path: string, key: string, problems: ConfigProblem[]): Secret | undefined {
  try {
    const value = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    if (value === '') {
      problems.push({ path: key, message: `the file ${path} is empty` });
      return undefined;
    }
    return new Secret(value);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    problems.push({ path: key, message: `cannot read the file ${path} (${code})` });
    return undefined;
  }
}

/**
 * A secret comes from, in order: the environment variable, the environment
 * variable with _FILE (a path), the key in the file, the key with _file.
 */
function resolveSecret(
  key: SecretKey,
  inline: string | undefined,
  file: string | undefined,
  env: Environment,
  problems: ConfigProblem[],
): Secret | undefined {
  const envName = SECRET_ENV[key];
  const fromEnv = env[envName];
  if (fromEnv !== undefined && fromEnv !== '') return new Secret(fromEnv);
  const fromEnvFile = env[`${envName}_FILE`];
  if (fromEnvFile !== undefined && fromEnvFile !== '') return readSecretFile(fromEnvFile, `${key} (from ${envName}_FILE)`, problems);
  if (inline !== undefined && file !== undefined) {
    problems.push({ path: key, message: `give either ${key} or ${key}_file, not both` });
    return undefined;
  }
  if (inline !== undefined) return new Secret(inline);
  if (file !== undefined) return readSecretFile(file, `${key}_file`, problems);
  return undefined;
}

/** Validate an already-parsed document (an object from YAML). Throws ConfigError. */
export function parseConfig(document: unknown, env: Environment = process.env, baseDir: string = process.cwd()): EdgeConfig {
  if (document === null || document === undefined) {
    throw new ConfigError([{ path: '(top level)', message: 'the config file is empty' }]);
  }
  const parsed = configSchema.safeParse(document);
  if (!parsed.success) throw new ConfigError(problemsFromZod(parsed.error, document));
  const raw = parsed.data;
  const problems: ConfigProblem[] = [];

  const eslPassword = resolveSecret('esl.password', raw.esl.password, raw.esl.password_file, env, problems);
  if (eslPassword === undefined && !problems.some((p) => p.path.startsWith('esl.password'))) {
    problems.push({ path: 'esl.password', message: `is required (or esl.password_file, or ${SECRET_ENV['esl.password']})` });
  }
  const vertoPassword = resolveSecret('verto.password', raw.verto.password, raw.verto.password_file, env, problems);
  if (vertoPassword === undefined && !problems.some((p) => p.path.startsWith('verto.password'))) {
    problems.push({ path: 'verto.password', message: `is required (or verto.password_file, or ${SECRET_ENV['verto.password']})` });
  }
  const accessToken = resolveSecret('matrix.access_token', raw.matrix.access_token, raw.matrix.access_token_file, env, problems);
  const matrixPassword = resolveSecret('matrix.password', raw.matrix.password, raw.matrix.password_file, env, problems);
  if (raw.matrix.mode === 'bot' && accessToken === undefined && matrixPassword === undefined && !problems.some((p) => p.path.startsWith('matrix.'))) {
    problems.push({ path: 'matrix.access_token', message: 'is required in bot mode (or matrix.password to log in)' });
  }
  if (raw.matrix.mode === 'appservice') {
    // The as_token comes from the registration file; a second token here would be a second truth.
    if (accessToken !== undefined) problems.push({ path: 'matrix.access_token', message: 'is not used in appservice mode (the edge uses the as_token of matrix.appservice.registration_file)' });
    if (matrixPassword !== undefined) problems.push({ path: 'matrix.password', message: 'is not used in appservice mode (the edge uses the as_token of matrix.appservice.registration_file)' });
  }
  if (raw.policy.allow_destinations.length > 0 && raw.routing.default_gateway === undefined && raw.routing.routes.length === 0) {
    problems.push({ path: 'routing.default_gateway', message: 'is required when policy.allow_destinations lets calls out (or give routing.routes)' });
  }
  if (raw.policy.allow_destinations.length > 0 && raw.caller_id.default_number === undefined) {
    problems.push({ path: 'caller_id.default_number', message: 'is required when policy.allow_destinations lets calls out' });
  }
  const drachtioSecret = resolveSecret('sip.drachtio.secret', raw.sip.drachtio.secret, raw.sip.drachtio.secret_file, env, problems);
  if (raw.sip.admission === 'drachtio') {
    if (drachtioSecret === undefined && !problems.some((p) => p.path.startsWith('sip.drachtio.secret'))) {
      problems.push({ path: 'sip.drachtio.secret', message: `is required when sip.admission is drachtio (or sip.drachtio.secret_file, or ${SECRET_ENV['sip.drachtio.secret']})` });
    }
    if (raw.sip.trunks.length === 0) problems.push({ path: 'sip.trunks', message: 'must list at least one trunk when sip.admission is drachtio (calls from anywhere else get 403)' });
  }
  if (problems.length > 0 || eslPassword === undefined || vertoPassword === undefined) throw new ConfigError(problems);

  const { password: _ep, password_file: _epf, ...esl } = raw.esl;
  const { password: _vp, password_file: _vpf, ...verto } = raw.verto;
  const { access_token: _at, access_token_file: _atf, password: _mp, password_file: _mpf, ...matrix } = raw.matrix;
  const { secret: _ds, secret_file: _dsf, ...drachtio } = raw.sip.drachtio;
  return {
    esl: { ...esl, password: eslPassword },
    verto: { ...verto, password: vertoPassword },
    matrix: {
      ...matrix,
      accessToken,
      password: matrixPassword,
      appservice: { ...matrix.appservice, registration_file: resolve(baseDir, matrix.appservice.registration_file) },
    },
    http: raw.http,
    calls: raw.calls,
    routing: raw.routing,
    policy: raw.policy,
    caller_id: raw.caller_id,
    inbound: raw.inbound,
    log: raw.log,
    state: { dir: resolve(baseDir, env['MSE_STATE_DIR'] !== undefined && env['MSE_STATE_DIR'] !== '' ? env['MSE_STATE_DIR'] : raw.state.dir) },
    sip: { ...raw.sip, drachtio: { ...drachtio, secret: drachtioSecret } },
  };
}

/** The first line of a YAML error, its control characters (the file's own, quoted) escaped: one problem stays one line. */
function yamlMessage(message: string): string {
  const first = message.split('\n')[0] ?? '';
  return `invalid YAML: ${first.replace(/\p{Cc}/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}`;
}

/** Parse YAML text. Syntax errors name the line. */
export function parseConfigText(text: string, env: Environment = process.env, baseDir: string = process.cwd()): EdgeConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const line = e.linePos?.[0];
        return { path: line ? `(line ${line.line}, column ${line.col})` : '(file)', message: yamlMessage(e.message) };
      }),
    );
  }
  let document: unknown;
  try {
    document = doc.toJS({ maxAliasCount: 50 });
  } catch (err) {
    // yaml reports an alias without its anchor, or too many aliases, only here (as a ReferenceError).
    throw new ConfigError([{ path: '(file)', message: yamlMessage((err as Error).message) }]);
  }
  return parseConfig(document, env, baseDir);
}

export function loadConfigFile(path: string, env: Environment = process.env): EdgeConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError([{ path: '(file)', message: `cannot read the config file ${path} (${code})` }]);
  }
  return parseConfigText(text, env, dirname(resolve(path)));
}
