// The admission service in-process against the drachtio-server simulator
// (drachtio-srf over a real TCP connection): every outcome's SIP answer on
// the wire, the counter, the trunk slot released when FreeSWITCH reports
// the hangup, and the link's reconnection.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfigText, type EdgeConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/log/logger.ts';
import { AdmissionService } from '../../src/sip/admission-service.ts';
import { DrachtioSimulator } from '../support/drachtio/server.ts';
import { Trunk, type TrunkCall } from '../support/drachtio/trunk.ts';
import { getHeader, statusOf, type SipMessage } from '../support/drachtio/sip-message.ts';
import { responseTo } from '../support/drachtio/sip-build.ts';
import { parseSipMessage, serializeSip } from '../support/drachtio/sip-message.ts';
import { pollUntil, waitUntil } from '../support/wait.ts';

const SECRET = 'unit-drachtio-secret';
const TRUNK_IP = '198.51.100.10';
const FS = { transport: 'udp' as const, address: '127.0.0.1', port: 5080 };

function config(port: number, sip: Record<string, unknown> = {}): EdgeConfig {
  return parseConfigText(stringify({
    esl: { password: 'x' },
    verto: { url: 'ws://127.0.0.1:1', login: 'edge@127.0.0.1', password: 'y' },
    matrix: { homeserver_url: 'http://127.0.0.1:1', user_id: '@edge:example.org', access_token: 't' },
    inbound: { routes: [{ did: '+4930123456', room: '!room:example.org' }, { did: '/^\\+49301234[0-9]{2}$/', room: '!other:example.org' }] },
    sip: {
      admission: 'drachtio',
      drachtio: { host: '127.0.0.1', port, secret: SECRET, reconnect: { initial_delay_ms: 20, max_delay_ms: 200 } },
      freeswitch: { host: FS.address, port: FS.port },
      trunks: [{ name: 'carrier', sources: [`${TRUNK_IP}/32`, '2001:db8::/32'], max_concurrent_calls: 1, busy_status: 486 }],
      rate_limit: { calls: 3, window_s: 60 },
      ...sip,
    },
  }), {});
}

let sim: DrachtioSimulator;
let service: AdmissionService | undefined;
const counts = new Map<string, number>();
const counter = { inc: (l: { method: string; outcome: string }) => counts.set(`${l.method}:${l.outcome}`, (counts.get(`${l.method}:${l.outcome}`) ?? 0) + 1) };

/** FreeSWITCH answering every proxied INVITE with the given status. */
function freeswitch(status: number): SipMessage[] {
  const seen: SipMessage[] = [];
  sim.network.attach(FS, (raw) => {
    const m = parseSipMessage(raw);
    if (m === undefined || !m.startLine.startsWith('INVITE')) return;
    seen.push(m);
    const extra = status === 200 ? [{ name: 'Contact', value: `<sip:fs@${FS.address}:${FS.port}>` }, ...(getHeader(m, 'record-route') === undefined ? [] : [{ name: 'Record-Route', value: getHeader(m, 'record-route') ?? '' }])] : [];
    sim.network.inject(serializeSip(responseTo(m, status, status === 200 ? 'OK' : 'Temporarily Unavailable', 'fstag', extra)), FS);
  });
  return seen;
}

async function start(sip: Record<string, unknown> = {}): Promise<AdmissionService> {
  service = new AdmissionService(config(sim.port, sip), createLogger('silent'), counter);
  service.onState(() => sim.emit('change'));
  service.start();
  await waitUntil(sim, () => sim.frames.some((f) => f.payload.endsWith('|route|invite')) && service?.state === 'connected', 'edge routed INVITEs');
  return service;
}

async function finalOf(call: TrunkCall): Promise<SipMessage> {
  await waitUntil(call, () => call.final !== undefined, `a final answer to ${call.callId}`);
  return call.final as SipMessage;
}

beforeEach(async () => {
  counts.clear();
  sim = new DrachtioSimulator({ secret: SECRET });
  await sim.listen();
});

afterEach(async () => {
  await service?.stop();
  service = undefined;
  await sim.close();
});

