// One running edge in appservice mode between the simulators: its
// registration written by `matrix-sip-edge register`, the homeserver
// simulator loading that file and pushing transactions to the edge (the
// legacy paths Synapse 1.67 uses, or the v1 ones), Alice as a Matrix user.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { EdgeProcess, runCli, writeConfig } from './edge-process.ts';
import { DOMAIN, startFreeSwitch, type FreeSwitchStack, type StackOptions } from './sim-stack.ts';
import { startHomeserverSimulator, type HomeserverSimulator } from './homeserver/index.ts';
import type { AppserviceApi } from './homeserver/as-client.ts';
import { freePort, httpGet } from './net.ts';
import { pollUntil } from './wait.ts';
import { WireTap } from './wire-tap.ts';
import { TEST_SECRETS } from './secrets.ts';
import { tmpdir } from 'node:os';

export type Json = Record<string, unknown>;
export const content = (e: Json): Json => e['content'] as Json;

export const BOT_LOCALPART = '_sip_bot';
export const SERVER = 'localhost';
export const ghostOf = (number: string): string => `@_sip_${number}:${SERVER}`;

export interface AppserviceFixtureOptions {
  readonly name: string;
  readonly api?: AppserviceApi;
  readonly stack?: StackOptions;
  /** Sections of the edge config to replace. */
  readonly config?: Record<string, unknown>;
}

export class AppserviceFixture {
  fs!: FreeSwitchStack;
  hs!: HomeserverSimulator;
  tap!: WireTap;
  edge!: EdgeProcess;
  httpPort = 0;
  asPort = 0;
  configPath = '';
  registration: Json = {};
  aliceId = '';
  aliceToken = '';
  botId = `@${BOT_LOCALPART}:${SERVER}`;
  #name = '';
  #restarts = 0;

  static async start(options: AppserviceFixtureOptions): Promise<AppserviceFixture> {
    const f = new AppserviceFixture();
    f.#name = options.name;
    f.fs = await startFreeSwitch(options.stack);
    f.tap = await WireTap.start({ host: '127.0.0.1', port: f.fs.eslPort });
    const hsPort = await freePort();
    f.asPort = await freePort();
    f.httpPort = await freePort();
    const config: Record<string, unknown> = {
      esl: { host: '127.0.0.1', port: f.tap.port, password: TEST_SECRETS.eslPassword, reconnect: { initial_delay_ms: 50, max_delay_ms: 500 }, request_timeout_ms: 2000, connect_timeout_ms: 2000 },
      verto: { url: `ws://127.0.0.1:${f.fs.vertoPort}`, login: `edge@${DOMAIN}`, password: TEST_SECRETS.vertoPassword, reconnect: { initial_delay_ms: 50, max_delay_ms: 500 } },
      matrix: { homeserver_url: `http://127.0.0.1:${hsPort}`, mode: 'appservice', user_id: f.botId, appservice: { url: `http://127.0.0.1:${f.asPort}`, host: '127.0.0.1', port: f.asPort } },
      http: { host: '127.0.0.1', port: f.httpPort },
      calls: { gathering_window_ms: 500, hangup_cause_wait_ms: 1000, ring_timeout_s: 60, drain_s: 1 },
      routing: { default_country: 'DE', default_gateway: 'example_trunk' },
      policy: { allowed_users: [`@alice:${SERVER}`], allow_destinations: ['^\\+49[1-9][0-9]{5,13}$'], max_concurrent_calls_per_user: 2, rate_limit: { calls: 50, window_s: 60 } },
      caller_id: { default_number: '+4930555000' },
      log: { level: 'debug' },
      state: { dir: mkdtempSync(join(tmpdir(), 'mse-state-')) },
      ...options.config,
    };
    f.configPath = writeConfig(config);
    const registered = await runCli(['register', '--config', f.configPath], `${options.name}-register`);
    if (registered.code !== 0) throw new Error(`register failed: ${registered.stderr}`);
    const yaml = readFileSync(join(dirname(f.configPath), 'registration.yaml'), 'utf8');
    f.registration = parseYaml(yaml) as Json;
    f.hs = await startHomeserverSimulator({
      port: hsPort,
      serverName: SERVER,
      rateLimits: false,
      appservices: [yaml],
      appserviceApi: options.api ?? 'legacy',
      appserviceRetryBaseMs: 50,
      appserviceRetryMaxMs: 400,
      appserviceTimeoutMs: 5_000,
    });
    const alice = f.hs.registerUser('alice', { password: 'alice-pw', displayname: 'Alice Example' });
    f.aliceId = alice.userId;
    f.aliceToken = alice.accessToken;
    await f.startEdge();
    return f;
  }

