// The shipped outbound template (freeswitch/dialplan/matrix-sip-edge.xml):
// valid edge variables become exactly one bridge to sofia/gateway/<gw>/<number>
// with the edge's caller ID; every malformed or foreign input is hung up
// before anything is dialled, and no API ever runs from outside data.
import { describe, expect, it } from 'vitest';
import { loadShippedDialplan } from '../support/freeswitch/shipped-config.ts';

const engine = loadShippedDialplan();
const CONTEXT = 'matrix-sip-edge';

/** What mod_verto puts on the channel for the edge's verto.invite. */
function vertoCall(dvars: Record<string, string>, extra: Record<string, string> = {}): Record<string, string> {
  const vars: Record<string, string> = {
    source: 'mod_verto',
    destination_number: dvars['mse_destination'] ?? 'service',
    caller_id_name: 'Alice Example',
    caller_id_number: '0000',
    verto_user: 'edge@127.0.0.1',
    ...extra,
  };
  for (const [k, v] of Object.entries(dvars)) vars[`verto_dvar_${k}`] = v;
  return vars;
}

const VALID = {
  mse_destination: '+4930123456',
  mse_gateway: 'example_trunk',
  mse_caller_id_number: '+4940999000',
  mse_caller_id_name: 'Alice Example',
};

function routeOf(vars: Record<string, string>) {
  const result = engine.hunt(CONTEXT, vars);
  if (!result) throw new Error('no route');
  return result;
}

function expectRefused(vars: Record<string, string>, cause?: string): void {
  const result = routeOf(vars);
  expect(result.actions.some((a) => a.app === 'bridge')).toBe(false);
  expect(result.actions.map((a) => a.app)).toEqual(['hangup']);
  if (cause) expect(result.actions[0]?.data).toBe(cause);
  expect(result.apiCalls).toEqual([]);
}

describe('outbound template: valid calls', () => {
  it('bridges exactly sofia/gateway/<gw>/<number> with the edge caller ID', () => {
    const result = routeOf(vertoCall(VALID));
    const bridges = result.actions.filter((a) => a.app === 'bridge');
    expect(bridges.map((a) => a.data)).toEqual(['sofia/gateway/example_trunk/+4930123456']);
    const sets = result.actions.filter((a) => a.app === 'set').map((a) => a.data);
    expect(sets).toEqual(expect.arrayContaining([
      'effective_caller_id_number=+4940999000',
      'effective_caller_id_name=Alice Example',
      'origination_caller_id_number=+4940999000',
      'origination_caller_id_name=Alice Example',
      'hangup_after_bridge=true',
      'continue_on_fail=true',
      'call_timeout=60',
    ]));
    expect(result.variables['effective_caller_id_name']).toBe('Alice Example');
    expect(result.apiCalls).toEqual([]);
  });

  it('sets everything before the bridge and hangs up with the bridge cause after it', () => {
    const actions = routeOf(vertoCall(VALID)).actions;
    const apps = actions.map((a) => a.app);
    expect(apps.slice(-2)).toEqual(['bridge', 'hangup']);
    expect(apps.slice(0, -2).every((app) => app === 'set' || app === 'export')).toBe(true);
    // the only export: a media timeout (literal, from vars) on both legs
    expect(actions.filter((a) => a.app === 'export').map((a) => a.data)).toEqual(['media_timeout=60000']);
    const hangup = actions.at(-1);
    expect(hangup?.template).toBe('${originate_disposition}');
    expect(engine.expand(hangup?.template ?? '', { originate_disposition: 'NO_ANSWER' })).toBe('NO_ANSWER');
  });

  it('accepts E.164 without +, short extensions and a ring timeout', () => {
    const call = vertoCall({ ...VALID, mse_destination: '4930123', mse_gateway: 'gw-2', mse_call_timeout: '45' });
    const actions = routeOf(call).actions;
    expect(actions.find((a) => a.app === 'bridge')?.data).toBe('sofia/gateway/gw-2/4930123');
    expect(actions.map((a) => a.data)).toContain('call_timeout=45');
    const ext = routeOf(vertoCall({ ...VALID, mse_destination: '0800' })).actions;
    expect(ext.find((a) => a.app === 'bridge')?.data).toBe('sofia/gateway/example_trunk/0800');
  });

  it('ignores the Verto destination_number and caller ID: only the verto_dvar_ values count', () => {
    const call = vertoCall(VALID, { destination_number: '9999|sofia/gateway/other/1', caller_id_name: '${system(id)}' });
    const result = routeOf(call);
    expect(result.actions.find((a) => a.app === 'bridge')?.data).toBe('sofia/gateway/example_trunk/+4930123456');
    expect(result.apiCalls).toEqual([]);
  });
});

