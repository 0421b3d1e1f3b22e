import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError } from '../../src/config/errors.ts';
import { parseConfigText, type Environment } from '../../src/config/load.ts';

const NO_ENV: Environment = {};

function base(): Record<string, any> {
  return {
    esl: { host: '127.0.0.1', port: 8021, password: 'esl-pw' },
    verto: { url: 'ws://127.0.0.1:8081', login: 'edge@127.0.0.1', password: 'verto-pw' },
    matrix: { homeserver_url: 'http://127.0.0.1:8008', user_id: '@edge:example.org', access_token: 'tok' },
  };
}

function problems(text: string, env: Environment = NO_ENV): string[] {
  try {
    parseConfigText(text, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message.split('\n');
  }
  throw new Error('config was accepted');
}

function mutate(fn: (c: Record<string, any>) => void): string {
  const c = base();
  fn(c);
  return stringify(c);
}

describe('config', () => {
  it('accepts the example file and fills defaults', () => {
    const config = parseConfigText(readFileSync('config.example.yaml', 'utf8'), NO_ENV);
    expect(config.esl.port).toBe(8021);
    expect(config.verto.reconnect.max_delay_ms).toBe(15000);
    expect(config.log.level).toBe('info');
  });

  it('documents the defaults of calls.drain_s and state.dir in the example', () => {
    const example = parseConfigText(readFileSync('config.example.yaml', 'utf8'), NO_ENV, '/etc/mse');
    const defaults = parseConfigText(stringify(base()), NO_ENV, '/etc/mse');
    expect(example.calls.drain_s).toBe(defaults.calls.drain_s);
    expect(example.state).toEqual(defaults.state);
  });

  it('takes a relative state.dir from the config file\'s directory; MSE_STATE_DIR overrides it', () => {
    expect(parseConfigText(stringify(base()), NO_ENV, '/etc/mse').state.dir).toBe('/etc/mse/state');
    expect(parseConfigText(mutate((c) => (c.state = { dir: '/var/lib/x' })), NO_ENV, '/etc/mse').state.dir).toBe('/var/lib/x');
    expect(parseConfigText(stringify(base()), { MSE_STATE_DIR: '/var/lib/matrix-sip-edge' }, '/etc/mse').state.dir).toBe('/var/lib/matrix-sip-edge');
    expect(parseConfigText(stringify(base()), { MSE_STATE_DIR: 'rel' }, '/etc/mse').state.dir).toBe('/etc/mse/rel');
  });

  it('calls.recovery_hold_music: local_stream://moh by default, "" for silence; anything ESL could split or expand is refused, naming the field', () => {
    expect(parseConfigText(stringify(base()), NO_ENV).calls.recovery_hold_music).toBe('local_stream://moh');
    expect(parseConfigText(mutate((c) => (c.calls = { recovery_hold_music: '' })), NO_ENV).calls.recovery_hold_music).toBe('');
    expect(parseConfigText(mutate((c) => (c.calls = { recovery_hold_music: '/srv/moh/hold.wav' })), NO_ENV).calls.recovery_hold_music).toBe('/srv/moh/hold.wav');
    for (const bad of ['local_stream://moh aleg', '${hold_music}', 'playback::x', 'hold.wav']) {
      expect(problems(mutate((c) => (c.calls = { recovery_hold_music: bad }))).join('\n')).toMatch(/calls\.recovery_hold_music/);
    }
  });

  it('accepts a minimal file with defaults', () => {
    const config = parseConfigText(stringify(base()), NO_ENV);
    expect(config.esl.request_timeout_ms).toBe(5000);
    expect(config.matrix.mode).toBe('bot');
  });

  // Each malformed config is refused, and the message names the key.
  const cases: Array<[string, string, string]> = [
    ['verto url not ws', mutate((c) => (c.verto.url = 'http://127.0.0.1:8081')), 'verto.url: must be a ws:// or wss:// URL'],
    ['verto url garbage', mutate((c) => (c.verto.url = 'not a url')), 'verto.url:'],
    ['verto url with credentials', mutate((c) => (c.verto.url = 'ws://u:p@127.0.0.1:8081')), 'verto.url:'],
    ['esl port too big', mutate((c) => (c.esl.port = 70000)), 'esl.port: must be a port number'],
    ['esl port a string', mutate((c) => (c.esl.port = 'eight')), 'esl.port: must be a port number'],
    ['esl port fractional', mutate((c) => (c.esl.port = 80.5)), 'esl.port:'],
    ['esl host with a space', mutate((c) => (c.esl.host = 'bad host')), 'esl.host:'],
    ['drain_s negative', mutate((c) => (c.calls = { drain_s: -1 })), 'calls.drain_s: must be at least 0'],
    ['state.dir with a newline', mutate((c) => (c.state = { dir: 'a\nb' })), 'state.dir: must be a directory path'],
    ['unknown top-level key', mutate((c) => (c.eslx = {})), 'eslx: is not a known key'],
    ['unknown nested key', mutate((c) => (c.esl.passwd = 'x')), 'esl.passwd: is not a known key'],
    ['missing verto section', mutate((c) => delete c.verto), 'verto: is required'],
    ['missing matrix url', mutate((c) => delete c.matrix.homeserver_url), 'matrix.homeserver_url: is required'],
    ['matrix url ftp', mutate((c) => (c.matrix.homeserver_url = 'ftp://x')), 'matrix.homeserver_url: must be an http:// or https:// URL'],
    ['bad user id', mutate((c) => (c.matrix.user_id = 'edge')), 'matrix.user_id: must be a Matrix user ID'],
    ['no esl password anywhere', mutate((c) => delete c.esl.password), 'esl.password: is required'],
    ['no verto password anywhere', mutate((c) => delete c.verto.password), 'verto.password: is required'],
    ['no matrix token or password', mutate((c) => delete c.matrix.access_token), 'matrix.access_token: is required'],
    ['both password and password_file', mutate((c) => (c.esl.password_file = '/tmp/x')), 'esl.password: give either'],
    ['password file missing', mutate((c) => { delete c.esl.password; c.esl.password_file = '/nonexistent/esl'; }), 'esl.password_file: cannot read'],
    ['empty password', mutate((c) => (c.verto.password = '')), 'verto.password: must not be empty'],
    ['timeout too small', mutate((c) => (c.esl.request_timeout_ms = 5)), 'esl.request_timeout_ms: must be at least 100 ms'],
    ['reconnect inverted', mutate((c) => (c.esl.reconnect = { initial_delay_ms: 5000, max_delay_ms: 1000 })), 'esl.reconnect.max_delay_ms:'],
    ['bad log level', mutate((c) => (c.log = { level: 'loud' })), 'log.level: must be one of'],
    ['bad verto login', mutate((c) => (c.verto.login = 'edge')), 'verto.login: must be a Verto login'],
    ['bad mode', mutate((c) => (c.matrix.mode = 'appservice-x')), 'matrix.mode:'],
    ['tls_insecure not boolean', mutate((c) => (c.verto.tls_insecure = 'yes')), 'verto.tls_insecure: must be true or false'],
    ['YAML syntax error', 'esl:\n  host: [unclosed\n', '(line'],
    ['empty file', '', '(top level): the config file is empty'],
    ['a list instead of a mapping', '- a\n- b\n', '(top level)'],
    ['inbound route with neither room nor user', mutate((c) => (c.inbound = { routes: [{ did: '+4930123456' }] })), 'inbound.routes[0].room: give either room or user'],
    ['inbound route with a bad did', mutate((c) => (c.inbound = { routes: [{ did: '030 123', room: '!r:x' }] })), 'inbound.routes[0].did: must be an E.164 number'],
    ['duplicate key', 'esl:\n  port: 1\n  port: 2\n', 'invalid YAML'],
    // Found by test/fuzz/config-text.test.ts: these two escaped as the yaml library's ReferenceError.
    ['alias without its anchor', 'esl: *nowhere\n', '(file): invalid YAML: Unresolved alias'],
    ['alias bomb', `a: &a [1, 2]\nb: [${Array(60).fill('*a').join(', ')}]\n`, '(file): invalid YAML: Excessive alias count'],
  ];

  // Found by test/fuzz/config-text.test.ts: a key or a YAML token holding a line break split one problem over two lines.
  it.each([
    ['a key with a line break', '"a\\nb": 1\n', '"a\\nb": is not a known key'],
    ['a blank key', '" ": 1\n', '" ": is not a known key'],
    ['a CR where YAML expects a token', '|\r', 'invalid YAML: Not a YAML token: \\u000d'],
  ])('names %s on one line', (_name, text, expected) => {
    let message = '';
    try {
      parseConfigText(text, NO_ENV);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as ConfigError).message;
      expect(message.split('\n')).toHaveLength((err as ConfigError).problems.length);
    }
    expect(message).toContain(expected);
  });

  it.each(cases)('refuses %s', (_name, text, expected) => {
    const lines = problems(text);
    expect(lines.some((l) => l.startsWith(expected) || l.includes(expected))).toBe(true);
  });

  it('has at least 15 malformed cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
  });

  it('takes secrets from the environment, over the file', () => {
    const text = mutate((c) => {
      delete c.esl.password;
      c.verto.password = 'file-value';
    });
    const config = parseConfigText(text, { MSE_ESL_PASSWORD: 'from-env', MSE_VERTO_PASSWORD: 'env-wins' });
    expect(config.esl.password.reveal()).toBe('from-env');
    expect(config.verto.password.reveal()).toBe('env-wins');
  });

  it('takes secrets from *_FILE environment variables and from *_file keys', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mse-config-'));
    writeFileSync(join(dir, 'esl'), 'esl-from-file\n');
    writeFileSync(join(dir, 'tok'), 'token-from-file');
    const text = mutate((c) => {
      delete c.esl.password;
      delete c.matrix.access_token;
      c.matrix.access_token_file = join(dir, 'tok');
    });
    const config = parseConfigText(text, { MSE_ESL_PASSWORD_FILE: join(dir, 'esl') });
    expect(config.esl.password.reveal()).toBe('esl-from-file');
    expect(config.matrix.accessToken?.reveal()).toBe('token-from-file');
  });

  it('never shows a secret when the config is printed or serialised', () => {
    const config = parseConfigText(stringify(base()), NO_ENV);
    const printed = `${inspect(config, { depth: 10 })}${JSON.stringify(config)}${String(config.esl.password)}`;
    for (const secret of ['esl-pw', 'verto-pw', 'tok']) expect(printed).not.toContain(secret);
  });

  it('does not echo a secret in an error message', () => {
    const lines = problems(mutate((c) => (c.esl.password = 12345678)));
    expect(lines.join('\n')).not.toContain('12345678');
  });
});