describe('SIP admission service', () => {
  it('answers each outcome in order with its SIP status and counts it', async () => {
    const fs = freeswitch(480);
    await start({ scanners: { action: 'reject' } });
    const stranger = new Trunk(sim, '203.0.113.66');
    const trunk = new Trunk(sim, TRUNK_IP);
    const calls = [
      stranger.invite({ did: '+4930123456' }),
      trunk.invite({ did: '+4930123456', userAgent: 'friendly-scanner' }),
      trunk.invite({ did: '+4999999' }),
      trunk.invite({ did: '4930123456' }),
    ];
    const statuses = [];
    for (const c of calls) statuses.push(statusOf(await finalOf(c)));
    expect(statuses).toEqual([403, 403, 404, 480]);
    expect(fs).toHaveLength(1);
    expect(getHeader(fs[0] as SipMessage, 'x-mse-route')).toBe('route-0');
    expect(fs[0]?.startLine).toBe(`INVITE sip:4930123456@${FS.address}:${FS.port} SIP/2.0`);
    expect(Object.fromEntries(counts)).toEqual({ 'INVITE:forbidden_source': 1, 'INVITE:scanner': 1, 'INVITE:unknown_did': 1, 'INVITE:accepted': 1 });
  });

  it('rate-limits a source with 503 and Retry-After, and holds a trunk slot until FreeSWITCH reports the hangup', async () => {
    freeswitch(200);
    const s = await start();
    const trunk = new Trunk(sim, TRUNK_IP);
    const first = trunk.invite({ did: '+4930123456' });
    expect(statusOf(await finalOf(first))).toBe(200);
    const busy = trunk.invite({ did: '+4930123499' });
    expect(statusOf(await finalOf(busy))).toBe(486);
    s.callEnded(first.callId);
    const again = trunk.invite({ did: '+4930123456' });
    expect(statusOf(await finalOf(again))).toBe(200);
    s.callEnded(again.callId);
    const limited = await finalOf(trunk.invite({ did: '+4930123456' }));
    expect(statusOf(limited)).toBe(503);
    expect(Number(getHeader(limited, 'retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('drops a scanner without any answer but the server\'s own 100 Trying', async () => {
    await start();
    const call = new Trunk(sim, TRUNK_IP).invite({ did: '+4930123456', userAgent: 'sipvicious' });
    // nothing goes on the wire when a scanner is dropped: poll the counter
    await pollUntil(() => counts.get('INVITE:scanner') === 1, 'the scanner counted');
    expect(call.statuses.filter((s) => s !== 100)).toEqual([]);
  });

  it('answers OPTIONS from a trunk with 200 and from anyone else with 403', async () => {
    await start();
    const trunk = new Trunk(sim, TRUNK_IP);
    const other = new Trunk(sim, '203.0.113.9');
    trunk.options();
    other.options();
    await waitUntil(sim, () => trunk.optionsResponses.length === 1 && other.optionsResponses.length === 1, 'OPTIONS answered');
    expect(statusOf(trunk.optionsResponses[0] as SipMessage)).toBe(200);
    expect(statusOf(other.optionsResponses[0] as SipMessage)).toBe(403);
  });

  it('a wrong secret is fatal after one attempt, naming sip.drachtio.secret', async () => {
    service = new AdmissionService(config(sim.port, { drachtio: { host: '127.0.0.1', port: sim.port, secret: 'wrong', reconnect: { initial_delay_ms: 10, max_delay_ms: 100 } } }), createLogger('silent'), counter);
    const fatal: string[] = [];
    service.onFatal((m) => fatal.push(m));
    service.start();
    await waitUntil(sim, () => fatal.length > 0, 'fatal');
    expect(fatal[0]).toContain('sip.drachtio.secret');
    expect(service.state).toBe('stopped');
    expect(sim.accepted).toBe(1);
  });

  it('reconnects with backoff when drachtio-server restarts, and admits calls again', async () => {
    freeswitch(480);
    const s = await start();
    const port = sim.port;
    await sim.close();
    await waitUntil(sim, () => s.state === 'reconnecting', 'reconnecting');
    await sim.listen(port);
    await waitUntil(sim, () => s.state === 'connected' && sim.frames.filter((f) => f.payload.endsWith('|route|invite')).length === 2, 'reconnected', 5_000);
    const call = new Trunk(sim, TRUNK_IP).invite({ did: '+4930123456' });
    expect(statusOf(await finalOf(call))).toBe(480);
  });
});

