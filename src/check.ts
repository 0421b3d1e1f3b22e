import type { EdgeConfig } from './config/load.ts';
import { createLogger } from './log/logger.ts';
import { ESL_AUTH_FAILED, EslClient, eslOptionsFrom } from './esl/client.ts';
import { Secret } from './config/secret.ts';
import { status } from './esl/commands.ts';
import { VertoClient, vertoOptionsFrom } from './verto/client.ts';
import { redactUrl } from './net/redact-url.ts';
import { probeHomeserver } from './matrix/probe.ts';
import { probeDrachtioServer } from './sip/probe.ts';

export interface ProbeResult {
  readonly name: 'esl' | 'verto' | 'matrix' | 'drachtio';
  readonly ok: boolean;
  readonly detail: string;
}

function waitForOutcome(subscribe: (fn: (state: string, reason: string | undefined) => void) => () => void): Promise<string | undefined> {
  return new Promise((resolve) => {
    const off = subscribe((state, reason) => {
      if (state === 'connected') {
        off();
        resolve(undefined);
      } else if (state === 'stopped') {
        off();
        resolve(reason ?? 'stopped');
      }
    });
  });
}

/** mod_event_socket's built-in password: what it uses when the configured one is empty. */
export const ESL_DEFAULT_PASSWORD = 'ClueCon';

const ACCEPTS_DEFAULT =
  `accepts the default password ${ESL_DEFAULT_PASSWORD}: anyone on this host controls FreeSWITCH; set MSE_ESL_PASSWORD in FreeSWITCH's environment`;

/** One login on a fresh connection (the caller stops the client): `failure` is undefined when FreeSWITCH accepted it, else why not. */
async function eslLogin(config: EdgeConfig, password: Secret): Promise<{ client: EslClient; failure: string | undefined }> {
  const client = new EslClient({ ...eslOptionsFrom(config.esl, createLogger('silent'), false), password });
  const outcome = waitForOutcome((fn) => client.onState(fn));
  client.start();
  return { client, failure: await outcome };
}

/**
 * ESL: log in with esl.password and run `status`. Then, unless esl.password
 * is ClueCon itself, log in with ClueCon on a second connection: a
 * FreeSWITCH that accepts it runs with an empty password (mod_event_socket
 * falls back to ClueCon), typically because MSE_ESL_PASSWORD was missing
 * from its environment; that fails the probe, whatever the first login did.
 * Each attempt is bounded by esl.connect_timeout_ms; each socket is closed.
 */
export async function probeEsl(config: EdgeConfig): Promise<ProbeResult> {
  const where = `${config.esl.host}:${config.esl.port}`;
  const first = await probeConfiguredPassword(config, where);
  const reachedAuth = first.ok || first.failure === ESL_AUTH_FAILED;
  if (!reachedAuth || config.esl.password.reveal() === ESL_DEFAULT_PASSWORD) return first.result;
  const { client, failure } = await eslLogin(config, new Secret(ESL_DEFAULT_PASSWORD));
  await client.stop();
  if (failure !== undefined) return first.result;
  return { name: 'esl', ok: false, detail: `${where}: ${first.ok ? '' : 'refuses esl.password but '}${ACCEPTS_DEFAULT}` };
}

async function probeConfiguredPassword(
  config: EdgeConfig,
  where: string,
): Promise<{ ok: boolean; failure: string | undefined; result: ProbeResult }> {
  const { client, failure } = await eslLogin(config, config.esl.password);
  try {
    if (failure !== undefined) return { ok: false, failure, result: { name: 'esl', ok: false, detail: `${where}: ${failure}` } };
    const body = await client.api(status());
    const firstLine = body.split('\n')[0]?.trim() ?? '';
    return { ok: true, failure: undefined, result: { name: 'esl', ok: true, detail: `${where}: authenticated; status: ${firstLine}` } };
  } catch (err) {
    return { ok: false, failure: undefined, result: { name: 'esl', ok: false, detail: `${where}: status failed: ${(err as Error).message}` } };
  } finally {
    await client.stop();
  }
}

export async function probeVerto(config: EdgeConfig): Promise<ProbeResult> {
  const client = new VertoClient(vertoOptionsFrom(config.verto, createLogger('silent'), false));
  const outcome = waitForOutcome((fn) => client.onState(fn));
  client.start();
  const failure = await outcome;
  await client.stop();
  const where = redactUrl(config.verto.url);
  return failure === undefined
    ? { name: 'verto', ok: true, detail: `${where}: logged in as ${config.verto.login}` }
    : { name: 'verto', ok: false, detail: `${where}: ${failure}` };
}

export async function probeMatrix(config: EdgeConfig): Promise<ProbeResult> {
  try {
    const who = await probeHomeserver(config.matrix);
    return { name: 'matrix', ok: true, detail: `${redactUrl(config.matrix.homeserver_url)}: whoami ${who}` };
  } catch (err) {
    return { name: 'matrix', ok: false, detail: `${redactUrl(config.matrix.homeserver_url)}: ${(err as Error).message}` };
  }
}

/** SIP admission on: drachtio-server's admin port, authenticated with sip.drachtio.secret. */
export async function probeDrachtio(config: EdgeConfig): Promise<ProbeResult> {
  const r = await probeDrachtioServer(config, createLogger('silent'));
  return { name: 'drachtio', ok: r.ok, detail: r.detail };
}

/** Run every probe; one line each. */
export async function runChecks(config: EdgeConfig): Promise<ProbeResult[]> {
  const admission = config.sip.admission === 'drachtio' ? [probeDrachtio(config)] : [];
  return Promise.all([probeEsl(config), probeVerto(config), probeMatrix(config), ...admission]);
}

export function formatProbe(r: ProbeResult): string {
  return `${r.name.padEnd(Math.max(7, r.name.length + 1))}${r.ok ? 'OK  ' : 'FAIL'}  ${r.detail}`;
}
