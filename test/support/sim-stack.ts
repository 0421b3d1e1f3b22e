// The bundled simulators configured the way an operator configures the real
// thing from freeswitch/: one FreeSWITCH (ESL + mod_verto over one channel
// model, routing by the shipped dialplan, the edge's Verto user from the
// shipped directory entry) and one homeserver with the edge's account and a
// Matrix user. Used by the scenario tests and the demonstration.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attr, childrenNamed, type XmlElement } from './freeswitch/xml-lite.ts';
import { loadShippedDialplan, loadShippedXml, SHIPPED_FILES } from './freeswitch/shipped-config.ts';
import { FreeSwitchModel, type FreeSwitchModelOptions } from './freeswitch/channel-model.ts';
import { EslServer } from './freeswitch/esl-server.ts';
import { eventSocketPrefs } from './freeswitch/event-socket-config.ts';
import { VertoServer } from './freeswitch/verto-server.ts';
import { VertoDirectory, type DirectoryUser } from './freeswitch/verto-directory.ts';
import type { FarEndConfig } from './freeswitch/far-end.ts';
import type { VertoBackend, VertoInviteRequest } from './freeswitch/contract.ts';
import { startHomeserverSimulator, type HomeserverSimulator } from './homeserver/index.ts';
import { TEST_SECRETS } from './secrets.ts';

export const DOMAIN = '127.0.0.1';
export const EDGE_MATRIX_USER = 'edge';
export const ALICE = 'alice';

export interface StackOptions {
  readonly farEnd?: FarEndConfig;
  readonly gateways?: readonly string[];
  readonly originateTimeoutMs?: number;
  readonly eslPassword?: string;
  readonly vertoPassword?: string;
  /**
   * The environment FreeSWITCH was started with, as the shipped
   * vars-matrix-sip-edge.xml reads it (env-set). Given, the event socket's
   * password and the edge's Verto user are what mod_event_socket and
   * mod_verto would load from the shipped files with it (eslPassword and
   * vertoPassword are then ignored), e.g. without MSE_ESL_PASSWORD.
   */
  readonly freeswitchEnv?: Readonly<Record<string, string | undefined>>;
  readonly eslPort?: number;
  readonly vertoPort?: number;
  /** Pre-processor variables over the shipped vars-matrix-sip-edge.xml (e.g. mse_inbound_enabled). */
  readonly dialplanOverrides?: Readonly<Record<string, string>>;
  /** The Verto leg's CHANNEL_ANSWER (and so its bridge) waits this long for its DTLS, as on FreeSWITCH (0.15-1.1 s observed). */
  readonly vertoDtlsDelayMs?: number;
}

/** Every call-level request the Verto server received, in order (what the edge sent over the wire). */
export interface VertoRecord {
  readonly method: 'invite' | 'answer' | 'bye' | 'dtmf' | 'modify' | 'reattach';
  readonly callId: string;
  readonly invite?: VertoInviteRequest;
  /** The answer SDP of a client verto.answer. */
  readonly sdp?: string;
  readonly cause?: string | undefined;
  /** When the server received it (Date.now(), ms). */
  readonly at: number;
}

/** The model as the Verto server's backend, recording each request before passing it on. */
function recordingBackend(model: FreeSwitchModel, record: VertoRecord[]): VertoBackend {
  return {
    attachSession: (sessid, user, sink) => model.attachSession(sessid, user, sink),
    detachSession: (sessid, clientAddress) => model.detachSession(sessid, clientAddress),
    invite: (req) => {
      record.push({ method: 'invite', callId: req.callId, invite: req, at: Date.now() });
      return model.invite(req);
    },
    answer: (sessid, callId, sdp) => {
      record.push({ method: 'answer', callId, sdp, at: Date.now() });
      return model.answer(sessid, callId, sdp);
    },
    bye: (sessid, callId, cause, causeCode) => {
      record.push({ method: 'bye', callId, cause, at: Date.now() });
      return model.bye(sessid, callId, cause, causeCode);
    },
    dtmf: (sessid, callId, digits) => {
      record.push({ method: 'dtmf', callId, at: Date.now() });
      return model.dtmf(sessid, callId, digits);
    },
    modify: (sessid, callId, action, params) => {
      record.push({ method: 'modify', callId, at: Date.now() });
      return model.modify(sessid, callId, action, params);
    },
    reattach: (sessid, callId, sdp) => {
      record.push({ method: 'reattach', callId, at: Date.now() });
      return model.reattach(sessid, callId, sdp);
    },
  };
}

