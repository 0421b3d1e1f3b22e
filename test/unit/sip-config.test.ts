// The sip section of the config: defaults, the secret from file or
// environment (never printed), and errors that name the key.
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError } from '../../src/config/errors.ts';
import { parseConfigText, type Environment } from '../../src/config/load.ts';

function doc(sip: unknown): string {
  return stringify({
    esl: { password: 'x' },
    verto: { url: 'ws://127.0.0.1:1', login: 'edge@127.0.0.1', password: 'y' },
    matrix: { homeserver_url: 'http://127.0.0.1:1', user_id: '@edge:example.org', access_token: 't' },
    ...(sip === undefined ? {} : { sip }),
  });
}

function problems(sip: unknown, env: Environment = {}): string[] {
  try {
    parseConfigText(doc(sip), env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message.split('\n');
  }
  throw new Error('accepted');
}

const TRUNKS = [{ name: 'carrier', sources: ['198.51.100.0/24'] }];

describe('sip config', () => {
  it('is off by default, with drachtio defaults filled in', () => {
    const c = parseConfigText(doc(undefined), {});
    expect(c.sip.admission).toBe('off');
    expect(c.sip.drachtio.port).toBe(9022);
    expect(c.sip.drachtio.secret).toBeUndefined();
    expect(c.sip.scanners.action).toBe('drop');
    expect(c.sip.scanners.user_agents).toContain('friendly-scanner');
    expect(c.sip.freeswitch).toEqual({ host: '127.0.0.1', port: 5080, transport: 'udp' });
  });

  it('config.example.yaml documents exactly the defaults of the sip section', () => {
    const example = parseConfigText(readFileSync('config.example.yaml', 'utf8'), {});
    expect(example.sip).toEqual(parseConfigText(doc(undefined), {}).sip);
  });

  it('takes the secret from MSE_DRACHTIO_SECRET and never prints it', () => {
    const c = parseConfigText(doc({ admission: 'drachtio', trunks: TRUNKS }), { MSE_DRACHTIO_SECRET: 'env-secret-123' });
    expect(c.sip.drachtio.secret?.reveal()).toBe('env-secret-123');
    expect(inspect(c)).not.toContain('env-secret-123');
    expect(JSON.stringify(c)).not.toContain('env-secret-123');
  });

  it.each([
    [{ admission: 'drachtio', trunks: TRUNKS }, 'sip.drachtio.secret: is required when sip.admission is drachtio'],
    [{ admission: 'drachtio', drachtio: { secret: 's' } }, 'sip.trunks: must list at least one trunk'],
    [{ admission: 'yes' }, 'sip.admission: must be "off" or "drachtio"'],
    [{ drachtio: { port: 99999 } }, 'sip.drachtio.port: must be a port number'],
    [{ drachtio: { secret: 's', secret_file: '/tmp/x' } }, 'sip.drachtio.secret: give either'],
    [{ trunks: [{ name: 'Carrier', sources: ['198.51.100.1'] }] }, 'sip.trunks[0].name: must be 1-32 lower-case'],
    [{ trunks: [{ name: 'c', sources: ['198.51.100.0/33'] }] }, 'sip.trunks[0].sources[0]: must be an IP address or CIDR block'],
    [{ trunks: [{ name: 'c', sources: ['example.com'] }] }, 'sip.trunks[0].sources[0]: must be an IP address or CIDR block'],
    [{ trunks: [{ name: 'c', sources: [] }] }, 'sip.trunks[0].sources: must list at least one address'],
    [{ trunks: [{ name: 'c', sources: ['198.51.100.1'], busy_status: 480 }] }, 'sip.trunks[0].busy_status: must be 486 or 503'],
    [{ scanners: { action: 'ignore' } }, 'sip.scanners.action: must be "drop" or "reject"'],
    [{ rate_limit: { calls: 0 } }, 'sip.rate_limit.calls: must be at least 1'],
    [{ freeswitch: { transport: 'tls' } }, 'sip.freeswitch.transport: must be "udp" or "tcp"'],
    [{ drachtio: { scret: 's' } }, 'sip.drachtio.scret: is not a known key'],
  ])('%j is refused naming the key', (sip, message) => {
    expect(problems(sip).join('\n')).toContain(message);
  });
});
