// The commands (run, check, register, --help, --version), loaded by main.ts
// once the Node.js version is known to be one the edge runs on.
import { readFileSync } from 'node:fs';
import { deferred } from '../net/deferred.ts';
import { StoreError } from '../store/sqlite-store.ts';
import { HELP, parseCommandLine, UsageError, type Command } from './args.ts';
import { ConfigError } from '../config/errors.ts';
import { loadConfigFile, type EdgeConfig } from '../config/load.ts';
import { createLogger, type Logger } from '../log/logger.ts';
import { Edge } from '../edge.ts';
import { redactUrl } from '../net/redact-url.ts';
import { formatProbe, runChecks } from '../check.ts';
import { disableDrachtioDebug, DRACHTIO_DEBUG_SKIP } from '../sip/srf.ts';
import { register } from '../appservice/register-command.ts';
import { RegistrationError } from '../appservice/registration.ts';

const EXIT_CHECK_FAILED = 1;
const EXIT_USAGE = 2;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

function loadOrExit(path: string): EdgeConfig {
  try {
    return loadConfigFile(path);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`matrix-sip-edge: invalid config ${path}:\n${err.problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}\n`);
      process.exit(EXIT_USAGE);
    }
    throw err;
  }
}

const DRACHTIO_DEBUG_WARNING = 'DEBUG enables drachtio* namespaces, whose output carries sip.drachtio.secret: disabled for secret safety';

/**
 * Before drachtio-srf is loaded: its `debug` output (DEBUG=drachtio*) would
 * print the admin secret. True when DEBUG had enabled it.
 */
function guardDrachtioDebug(config: EdgeConfig): boolean {
  return config.sip.admission === 'drachtio' && disableDrachtioDebug();
}

async function check(configPath: string): Promise<number> {
  const config = loadOrExit(configPath);
  if (guardDrachtioDebug(config)) process.stderr.write(`matrix-sip-edge: ${DRACHTIO_DEBUG_WARNING}\n`);
  process.stdout.write(`config OK    ${configPath}\n`);
  const results = await runChecks(config);
  for (const r of results) process.stdout.write(`${formatProbe(r)}\n`);
  return results.every((r) => r.ok) ? 0 : EXIT_CHECK_FAILED;
}

/**
 * Libraries that write to the console (matrix-js-sdk binds some console
 * loggers at import time) go through pino too, so stdout stays JSON lines.
 */
function routeConsoleToLog(log: Logger): void {
  const child = log.child({ source: 'console' });
  const forward = (...args: unknown[]) => child.debug(args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a))).join(' ').slice(0, 1000));
  console.log = forward;
  console.info = forward;
  console.debug = forward;
  console.trace = forward;
  console.warn = forward;
  console.error = forward;
}

async function run(configPath: string): Promise<void> {
  const config = loadOrExit(configPath);
  const log = createLogger(config.log.level);
  routeConsoleToLog(log);
  if (guardDrachtioDebug(config)) log.warn({ debug: process.env['DEBUG'], skipped: DRACHTIO_DEBUG_SKIP }, DRACHTIO_DEBUG_WARNING);
  let edge: Edge;
  try {
    edge = new Edge(config, log);
  } catch (err) {
    if (err instanceof RegistrationError) {
      log.fatal({ key: 'matrix.appservice.registration_file', err: err.message }, 'cannot use the appservice registration');
      process.stderr.write(`matrix-sip-edge: ${err.message}\n`);
      log.flush(() => process.exit(EXIT_USAGE));
      return;
    }
    if (!(err instanceof StoreError)) throw err;
    // One clear line (state.dir / MSE_STATE_DIR names where), no stack trace.
    log.fatal({ key: 'state.dir', err: err.message }, 'cannot open the state store');
    process.stderr.write(`matrix-sip-edge: ${err.message} (state.dir or MSE_STATE_DIR)\n`);
    log.flush(() => process.exit(EXIT_CHECK_FAILED));
    return;
  }
  let signals = 0;
  const cut = deferred<void>();
  const shutdown = (signal: string) => {
    signals += 1;
    if (signals > 1) {
      log.warn({ signal }, 'second signal: ending every call now');
      cut.resolve();
      return;
    }
    log.info({ signal, drainS: config.calls.drain_s }, 'shutting down');
    // drainAndStop() closes every socket and timer of the edge; the exit that
    // follows also ends timers left behind by matrix-js-sdk's request
    // timeout ponyfill (one per request, up to the /sync long-poll long).
    edge.drainAndStop(config.calls.drain_s * 1000, cut.promise).then(
      () => {
        log.info('stopped');
        log.flush(() => process.exit(0));
      },
      (err: unknown) => {
        log.error({ err: (err as Error).message }, 'error while stopping');
        log.flush(() => process.exit(1));
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  log.info({ version: version(), esl: `${config.esl.host}:${config.esl.port}`, matrix: redactUrl(config.matrix.homeserver_url) }, 'starting');
  try {
    await edge.start();
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'could not start');
    await edge.stop();
    process.exitCode = 1;
  }
}

async function main(): Promise<void> {
  let command: Command;
  try {
    command = parseCommandLine(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`matrix-sip-edge: ${err.message}\n\n${HELP}`);
      process.exit(EXIT_USAGE);
    }
    throw err;
  }
  switch (command.kind) {
    case 'help':
      process.stdout.write(HELP);
      return;
    case 'version':
      process.stdout.write(`${version()}\n`);
      return;
    case 'check': {
      const code = await check(command.configPath);
      process.stdout.write('', () => process.exit(code));
      return;
    }
    case 'run':
      await run(command.configPath);
      return;
    case 'register': {
      const code = register(loadOrExit(command.configPath), command.force, (line) => process.stdout.write(`${line}\n`), (line) => process.stderr.write(`matrix-sip-edge: ${line}\n`));
      process.stdout.write('', () => process.exit(code));
      return;
    }
  }
}

export { main };
