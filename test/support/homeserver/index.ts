// Homeserver simulator: the client-server API subset matrix-sip-edge uses (Synapse 1.67
// wire format, traces/real/synapse-*) plus appservice transaction pushes.
import { AppservicePusher } from './appservice.ts';
import { callAppservice } from './as-client.ts';
import type { HsContext } from './context.ts';
import { Faults, type FaultSpec } from './faults.ts';
import { legacyEvent } from './format.ts';
import { limitFor, type HomeserverSimulatorOptions } from './options.ts';
import { RateLimiter } from './ratelimit.ts';
import { Recorder } from './recorder.ts';
import { parseRegistration, type Registration } from './registration.ts';
import { RoomService } from './rooms.ts';
import { accountRoutes } from './routes/account.ts';
import { metaRoutes } from './routes/meta.ts';
import { profileRoutes } from './routes/profile.ts';
import { roomRoutes } from './routes/rooms.ts';
import { syncRoutes } from './routes/sync.ts';
import { thirdpartyRoutes } from './routes/thirdparty.ts';
import { listen } from './server.ts';
import { Store } from './store.ts';
import { SyncControl } from './sync-control.ts';
import { TestApi } from './test-api.ts';

export type { HomeserverSimulatorOptions, SimulatorUser } from './options.ts';
export type { RequestRecord } from './recorder.ts';
export type { TransactionAttempt } from './appservice.ts';
export type { FaultSpec } from './faults.ts';
export type { RegisteredUser, EventFilter } from './test-api.ts';
export type { Registration } from './registration.ts';
export { parseRegistration } from './registration.ts';

export interface HomeserverSimulator extends TestApi {
  readonly url: string;
  readonly port: number;
  readonly serverName: string;
  readonly appservices: readonly Registration[];
  /** Answer the next matching request(s) with this status and body. */
  injectFault(spec: FaultSpec): void;
  clearFaults(): void;
  /** Ends long-polls and appservice retries, closes every socket and the listener. */
  stop(): Promise<void>;
}

export async function startHomeserverSimulator(options: HomeserverSimulatorOptions = {}): Promise<HomeserverSimulator> {
  const store = new Store(options.serverName ?? 'localhost');
  const appservices = (options.appservices ?? []).map((r) => parseRegistration(r));
  for (const as of appservices) {
    if (appservices.filter((a) => a.asToken === as.asToken).length > 1) throw new Error('appservice as_token must be unique');
    const sender = store.userIdFor(as.senderLocalpart);
    if (!store.users.has(sender)) store.addUser(as.senderLocalpart, { appserviceId: as.id });
    store.addAppserviceToken(as.asToken, sender, as.id);
  }
  for (const u of options.users ?? []) store.addUser(u.localpart, { ...(u.password === undefined ? {} : { password: u.password }), ...(u.displayname === undefined ? {} : { displayname: u.displayname }) });
  const api = options.appserviceApi ?? 'v1';
  const pusherOpts = {
    api,
    retryBaseMs: options.appserviceRetryBaseMs ?? 2000,
    retryMaxMs: options.appserviceRetryMaxMs ?? 512_000,
    requestTimeoutMs: options.appserviceTimeoutMs ?? 10_000,
  };
  const pushers = appservices.map((reg) => new AppservicePusher(store, reg, pusherOpts));
  const onStored = options.onEventStored;
  let reported = store.events.length;
  const unsubscribe = store.notifier.subscribe(() => {
    if (onStored !== undefined) while (reported < store.events.length) onStored(legacyEvent(store.events[reported++]!));
    for (const p of pushers) p.onNewEvents();
  });
  const abort = new AbortController();
  const syncControl = new SyncControl(options.timelineLimitCap);
  const rooms = new RoomService({
    store,
    messageLimiter: new RateLimiter(limitFor(options, 'message')),
    isRateLimited: (r) => {
      if (r.tokenId.startsWith('test:')) return false;
      if (r.appserviceId === undefined) return true;
      if (r.isAppserviceSender) return false;
      return appservices.find((a) => a.id === r.appserviceId)?.rateLimited ?? true;
    },
  });
  const ctx: HsContext = {
    store,
    rooms,
    appservices,
    pushers,
    loginLimiter: new RateLimiter(limitFor(options, 'login')),
    duplicateJoinQuirk: options.duplicateJoinQuirk ?? true,
    maxSyncTimeoutMs: options.maxSyncTimeoutMs ?? 60_000,
    syncControl,
    askAppservice: (reg, spec, extraQuery) => callAppservice(reg, api, spec, abort.signal, pusherOpts.requestTimeoutMs, extraQuery),
  };
  const routes = [...metaRoutes(ctx), ...accountRoutes(ctx), ...syncRoutes(ctx), ...roomRoutes(ctx), ...profileRoutes(ctx), ...thirdpartyRoutes(ctx)];
  const faults = new Faults();
  const recorder = new Recorder();
  const host = options.host ?? '127.0.0.1';
  const server = await listen(ctx, routes, faults, recorder, host, options.port ?? 0);
  const testApi = new TestApi(store, rooms, recorder, pushers, syncControl);
  let stopped: Promise<void> | undefined;
  return Object.assign(testApi, {
    url: `http://${host}:${server.port}`,
    port: server.port,
    serverName: store.serverName,
    appservices,
    injectFault: (spec: FaultSpec) => faults.add(spec),
    clearFaults: () => faults.clear(),
    stop: () => {
      stopped ??= (async () => {
        unsubscribe();
        for (const p of pushers) p.stop();
        abort.abort();
        syncControl.stop();
        store.notifier.stop();
        await server.close();
      })();
      return stopped;
    },
  });
}
