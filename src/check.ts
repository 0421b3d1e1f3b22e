import type { EdgeConfig } from './config/load.ts';
import { createLogger } from './log/logger.ts';
import { EslClient, eslOptionsFrom } from './esl/client.ts';
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

export async function probeEsl(config: EdgeConfig): Promise<ProbeResult> {
  const client = new EslClient(eslOptionsFrom(config.esl, createLogger('silent'), false));
  const outcome = waitForOutcome((fn) => client.onState(fn));
  client.start();
  const failure = await outcome;
  const where = `${config.esl.host}:${config.esl.port}`;
  try {
    if (failure !== undefined) return { name: 'esl', ok: false, detail: `${where}: ${failure}` };
    const body = await client.api(status());
    const firstLine = body.split('\n')[0]?.trim() ?? '';
    return { name: 'esl', ok: true, detail: `${where}: authenticated; status: ${firstLine}` };
  } catch (err) {
    return { name: 'esl', ok: false, detail: `${where}: status failed: ${(err as Error).message}` };
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
