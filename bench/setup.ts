// One mode's simulators, Matrix users and edge config, in a fresh directory.
//
// bot: the edge is a Matrix account (@edge) that long-polls /sync; each
// caller has a DM with it, linked to the destination by room state.
// appservice: `matrix-sip-edge register` writes the registration beside the
// config, the homeserver simulator loads it and pushes transactions to the
// edge's listener; each caller opens a DM with the destination's ghost
// (@_sip_<number>:localhost), which the edge registers when the homeserver
// asks about it and joins as that ghost; the ghost answers and hangs up.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import type { FreeSwitchModel } from '../test/support/freeswitch/channel-model.ts';
import type { HomeserverSimulator } from '../test/support/homeserver/index.ts';
import { freePort } from '../test/support/net.ts';
import { pollUntil } from '../test/support/wait.ts';
import { TEST_SECRETS } from '../test/support/secrets.ts';
import { PER_USER_CALLS, type BenchCaller } from './driver.ts';
import type { BenchMode, BenchOptions } from './options.ts';
import { startBenchHomeserver, startFreeSwitchSims, type BenchStackHooks } from './stack.ts';
import { INBOUND_DID } from './inbound.ts';

const DESTINATION = '+4930123456';
const SERVER = 'localhost';
const BOT = `@_sip_bot:${SERVER}`;
const GHOST_PREFIX = '@_sip_';
const GHOST = `${GHOST_PREFIX}${DESTINATION}:${SERVER}`;

export interface BenchStack {
  readonly mode: BenchMode;
  readonly hs: HomeserverSimulator;
  readonly model: FreeSwitchModel;
  /** The edge's config file (its state directory, and in appservice mode the registration, beside it). */
  readonly configPath: string;
  readonly httpPort: number;
  /** Whether a Matrix user is the edge: its bot account, or (appservice mode) one of its ghosts. */
  isEdgeUser(userId: string): boolean;
  /** Once the edge is ready: one DM per caller, and the edge (bot or ghost) joined in each. */
  openRooms(): Promise<BenchCaller[]>;
  /** The room the inbound DID rings (the first caller's, with the edge's bot in it), and who answers there. */
  readonly inbound: { readonly roomId: string; readonly callee: string };
  stop(): Promise<void>;
}

const callerId = (i: number) => `@caller${i}:${SERVER}`;
const run = promisify(execFile);

/** The simulators and the config for `mode`, in `dir`; `callers` Matrix users allowed to call. */
export async function startBenchStack(mode: BenchMode, dir: string, hooks: BenchStackHooks, o: BenchOptions, callers: number, repoRoot: string): Promise<BenchStack> {
  const fs = await startFreeSwitchSims(hooks, o.ringMs);
  let hs: HomeserverSimulator | undefined;
  try {
    const httpPort = await freePort();
    const common = {
      esl: { host: '127.0.0.1', port: fs.eslPort, password: TEST_SECRETS.eslPassword },
      verto: { url: `ws://127.0.0.1:${fs.vertoPort}`, login: 'edge@127.0.0.1', password: TEST_SECRETS.vertoPassword },
      http: { host: '127.0.0.1', port: httpPort },
      calls: { gathering_window_ms: 3_000, hangup_cause_wait_ms: 1500, ring_timeout_s: 60 },
      routing: { default_country: 'DE', default_gateway: 'example_trunk' },
      policy: {
        allowed_users: Array.from({ length: callers }, (_, i) => callerId(i)),
        allow_destinations: ['^\\+49[1-9][0-9]{5,13}$'],
        max_concurrent_calls_per_user: PER_USER_CALLS,
        rate_limit: { calls: 1_000_000, window_s: 1 },
      },
      caller_id: { default_number: '+4930555000' },
      log: { level: o.logLevel },
    };
    const configPath = join(dir, 'config.yaml');
    let edgeUser: string;
    let isEdgeUser: (userId: string) => boolean;
    if (mode === 'bot') {
      hs = await startBenchHomeserver(hooks);
      const edge = hs.registerUser('edge', { password: TEST_SECRETS.matrixPassword, displayname: 'Phone' });
      edgeUser = edge.userId;
      isEdgeUser = (u) => u === edge.userId;
      writeFileSync(configPath, stringify({ ...common, matrix: { homeserver_url: hs.url, user_id: edge.userId, access_token: edge.accessToken, sync_timeout_ms: o.syncTimeoutMs } }));
    } else {
      const hsPort = await freePort();
      const asPort = await freePort();
      writeFileSync(
        configPath,
        stringify({ ...common, matrix: { homeserver_url: `http://127.0.0.1:${hsPort}`, mode: 'appservice', user_id: BOT, appservice: { url: `http://127.0.0.1:${asPort}`, host: '127.0.0.1', port: asPort } } }),
      );
      await run(process.execPath, [join(repoRoot, 'dist/src/main.js'), 'register', '--config', configPath], { timeout: 30_000 });
      hs = await startBenchHomeserver(hooks, { port: hsPort, registration: readFileSync(join(dir, 'registration.yaml'), 'utf8') });
      edgeUser = GHOST;
      isEdgeUser = (u) => u === BOT || (u.startsWith(GHOST_PREFIX) && u.endsWith(`:${SERVER}`));
    }
    const server = hs;
    for (let i = 0; i < callers; i++) server.registerUser(`caller${i}`, { password: 'bench', displayname: `Caller ${i}` });
    // The inbound phase's room: the first caller's, the edge's bot invited (it joins once it runs); its DID routed there.
    const inboundRoom = server.createRoom(callerId(0), { invite: [mode === 'bot' ? edgeUser : BOT] } as never);
    const config = parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(configPath, stringify({ ...config, inbound: { routes: [{ did: INBOUND_DID, room: inboundRoom }], ring_timeout_s: 30 } }));
    return {
      mode,
      hs: server,
      model: fs.model,
      configPath,
      httpPort,
      isEdgeUser,
      inbound: { roomId: inboundRoom, callee: callerId(0) },
      async openRooms() {
        const out: BenchCaller[] = [];
        for (let i = 0; i < callers; i++) {
          const userId = callerId(i);
          // bot: a DM with the edge's account, linked to the destination; appservice: a DM with the destination's ghost
          const roomId = server.createRoom(userId, { is_direct: true, invite: [edgeUser], preset: 'trusted_private_chat' } as never);
          if (mode === 'bot') server.sendStateEvent(userId, roomId, 'org.matrix-sip-edge.destination', '', { number: DESTINATION });
          out.push({ userId, roomId, inFlight: 0 });
        }
        const joined = () =>
          out.every((c) => server.events({ roomId: c.roomId, type: 'm.room.member' }).some((e) => e['state_key'] === edgeUser && (e['content'] as Record<string, unknown>)['membership'] === 'join'));
        await pollUntil(joined, `the edge (${edgeUser}) joined every bench room`, 30_000, 100);
        return out;
      },
      async stop() {
        await Promise.allSettled([fs.stop(), server.stop()]);
      },
    };
  } catch (err) {
    await Promise.allSettled([fs.stop(), hs?.stop()]);
    throw err;
  }
}