export interface FreeSwitchStack {
  readonly model: FreeSwitchModel;
  readonly vertoRecord: VertoRecord[];
  /** Every WebSocket text frame the Verto server received (what clients sent), in order, across restarts. */
  readonly vertoReceived: string[];
  esl: EslServer;
  eslPort: number;
  verto: VertoServer;
  readonly vertoPort: number;
  /** Stop the Verto server only; start it again on the same port. */
  killVerto(): Promise<void>;
  restartVerto(): Promise<void>;
  /** Stop the ESL server only (the model and Verto keep running). */
  killEsl(): Promise<void>;
  /** Start the ESL server again on the same port. */
  restartEsl(): Promise<void>;
  stop(): Promise<void>;
}

function findDescendants(el: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (const child of el.children) {
    if (child.name === name) out.push(child);
    out.push(...findDescendants(child, name));
  }
  return out;
}

function nameValues(parent: XmlElement | undefined, tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of parent ? childrenNamed(parent, tag) : []) {
    const n = attr(p, 'name');
    const v = attr(p, 'value');
    if (n !== undefined && v !== undefined) out[n] = v;
  }
  return out;
}

/**
 * The edge's Verto user as freeswitch/directory/matrix-sip-edge.xml defines
 * it: with this Verto password, or from FreeSWITCH's environment (a missing
 * MSE_VERTO_PASSWORD leaves the password empty, as in FreeSWITCH).
 */
export function shippedEdgeUser(vertoPassword: string | { readonly env: Readonly<Record<string, string | undefined>> }): DirectoryUser {
  const xml =
    typeof vertoPassword === 'string'
      ? loadShippedXml(SHIPPED_FILES.directory, { env: { MSE_VERTO_PASSWORD: vertoPassword, MSE_ESL_PASSWORD: 'unused' } })
      : loadShippedXml(SHIPPED_FILES.directory, { env: vertoPassword.env, unset: [] });
  const user = findDescendants(xml, 'user')[0];
  if (user === undefined) throw new Error('no <user> in the shipped directory entry');
  return {
    id: attr(user, 'id') ?? '',
    domain: DOMAIN,
    params: nameValues(childrenNamed(user, 'params')[0], 'param'),
    variables: nameValues(childrenNamed(user, 'variables')[0], 'variable'),
  };
}

/** The password mod_event_socket would take from the shipped event_socket.conf.xml, FreeSWITCH started with `env`. */
export function shippedEslPassword(env: Readonly<Record<string, string | undefined>>): string {
  return eventSocketPrefs(loadShippedXml(SHIPPED_FILES.eventSocket, { env, unset: [] })).password;
}