  async startEdge(waitReady = true): Promise<void> {
    this.edge = new EdgeProcess(this.configPath, this.#restarts === 0 ? this.#name : `${this.#name}-${this.#restarts}`);
    this.#restarts += 1;
    if (waitReady) await pollUntil(async () => (await httpGet(`http://127.0.0.1:${this.httpPort}/readyz`).catch(() => ({ status: 0 }))).status === 200, 'edge ready', 15_000);
  }

  /** Kill the edge with SIGKILL (a crash), then start a new one on the same config and state. */
  async crashAndRestartEdge(): Promise<void> {
    this.edge.child.kill('SIGKILL');
    await pollUntil(() => this.edge.exitCode !== undefined, 'edge killed', 5_000);
    await this.edge.stop();
    await this.startEdge();
  }

  /** Stop the edge (SIGTERM), replace some sections of its config (same file, same registration beside it), start it again. */
  async restartWith(sections: Record<string, unknown>): Promise<void> {
    const code = await this.edge.stop();
    if (code !== 0) throw new Error(`the edge exited with ${String(code)}`);
    const config = parseYaml(readFileSync(this.configPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(this.configPath, stringifyYaml({ ...config, ...sections }));
    await this.startEdge();
  }

  /** A client-server request as Alice (what Element sends). */
  async asAlice(path: string): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${this.hs.url}${path}`, { headers: { authorization: `Bearer ${this.aliceToken}` } });
    return { status: res.status, body: (await res.json()) as unknown };
  }

  /** A raw request to the edge's appservice listener, as the homeserver would send it. */
  async toAppservice(method: string, path: string, body?: unknown, auth: { bearer?: string; query?: string } = { query: this.registration['hs_token'] as string }): Promise<{ status: number; body: unknown }> {
    const url = new URL(`http://127.0.0.1:${this.asPort}${path}`);
    if (auth.query !== undefined) url.searchParams.set('access_token', auth.query);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (auth.bearer !== undefined) headers['authorization'] = `Bearer ${auth.bearer}`;
    const res = await fetch(url, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  }

  events(filter: (e: Json) => boolean, roomId?: string): Json[] {
    return this.hs.events(roomId === undefined ? {} : { roomId }).filter(filter);
  }

  waitEvent(pred: (e: Json) => boolean, timeoutMs = 8_000): Promise<Json> {
    return this.hs.waitForEvent(pred, timeoutMs);
  }

  notices(roomId: string, sender?: string): string[] {
    return this.hs.events({ roomId, type: 'm.room.message' }).filter((e) => sender === undefined ? e['sender'] !== this.aliceId : e['sender'] === sender).map((e) => String(content(e)['body']));
  }

  async metrics(): Promise<string> {
    return (await httpGet(`http://127.0.0.1:${this.httpPort}/metrics`)).text;
  }

  /** Nothing live in the edge, no FreeSWITCH channel, nothing kept in the store. */
  async expectNothingLeft(): Promise<void> {
    await pollUntil(async () => /^mse_calls_live(\{[^}]*\})? 0$/m.test(await this.metrics()) && !/^mse_calls_live(\{[^}]*\})? [1-9]/m.test(await this.metrics()), 'no live call', 8_000);
    await pollUntil(() => this.fs.model.channels().length === 0, 'no FreeSWITCH channel', 8_000);
    await pollUntil(async () => {
      const text = await this.metrics();
      return /^mse_state_calls 0$/m.test(text) && /^mse_matrix_outbox_pending 0$/m.test(text);
    }, 'no stored call and no pending Matrix send', 8_000);
  }

  async stop(): Promise<number | null | undefined> {
    const code = await this.edge?.stop();
    await this.tap?.close();
    await this.fs?.stop();
    await this.hs?.stop();
    return code;
  }
}
