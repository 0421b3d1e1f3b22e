// The shipped FreeSWITCH files fail closed on missing secrets: loaded
// through the simulator's pre-processor (FreeSWITCH's semantics for set,
// env-set and $${}) and judged the way mod_event_socket's config() and
// parse_command() and mod_verto's check_auth() would. The guard's line
// feed comes from the character reference &#10;: FreeSWITCH decodes every
// quoted attribute value (switch_xml.c:1150, switch_xml_decode with ' ';
// a decoded character is kept, only literal white space becomes ' '), and
// so does the simulator's XML parser (xml-lite.ts).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadShippedXml, SHIPPED_FILES, shippedGlobals } from '../support/freeswitch/shipped-config.ts';
import { preprocessXml, type UnsetReference } from '../support/freeswitch/xml-preprocess.ts';
import { acceptsAuth, DEFAULT_ESL_PASSWORD, eventSocketPrefs, type EventSocketPrefs } from '../support/freeswitch/event-socket-config.ts';
import { parseXml } from '../support/freeswitch/xml-lite.ts';
import { VertoDirectory } from '../support/freeswitch/verto-directory.ts';
import { CODE_AUTH_FAILED } from '../support/freeswitch/verto-rpc.ts';
import { shippedEdgeUser } from '../support/sim-stack.ts';

const SECRET = 'b3c9e1f04a7d2e8c5b6a9f0d1e2c3b4a5f6e7d8c9b0a1f2e';
const VERTO_SECRET = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';

function eslPrefs(env: Readonly<Record<string, string | undefined>>, unset: UnsetReference[] = []): EventSocketPrefs {
  return eventSocketPrefs(loadShippedXml(SHIPPED_FILES.eventSocket, { env, unset }));
}

/** Lines a client could send to log in: the usual guesses, and the guard's own text. */
const GUESSES = [
  `auth ${DEFAULT_ESL_PASSWORD}`,
  'auth ',
  'auth',
  'auth MSE_ESL_PASSWORD-is-not-set',
  'auth \nMSE_ESL_PASSWORD-is-not-set',
  'auth \r\nMSE_ESL_PASSWORD-is-not-set',
  'auth \rMSE_ESL_PASSWORD-is-not-set',
  'auth &#10;MSE_ESL_PASSWORD-is-not-set',
  `auth ${SECRET}`,
];

describe('pre-processor semantics the guard relies on (switch_xml.c)', () => {
  const run = (text: string, globals: Map<string, string>, env: Record<string, string | undefined> = {}, unset: UnsetReference[] = []) =>
    preprocessXml(`<include>${text}</include>`, globals, 't.xml', env, unset);

  it('env-set of a variable missing from the environment sets nothing and keeps an earlier value', () => {
    const g = new Map([['a', 'before']]);
    run('<X-PRE-PROCESS cmd="env-set" data="a=$NOPE"/><X-PRE-PROCESS cmd="env-set" data="b=$NOPE"/>', g);
    expect([...g]).toEqual([['a', 'before']]);
  });

  it('env-set of an empty variable and set with an empty value delete the variable', () => {
    const g = new Map([['a', 'before'], ['b', 'before']]);
    run('<X-PRE-PROCESS cmd="env-set" data="a=$EMPTY"/><X-PRE-PROCESS cmd="set" data="b="/>', g, { EMPTY: '' });
    expect([...g]).toEqual([]);
  });

  it('$${} of a variable without value expands to "" (collected), and is expanded in the name part of a set', () => {
    const g = new Map<string, string>();
    const unset: UnsetReference[] = [];
    const out = run('<x v="[$${nope}]"/><X-PRE-PROCESS cmd="set" data="n$${nope}=1"/><X-PRE-PROCESS cmd="set" data="p=x"/><X-PRE-PROCESS cmd="set" data="n$${p}=2"/>', g, {}, unset);
    expect(out).toBe('<include><x v="[]"/></include>');
    expect([...g]).toEqual([['n', '1'], ['p', 'x'], ['nx', '2']]);
    expect(unset.map((u) => u.name)).toEqual(['nope', 'nope']);
    expect(() => preprocessXml('<x v="$${nope}"/>', new Map(), 't.xml')).toThrow(/\$\$\{nope\} has no value/);
  });

  it('without the guard, a missing MSE_ESL_PASSWORD gives the event socket ClueCon (the issue this fixes)', () => {
    const g = new Map<string, string>();
    run('<X-PRE-PROCESS cmd="env-set" data="mse_esl_password=$MSE_ESL_PASSWORD"/>', g);
    const conf = parseXml(preprocessXml('<configuration><settings><param name="password" value="$${mse_esl_password}"/></settings></configuration>', g, 'es.xml', {}, []));
    const prefs = eventSocketPrefs(conf);
    expect(prefs.password).toBe(DEFAULT_ESL_PASSWORD);
    expect(acceptsAuth(prefs, `auth ${DEFAULT_ESL_PASSWORD}`)).toBe(true);
  });
});

