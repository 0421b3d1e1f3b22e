// The simulators for the benchmark: the same FreeSWITCH (shipped dialplan and
// directory, ESL + mod_verto over one channel model) and homeserver the
// scenario tests use, without the tests' request recording, and with the two
// hooks the benchmark timestamps the edge's hops with: the Verto server's
// frames (received / sent) and the homeserver's stored events. In appservice
// mode the homeserver loads the edge's registration and pushes transactions
// to the edge's listener (the current /_matrix/app/v1 paths).
import { FreeSwitchModel } from '../test/support/freeswitch/channel-model.ts';
import { EslServer } from '../test/support/freeswitch/esl-server.ts';
import { loadShippedDialplan } from '../test/support/freeswitch/shipped-config.ts';
import { VertoDirectory } from '../test/support/freeswitch/verto-directory.ts';
import { VertoServer } from '../test/support/freeswitch/verto-server.ts';
import { startHomeserverSimulator, type HomeserverSimulator } from '../test/support/homeserver/index.ts';
import type { JsonObject } from '../test/support/homeserver/types.ts';
import { DOMAIN, shippedEdgeUser } from '../test/support/sim-stack.ts';
import { TEST_SECRETS } from '../test/support/secrets.ts';

export interface BenchStackHooks {
  readonly onVertoFrame: (direction: 'received' | 'sent', text: string) => void;
  readonly onEventStored: (event: JsonObject) => void;
  /** FreeSWITCH simulator: a trunk leg of the edge was created, for this Matrix call id. */
  readonly onTrunkLeg?: (matrixCallId: string) => void;
}

export interface FreeSwitchSims {
  readonly model: FreeSwitchModel;
  readonly eslPort: number;
  readonly vertoPort: number;
  stop(): Promise<void>;
}

export async function startFreeSwitchSims(hooks: BenchStackHooks, farEndRingMs: number): Promise<FreeSwitchSims> {
  let model: FreeSwitchModel | undefined;
  model = new FreeSwitchModel({
    dialplan: loadShippedDialplan({
      env: { MSE_ESL_PASSWORD: TEST_SECRETS.eslPassword, MSE_VERTO_PASSWORD: TEST_SECRETS.vertoPassword },
      // ${verto_contact(...)} in the inbound template: the edge's registered Verto session
      apis: { verto_contact: (user: string) => model?.vertoContact(user) },
      // inbound on, for the DID of the inbound phase (bench/inbound.ts)
      overrides: { mse_inbound_enabled: 'true', mse_inbound_did_regex: '^\\+?(4930123456[0-9])\\z' },
    }),
    domain: DOMAIN,
    vertoProfile: 'matrix-sip-edge',
    gateways: { example_trunk: { profile: 'external' } },
    originateTimeoutMs: 60_000,
    farEnd: { default: { kind: 'answer', ringMs: farEndRingMs } },
  });
  const esl = new EslServer(model, { password: TEST_SECRETS.eslPassword });
  // The moment the trunk leg exists is the moment its INVITE leaves (mse_leg=trunk: the edge's originate).
  model.onEvent((e) => {
    if (hooks.onTrunkLeg === undefined) return;
    const header = (name: string) => e.headers.find(([k]) => k === name)?.[1];
    if (header('Event-Name') !== 'CHANNEL_CREATE' || !(header('Channel-Name') ?? '').startsWith('sofia/')) return;
    const uuid = header('Unique-ID');
    const callId = uuid === undefined ? undefined : model.channel(uuid)?.getVar('mse_matrix_call_id');
    if (callId !== undefined) hooks.onTrunkLeg(callId);
  });
  try {
    const eslPort = await esl.listen(0, '127.0.0.1');
    const verto = await VertoServer.start({
      backend: model,
      directory: new VertoDirectory([shippedEdgeUser(TEST_SECRETS.vertoPassword)]),
      port: 0,
      // mod_verto's event queue is read every 50 ms; 1 ms keeps the simulator out of the measurement.
      eventFlushMs: 1,
      onFrame: hooks.onVertoFrame,
    });
    return {
      model,
      eslPort,
      vertoPort: verto.port,
      async stop() {
        await Promise.allSettled([esl.close(), verto.close()]);
        model.stop();
      },
    };
  } catch (err) {
    await esl.close().catch(() => undefined);
    model.stop();
    throw err;
  }
}

/** The homeserver; with `appservice`, it loads that registration (YAML) and listens on the port the edge's config names. */
export function startBenchHomeserver(hooks: BenchStackHooks, appservice?: { readonly port: number; readonly registration: string }): Promise<HomeserverSimulator> {
  return startHomeserverSimulator({
    // Synapse's rate limits off: one bench user places many calls a second.
    rateLimits: false,
    serverName: 'localhost',
    onEventStored: hooks.onEventStored,
    ...(appservice === undefined
      ? {}
      : {
          port: appservice.port,
          appservices: [appservice.registration],
          appserviceApi: 'v1' as const,
          // a failed transaction is pushed again soon (Synapse: after 2 s); none fails in a healthy run
          appserviceRetryBaseMs: 100,
          appserviceRetryMaxMs: 1_000,
        }),
  });
}