describe('outbound template: refusals', () => {
  const destinations = ['123 456', '+49301\n', '1234|sofia/gateway/other/999', '${system(rm -rf /)}', '1234,foo=bar',
    '', '+', '0049301234', '1', '+1234567890123456', '１２３', '12{a}', '1234:_:sofia/gateway/x/1'];
  it.each(destinations)('destination %j -> INVALID_NUMBER_FORMAT', (destination) => {
    expectRefused(vertoCall({ ...VALID, mse_destination: destination }), 'INVALID_NUMBER_FORMAT');
  });

  const gateways = ['../x', 'a}b', 'Example', 'a/b', 'gw,x', '', 'a'.repeat(33), 'gw\n', '${x}', 'gw b'];
  it.each(gateways)('gateway %j -> NO_ROUTE_DESTINATION', (gateway) => {
    expectRefused(vertoCall({ ...VALID, mse_gateway: gateway }), 'NO_ROUTE_DESTINATION');
  });

  const names = ['Alice $x', 'A{b}', "O'Brien", 'Alice\nBob', 'a,b', 'a|b', '${system(id)}', ' Alice', '',
    'Jürgen', 'x'.repeat(65), 'a=b', 'a/b', 'Alice\n'];
  it.each(names)('caller name %j -> CALL_REJECTED', (name) => {
    expectRefused(vertoCall({ ...VALID, mse_caller_id_name: name }), 'CALL_REJECTED');
  });

  const numbers = ['', '1', '+', 'abc', '123 4', '+49${x}', '12,3', '1234567890123456', '123\n'];
  it.each(numbers)('caller number %j -> CALL_REJECTED', (number) => {
    expectRefused(vertoCall({ ...VALID, mse_caller_id_number: number }), 'CALL_REJECTED');
  });

  it.each(['0', '1000', 'abc', '60s', '6\n', ' 60'])('call timeout %j -> CALL_REJECTED', (timeout) => {
    expectRefused(vertoCall({ ...VALID, mse_call_timeout: timeout }), 'CALL_REJECTED');
  });

  it.each(['mse_destination', 'mse_gateway', 'mse_caller_id_number', 'mse_caller_id_name'])('missing %s is refused', (key) => {
    const dvars: Record<string, string> = { ...VALID };
    delete dvars[key];
    expectRefused(vertoCall(dvars));
  });

  it('does not use variables set by anything but the edge verto.invite', () => {
    const foreign: Record<string, string> = { source: 'mod_verto', destination_number: '+4930123456' };
    for (const [k, v] of Object.entries(VALID)) {
      foreign[k] = v; // login userVariables / directory variables: no prefix
      foreign[`sip_h_X-${k}`] = v; // SIP headers
      foreign[`verto_svar_${k}`] = v;
    }
    expectRefused(foreign, 'INVALID_NUMBER_FORMAT');
  });

  it('refuses a call that is not from mod_verto even with valid variables', () => {
    expectRefused(vertoCall(VALID, { source: 'mod_sofia' }), 'CALL_REJECTED');
  });

  it('never runs an API from an injected value, whatever the field', () => {
    const evil = '${system(touch /tmp/pwned)}';
    for (const key of ['mse_destination', 'mse_gateway', 'mse_caller_id_number', 'mse_caller_id_name', 'mse_call_timeout']) {
      const result = routeOf(vertoCall({ ...VALID, [key]: evil }));
      expect(result.apiCalls).toEqual([]);
      expect(result.actions.some((a) => a.app === 'bridge')).toBe(false);
    }
  });
});

describe('outbound template: media-leg mode (mse_mode=park)', () => {
  it('pre-answers, plays the ringback tone, parks; dials nothing and reads no other variable', () => {
    const cases: Record<string, string>[] = [{ mse_mode: 'park' }, { ...VALID, mse_mode: 'park' }, { mse_mode: 'park', mse_destination: '${system(id)}' }];
    for (const dvars of cases) {
      const result = routeOf(vertoCall(dvars));
      expect(result.actions.map((a) => a.app)).toEqual(['set', 'set', 'pre_answer', 'playback', 'park']);
      expect(result.actions[0]?.data).toMatch(/^media_timeout=\d+$/);
      expect(result.actions[1]?.data).toBe('media_hold_timeout=1800000');
      expect(result.actions[3]?.data).toBe('tone_stream://%(2000,4000,440,480);loops=-1');
      expect(result.apiCalls).toEqual([]);
    }
  });

  it.each(['Park', 'park\n', ' park', 'bridge', 'parkx', '${system(id)}', 'park|bridge'])('mode %j -> CALL_REJECTED, nothing dialled', (mode) => {
    expectRefused(vertoCall({ ...VALID, mse_mode: mode }), 'CALL_REJECTED');
  });

  it('refuses mse_mode=park from anything but mod_verto', () => {
    expectRefused(vertoCall({ mse_mode: 'park' }, { source: 'mod_sofia' }), 'CALL_REJECTED');
  });

  it('leaves the bridge unchanged when no mode is given', () => {
    const result = routeOf(vertoCall(VALID));
    expect(result.actions.filter((a) => a.app === 'bridge').map((a) => a.data)).toEqual(['sofia/gateway/example_trunk/+4930123456']);
  });
});