export async function startFreeSwitch(options: StackOptions = {}): Promise<FreeSwitchStack> {
  const fsEnv = options.freeswitchEnv;
  const eslPassword = fsEnv ? shippedEslPassword(fsEnv) : options.eslPassword ?? TEST_SECRETS.eslPassword;
  const vertoPassword = options.vertoPassword ?? TEST_SECRETS.vertoPassword;
  const edgeUser = shippedEdgeUser(fsEnv ? { env: fsEnv } : vertoPassword);
  let model: FreeSwitchModel | undefined;
  const dialplan = loadShippedDialplan({
    env: { MSE_ESL_PASSWORD: eslPassword, MSE_VERTO_PASSWORD: vertoPassword },
    apis: { verto_contact: (user: string) => model?.vertoContact(user) },
    overrides: options.dialplanOverrides ?? {},
  });
  const modelOptions: FreeSwitchModelOptions = {
    dialplan,
    domain: DOMAIN,
    vertoProfile: 'matrix-sip-edge',
    gateways: Object.fromEntries((options.gateways ?? ['example_trunk']).map((g) => [g, { profile: 'external' }])),
    originateTimeoutMs: options.originateTimeoutMs ?? 60_000,
    farEnd: options.farEnd ?? { default: { kind: 'answer', ringMs: 20 } },
    ...(options.vertoDtlsDelayMs === undefined ? {} : { vertoDtlsDelayMs: options.vertoDtlsDelayMs }),
  };
  const m = new FreeSwitchModel(modelOptions);
  model = m;
  let esl = new EslServer(m, { password: eslPassword });
  const eslPort = await esl.listen(options.eslPort ?? 0, '127.0.0.1');
  const vertoRecord: VertoRecord[] = [];
  const vertoReceived: string[] = [];
  const startVerto = (port: number) =>
    VertoServer.start({
      onFrame: (direction, text) => {
        if (direction === 'received') vertoReceived.push(text);
      },
      backend: recordingBackend(m, vertoRecord),
      directory: new VertoDirectory([edgeUser]),
      port,
      eventFlushMs: 5,
    });
  const verto = await startVerto(options.vertoPort ?? 0);
  const stack: FreeSwitchStack = {
    model: m,
    vertoRecord,
    vertoReceived,
    esl,
    eslPort,
    verto,
    vertoPort: verto.port,
    async killEsl() {
      await stack.esl.close();
    },
    async restartEsl() {
      esl = new EslServer(m, { password: eslPassword });
      await esl.listen(stack.eslPort, '127.0.0.1');
      stack.esl = esl;
    },
    async killVerto() {
      await stack.verto.close();
    },
    async restartVerto() {
      stack.verto = await startVerto(stack.vertoPort);
    },
    async stop() {
      await Promise.allSettled([stack.esl.close(), stack.verto.close()]);
      m.stop();
    },
  };
  return stack;
}

export interface MatrixStack {
  readonly hs: HomeserverSimulator;
  readonly edgeUserId: string;
  readonly edgeToken: string;
  readonly aliceId: string;
}

export async function startMatrix(): Promise<MatrixStack> {
  const hs = await startHomeserverSimulator({ rateLimits: false, serverName: 'localhost' });
  const edge = hs.registerUser(EDGE_MATRIX_USER, { password: TEST_SECRETS.matrixPassword, displayname: 'Phone' });
  const alice = hs.registerUser(ALICE, { password: 'alice-pw', displayname: 'Alice Example' });
  return { hs, edgeUserId: edge.userId, edgeToken: edge.accessToken, aliceId: alice.userId };
}

/** A config for the edge pointing at the stacks (plain object, written as YAML by the tests). */
export function edgeConfig(fs: FreeSwitchStack, mx: MatrixStack, overrides: { eslPassword?: string; httpPort?: number } = {}): Record<string, unknown> {
  return {
    esl: { host: '127.0.0.1', port: fs.eslPort, password: overrides.eslPassword ?? TEST_SECRETS.eslPassword, reconnect: { initial_delay_ms: 50, max_delay_ms: 500 }, request_timeout_ms: 2000, connect_timeout_ms: 2000 },
    verto: { url: `ws://127.0.0.1:${fs.vertoPort}`, login: `edge@${DOMAIN}`, password: TEST_SECRETS.vertoPassword, reconnect: { initial_delay_ms: 50, max_delay_ms: 500 } },
    matrix: { homeserver_url: mx.hs.url, user_id: mx.edgeUserId, access_token: mx.edgeToken, sync_timeout_ms: 5000 },
    http: { host: '127.0.0.1', port: overrides.httpPort ?? 0 },
    calls: { gathering_window_ms: 500, hangup_cause_wait_ms: 1000, ring_timeout_s: 60, drain_s: 1 },
    routing: { default_country: 'DE', default_gateway: 'example_trunk' },
    policy: { allowed_users: [mx.aliceId], allow_destinations: ['^\\+49[1-9][0-9]{5,13}$'], max_concurrent_calls_per_user: 2, rate_limit: { calls: 50, window_s: 60 } },
    caller_id: { default_number: '+4930555000' },
    log: { level: 'debug' },
    // One state directory per stack, kept across the edge restarts of a test.
    state: { dir: mkdtempSync(join(tmpdir(), 'mse-state-')) },
  };
}
