// The built edge in admission mode between the simulators: a drachtio-server
// simulator the edge connects to, FreeSWITCH's SIP profile behind it (the
// FreeSWITCH simulator's channel model, shipped public context with inbound
// and admission switched on), and trunks that call in.
import { OutboundFixture } from '../outbound-fixture.ts';
import { TEST_SECRETS } from '../secrets.ts';
import { DrachtioSimulator } from './server.ts';
import { FreeSwitchSipTarget } from './freeswitch-target.ts';
import { Trunk } from './trunk.ts';

/** drachtio-server's SIP address, which FreeSWITCH sees as the source of every admitted call. */
export const DRACHTIO_SIP = { host: '127.0.0.1', port: 5070 } as const;
export const FS_SIP = { address: '127.0.0.1', port: 5080 } as const;
/** A DID the shipped vars (mse_inbound_did_regex) and the edge's inbound.routes both serve. */
export const ADMITTED_DID = '+49301234560';
export const ALICE = '@alice:localhost';
/** The edge's sip.drachtio.reconnect in these tests. */
export const RECONNECT = { initial_delay_ms: 100, max_delay_ms: 1_000 } as const;

export function sipSection(drachtioPort: number, secret: string = TEST_SECRETS.drachtioSecret): Record<string, unknown> {
  return {
    admission: 'drachtio',
    drachtio: { host: '127.0.0.1', port: drachtioPort, secret, connect_timeout_ms: 2_000, reconnect: { ...RECONNECT } },
    freeswitch: { host: FS_SIP.address, port: FS_SIP.port },
    trunks: [
      { name: 'carrier', sources: ['198.51.100.0/25'], max_concurrent_calls: 1, busy_status: 486 },
      { name: 'bulk', sources: ['198.51.100.128/25'], max_concurrent_calls: 20, busy_status: 503 },
    ],
    scanners: { action: 'drop' },
    rate_limit: { calls: 2, window_s: 60 },
  };
}

export class AdmissionFixture {
  readonly sim: DrachtioSimulator;
  readonly f: OutboundFixture;
  readonly freeswitch: FreeSwitchSipTarget;

  private constructor(sim: DrachtioSimulator, f: OutboundFixture, freeswitch: FreeSwitchSipTarget) {
    this.sim = sim;
    this.f = f;
    this.freeswitch = freeswitch;
  }

  static async start(name: string): Promise<AdmissionFixture> {
    const sim = new DrachtioSimulator({ secret: TEST_SECRETS.drachtioSecret, sip: DRACHTIO_SIP });
    const port = await sim.listen();
    const f = await OutboundFixture.start({
      name,
      stack: { dialplanOverrides: { mse_inbound_enabled: 'true', mse_admission_drachtio_ip: DRACHTIO_SIP.host } },
      config: {
        inbound: { routes: [{ did: ADMITTED_DID, user: ALICE }], ring_timeout_s: 20 },
        sip: sipSection(port),
      },
    });
    const freeswitch = new FreeSwitchSipTarget(sim, f.fs.model, { ...FS_SIP, context: 'matrix-sip-edge-public' });
    return new AdmissionFixture(sim, f, freeswitch);
  }

  trunk(address: string): Trunk {
    return new Trunk(this.sim, address);
  }

  async stop(): Promise<void> {
    this.freeswitch.close();
    await this.f.stop();
    await this.sim.close();
  }
}
