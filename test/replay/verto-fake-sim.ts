// The Verto server over the fake backend, with the directories of both trace
// sets, for replays of the protocol-level traces.
import { VertoServer } from '../support/freeswitch/verto-server.ts';
import { VertoDirectory } from '../support/freeswitch/verto-directory.ts';
import { FakeVertoBackend } from '../support/freeswitch/verto-fake-backend.ts';
import { CAPTURE_USERS, RECONSTRUCTED_USERS } from '../support/freeswitch/capture-config/verto-users.ts';

export interface FakeSim {
  readonly server: VertoServer;
  readonly backend: FakeVertoBackend;
}

export async function startFakeSim(opts: { pingIntervalMs?: number } = {}): Promise<FakeSim> {
  const backend = new FakeVertoBackend();
  const server = await VertoServer.start({
    backend,
    directory: new VertoDirectory([...CAPTURE_USERS, ...RECONSTRUCTED_USERS]),
    pingIntervalMs: opts.pingIntervalMs ?? 30_000,
    eventFlushMs: 5,
  });
  return { server, backend };
}