describe('event socket, FreeSWITCH started without MSE_ESL_PASSWORD', () => {
  for (const [label, env] of [
    ['missing', { MSE_VERTO_PASSWORD: VERTO_SECRET }],
    ['empty', { MSE_ESL_PASSWORD: '', MSE_VERTO_PASSWORD: VERTO_SECRET }],
  ] as const) {
    it(`${label}: the effective password is neither ClueCon nor empty, and no login line can match it`, () => {
      const unset: UnsetReference[] = [];
      const prefs = eslPrefs(env, unset);
      expect(prefs.password).not.toBe(DEFAULT_ESL_PASSWORD);
      expect(prefs.password).not.toBe('');
      // A line feed: a client's password is cut at the first CR or LF, so no command line equals it.
      expect(prefs.password).toBe('\nMSE_ESL_PASSWORD-is-not-set');
      for (const line of GUESSES) expect(acceptsAuth(prefs, line), line).toBe(false);
      expect(acceptsAuth(prefs, `auth ${prefs.password}`)).toBe(false);
      // Still loopback only, still the ACL.
      expect(prefs).toMatchObject({ listenIp: '127.0.0.1', listenPort: 8021, acl: ['loopback.auto'] });
      // The guard is the only place that read the missing variable.
      const guardLine = loadShippedVarsText().split('\n').findIndex((l) => l.includes('data="mse_esl_password$${mse_esl_password}=&#10;')) + 1;
      expect(guardLine).toBeGreaterThan(0);
      expect(unset).toEqual([{ name: 'mse_esl_password', where: `${SHIPPED_FILES.vars}:${guardLine}` }]);
    });
  }

  it('stays closed when the configuration is loaded again (reloadxml keeps the globals, the environment is the same)', () => {
    const globals = new Map([['domain', '127.0.0.1'], ['local_ip_v4', '127.0.0.1']]);
    const vars = loadShippedVarsText();
    for (let i = 0; i < 2; i++) preprocessXml(vars, globals, SHIPPED_FILES.vars, {}, []);
    expect(globals.get('mse_esl_password')).toBe('&#10;MSE_ESL_PASSWORD-is-not-set');
    expect([...globals.keys()].filter((k) => k.startsWith('mse_esl_password'))).toEqual(['mse_esl_password']);
  });
});

describe('event socket, MSE_ESL_PASSWORD set', () => {
  it('the password is the environment value; ClueCon and the guard text are refused', () => {
    const prefs = eslPrefs({ MSE_ESL_PASSWORD: SECRET, MSE_VERTO_PASSWORD: VERTO_SECRET });
    expect(prefs.password).toBe(SECRET);
    expect(acceptsAuth(prefs, `auth ${SECRET}`)).toBe(true);
    expect(acceptsAuth(prefs, `auth ${SECRET}\r`)).toBe(true); // strip_cr, as mod_event_socket
    expect(acceptsAuth(prefs, `auth ${DEFAULT_ESL_PASSWORD}`)).toBe(false);
    expect(acceptsAuth(prefs, 'auth MSE_ESL_PASSWORD-is-not-set')).toBe(false);
  });

  it('leaves no throw-away variable behind: no global name holds the secret', () => {
    for (let loads = 1; loads <= 2; loads++) {
      const globals = new Map([['domain', '127.0.0.1'], ['local_ip_v4', '127.0.0.1']]);
      for (let i = 0; i < loads; i++) preprocessXml(loadShippedVarsText(), globals, SHIPPED_FILES.vars, { MSE_ESL_PASSWORD: SECRET, MSE_VERTO_PASSWORD: VERTO_SECRET });
      expect(globals.get('mse_esl_password')).toBe(SECRET);
      expect([...globals.keys()].filter((k) => k.includes(SECRET) || k.includes('MSE_ESL'))).toEqual([]);
    }
    expect(shippedGlobals({ env: { MSE_ESL_PASSWORD: SECRET, MSE_VERTO_PASSWORD: VERTO_SECRET } }).get('mse_esl_password')).toBe(SECRET);
  });
});

describe('Verto without MSE_VERTO_PASSWORD: already closed (mod_verto check_auth)', () => {
  it('the edge user keeps an empty password, and every login is refused', () => {
    const unset: UnsetReference[] = [];
    const user = shippedEdgeUser({ env: { MSE_ESL_PASSWORD: SECRET } });
    loadShippedXml(SHIPPED_FILES.directory, { env: { MSE_ESL_PASSWORD: SECRET }, unset });
    expect(unset.map((u) => u.name)).toEqual(['mse_verto_password']);
    expect(user.params['password']).toBe('');
    const directory = new VertoDirectory([user], { userauth: true, forceRegisterDomain: user.domain });
    for (const passwd of ['x', DEFAULT_ESL_PASSWORD, '\nMSE_ESL_PASSWORD-is-not-set', ' ']) {
      expect(directory.checkAuth({ login: `edge@${user.domain}`, passwd })).toEqual({ ok: false, code: CODE_AUTH_FAILED, message: 'Authentication Failure' });
    }
    expect(directory.checkAuth({ login: `edge@${user.domain}`, passwd: '' })).toEqual({ ok: false, code: CODE_AUTH_FAILED, message: 'Missing passwd' });
  });

  it('with MSE_VERTO_PASSWORD set, that value logs in', () => {
    const user = shippedEdgeUser({ env: { MSE_ESL_PASSWORD: SECRET, MSE_VERTO_PASSWORD: VERTO_SECRET } });
    const directory = new VertoDirectory([user], { userauth: true, forceRegisterDomain: user.domain });
    expect(directory.checkAuth({ login: `edge@${user.domain}`, passwd: VERTO_SECRET })).toMatchObject({ ok: true });
  });
});

function loadShippedVarsText(): string {
  return readFileSync(new URL('../../freeswitch/vars-matrix-sip-edge.xml', import.meta.url), 'utf8');
}
