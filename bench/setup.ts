// The bench's Matrix users, their rooms, and the edge's config.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { pollUntil } from '../test/support/wait.ts';
import { TEST_SECRETS } from '../test/support/secrets.ts';
import { PER_USER_CALLS, type BenchCaller } from './driver.ts';
import type { BenchOptions } from './options.ts';
import type { BenchStack } from './stack.ts';

const DESTINATION = '+4930123456';

/** The edge's config file in `dir`: the simulators, every bench user allowed, limits out of the way. */
export function writeEdgeConfig(dir: string, stack: BenchStack, httpPort: number, callers: readonly BenchCaller[], o: BenchOptions): string {
  const config = {
    esl: { host: '127.0.0.1', port: stack.eslPort, password: TEST_SECRETS.eslPassword },
    verto: { url: `ws://127.0.0.1:${stack.vertoPort}`, login: 'edge@127.0.0.1', password: TEST_SECRETS.vertoPassword },
    matrix: { homeserver_url: stack.hs.url, user_id: stack.edgeUserId, access_token: stack.edgeToken, sync_timeout_ms: o.syncTimeoutMs },
    http: { host: '127.0.0.1', port: httpPort },
    calls: { gathering_window_ms: 500, hangup_cause_wait_ms: 1500, ring_timeout_s: 60 },
    routing: { default_country: 'DE', default_gateway: 'example_trunk' },
    policy: {
      allowed_users: callers.map((c) => c.userId),
      allow_destinations: ['^\\+49[1-9][0-9]{5,13}$'],
      max_concurrent_calls_per_user: PER_USER_CALLS,
      rate_limit: { calls: 1_000_000, window_s: 1 },
    },
    caller_id: { default_number: '+4930555000' },
    log: { level: o.logLevel },
  };
  const path = join(dir, 'config.yaml');
  writeFileSync(path, stringify(config));
  return path;
}

/** One DM per bench user with the edge, linked to the destination by room state. */
export function makeCallers(stack: BenchStack, count: number): BenchCaller[] {
  const callers: BenchCaller[] = [];
  for (let i = 0; i < count; i++) {
    const user = stack.hs.registerUser(`caller${i}`, { password: 'bench', displayname: `Caller ${i}` });
    const roomId = stack.hs.createRoom(user.userId, { is_direct: true, invite: [stack.edgeUserId], preset: 'trusted_private_chat' } as never);
    stack.hs.sendStateEvent(user.userId, roomId, 'org.matrix-sip-edge.destination', '', { number: DESTINATION });
    callers.push({ userId: user.userId, roomId, inFlight: 0 });
  }
  return callers;
}

/** Resolves when the edge has joined every bench room. */
export async function edgeJoined(stack: BenchStack, callers: readonly BenchCaller[]): Promise<void> {
  const joined = () =>
    callers.every((c) => stack.hs.events({ roomId: c.roomId, type: 'm.room.member' }).some((e) => e['state_key'] === stack.edgeUserId && (e['content'] as Record<string, unknown>)['membership'] === 'join'));
  await pollUntil(joined, 'the edge joined every bench room', 30_000, 100);
}
