// The shipped inbound template (freeswitch/dialplan/public-matrix-sip-edge.xml)
// and the other shipped config files.
import { describe, expect, it } from 'vitest';
import { loadShippedDialplan, loadShippedXml, SHIPPED_FILES } from '../support/freeswitch/shipped-config.ts';
import { attr, childrenNamed, type XmlElement } from '../support/freeswitch/xml-lite.ts';

const CONTEXT = 'matrix-sip-edge-public';
const verto_contact = (args: string): string => (args === 'edge@example.org' ? 'verto.rtc/u:sess-1' : 'error/user_not_registered');
const engine = loadShippedDialplan({
  globals: { domain: 'example.org', local_ip_v4: '192.0.2.10' },
  overrides: { mse_inbound_enabled: 'true' },
  apis: { verto_contact },
});
const trunkCall = (did: string, extra: Record<string, string> = {}): Record<string, string> => ({
  source: 'mod_sofia',
  destination_number: did,
  caller_id_number: '+4940123456',
  caller_id_name: 'Bob Caller',
  ...extra,
});

describe('inbound template', () => {
  it('bridges a configured DID to the edge Verto user with the DID and caller exported', () => {
    const result = engine.hunt(CONTEXT, trunkCall('+49301234567'));
    const bridge = result?.actions.find((a) => a.app === 'bridge');
    expect(bridge?.data).toBe('verto.rtc/u:sess-1');
    expect(bridge?.template).toBe('${verto_contact(edge@example.org)}');
    expect(result?.exported).toEqual({
      mse_did: '49301234567',
      verto_h_mse_did: '49301234567',
      mse_caller_number: '+4940123456',
      verto_h_mse_caller_number: '+4940123456',
      mse_caller_name: 'Bob Caller',
      verto_h_mse_caller_name: 'Bob Caller',
      // no RTP for 60 s on either leg (a vanished Matrix client): FreeSWITCH hangs up
      media_timeout: '60000',
    });
    expect(result?.variables['effective_caller_id_number']).toBe('+4940123456');
    expect(result?.actions.map((a) => a.app).slice(-2)).toEqual(['bridge', 'hangup']);
    expect(result?.actions.map((a) => a.data)).toEqual(expect.arrayContaining(['call_timeout=60', 'continue_on_fail=true']));
  });

  it.each(['5551212', '1000', '49301234568 ', '4930123456', '+49301234567\n', ''])('answers DID %j with respond 404 only', (did) => {
    expect(engine.route(CONTEXT, trunkCall(did))).toEqual([expect.objectContaining({ app: 'respond', data: '404' })]);
  });

  it('answers 404 to every DID while inbound is switched off (the shipped default)', () => {
    const off = loadShippedDialplan({ apis: { verto_contact } });
    expect(off.route(CONTEXT, trunkCall('+49301234567'))?.map((a) => `${a.app} ${a.data}`)).toEqual(['respond 404']);
  });

  it('never lets a hostile caller ID reach a set value or run an API', () => {
    const result = engine.hunt(CONTEXT, trunkCall('49301234567', {
      caller_id_number: '${system(id)}',
      caller_id_name: "${system(id)}' ,|",
    }));
    expect(result?.apiCalls.map((c) => c.name)).toEqual(['verto_contact']);
    expect(result?.exported['mse_caller_number']).toBe('anonymous');
    expect(result?.exported['mse_caller_name']).toBeUndefined();
    expect(result?.variables['effective_caller_id_name']).toBe('anonymous');
    expect(result?.actions.find((a) => a.app === 'bridge')?.data).toBe('verto.rtc/u:sess-1');
  });
});

describe('shipped config files', () => {
  const params = (root: XmlElement, path: readonly string[]): Map<string, string[]> => {
    let nodes: readonly XmlElement[] = [root];
    for (const name of path) nodes = nodes.flatMap((n) => childrenNamed(n, name));
    const out = new Map<string, string[]>();
    for (const p of nodes.flatMap((n) => childrenNamed(n, 'param'))) {
      const name = attr(p, 'name') ?? '';
      out.set(name, [...(out.get(name) ?? []), attr(p, 'value') ?? '']);
    }
    return out;
  };

  it('directory: user edge, password from the environment, user_context matrix-sip-edge', () => {
    const root = loadShippedXml(SHIPPED_FILES.directory);
    const user = childrenNamed(root, 'user')[0];
    expect(user && attr(user, 'id')).toBe('edge');
    const p = params(root, ['user', 'params']);
    expect(p.get('password')).toEqual(['test-verto-secret']);
    expect(p.get('jsonrpc-allowed-methods')).toEqual(['verto']);
    const vars = user ? childrenNamed(childrenNamed(user, 'variables')[0] ?? user, 'variable') : [];
    expect(vars.map((v) => [attr(v, 'name'), attr(v, 'value')])).toEqual([['user_context', 'matrix-sip-edge']]);
  });

  it('verto: loopback ws 8081, userauth, no blind registration', () => {
    const p = params(loadShippedXml(SHIPPED_FILES.verto), ['profiles', 'profile']);
    expect(p.get('bind-local')).toEqual(['127.0.0.1:8081']);
    expect(p.get('userauth')).toEqual(['true']);
    expect(p.get('blind-reg')).toEqual(['false']);
    expect(p.get('rtp-ip')).toEqual(['127.0.0.1']);
    expect(params(loadShippedXml(SHIPPED_FILES.verto), ['settings']).get('detach-timeout-sec')).toEqual(['120']);
  });

  it('event socket: loopback only, password from the environment', () => {
    const p = params(loadShippedXml(SHIPPED_FILES.eventSocket), ['settings']);
    expect(p.get('listen-ip')).toEqual(['127.0.0.1']);
    expect(p.get('listen-port')).toEqual(['8021']);
    expect(p.get('password')).toEqual(['test-esl-secret']);
    expect(p.get('apply-inbound-acl')).toEqual(['loopback.auto']);
  });

  it('example trunk: gateway example_trunk, no registration, caller ID in From', () => {
    const root = loadShippedXml(SHIPPED_FILES.trunk);
    expect(childrenNamed(root, 'gateway').map((g) => attr(g, 'name'))).toEqual(['example_trunk']);
    const p = params(root, ['gateway']);
    expect(p.get('register')).toEqual(['false']);
    expect(p.get('caller-id-in-from')).toEqual(['true']);
  });

  it('a variable without value is an error unless asked for (FreeSWITCH would expand it to ""; see shipped-secrets.test.ts)', () => {
    expect(() => loadShippedXml(SHIPPED_FILES.directory, { env: {} })).toThrow(/\$\$\{mse_esl_password\} has no value/);
  });
});
