// The admission condition of the shipped public context
// (freeswitch/dialplan/public-matrix-sip-edge.xml): with
// mse_admission_drachtio_ip set, only calls from that address carrying the
// edge's decision header reach the bridge; without it, nothing changes.
import { describe, expect, it } from 'vitest';
import { loadShippedDialplan } from '../support/freeswitch/shipped-config.ts';

const CONTEXT = 'matrix-sip-edge-public';
const verto_contact = (): string => 'verto.rtc/u:sess-1';
const DRACHTIO = '192.0.2.7';
const admissionOn = loadShippedDialplan({ overrides: { mse_inbound_enabled: 'true', mse_admission_drachtio_ip: DRACHTIO }, apis: { verto_contact } });
const admissionOff = loadShippedDialplan({ overrides: { mse_inbound_enabled: 'true' }, apis: { verto_contact } });

const call = (vars: Record<string, string>): Record<string, string> => ({
  source: 'mod_sofia', destination_number: '+49301234567', caller_id_number: '+4940123456', caller_id_name: 'Bob', ...vars,
});
const apps = (engine: typeof admissionOn, vars: Record<string, string>) => engine.route(CONTEXT, call(vars))?.map((a) => `${a.app} ${a.data}`);

describe('public context in admission mode', () => {
  it('bridges a call proxied by drachtio-server with the decision header', () => {
    expect(apps(admissionOn, { sip_network_ip: DRACHTIO, 'sip_h_X-MSE-Route': 'route-0' })).toContain('bridge verto.rtc/u:sess-1');
  });

  it.each([
    ['straight from a trunk', { sip_network_ip: '203.0.113.9', 'sip_h_X-MSE-Route': 'route-0' }],
    ['from drachtio without the header', { sip_network_ip: DRACHTIO }],
    ['with a forged header from elsewhere', { sip_network_ip: '192.0.2.70', 'sip_h_X-MSE-Route': 'route-0' }],
    ['with a malformed header', { sip_network_ip: DRACHTIO, 'sip_h_X-MSE-Route': 'route-0|x' }],
    ['with an injection attempt in the header', { sip_network_ip: DRACHTIO, 'sip_h_X-MSE-Route': '${system(id)}' }],
    ['with a newline after the header', { sip_network_ip: DRACHTIO, 'sip_h_X-MSE-Route': 'route-0\n' }],
  ])('answers 404 to a call %s', (_what, vars) => {
    expect(apps(admissionOn, vars)).toEqual(['respond 404']);
  });

  it('never runs the API an injected header names (the engine\'s record of API calls stays empty)', () => {
    const hunt = admissionOn.hunt(CONTEXT, call({ sip_network_ip: DRACHTIO, 'sip_h_X-MSE-Route': '${system(id)}' }));
    expect(hunt?.actions.map((a) => `${a.app} ${a.data}`)).toEqual(['respond 404']);
    expect(hunt?.apiCalls).toEqual([]);
  });

  it('changes nothing while mse_admission_drachtio_ip is unset (the shipped default)', () => {
    expect(apps(admissionOff, { sip_network_ip: '203.0.113.9' })).toContain('bridge verto.rtc/u:sess-1');
    expect(apps(admissionOff, {})).toContain('bridge verto.rtc/u:sess-1');
  });
});
