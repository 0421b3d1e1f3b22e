// compose.admission.yaml: drachtio-server beside FreeSWITCH and the edge, its
// admin port on loopback, the secret as a compose secret the edge reads with
// MSE_DRACHTIO_SECRET_FILE, and FreeSWITCH's SIP ports no longer published.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { publishing } from '../support/compose-ports.ts';

type Json = Record<string, unknown>;
const text = readFileSync('compose.admission.yaml', 'utf8');
// `!override` replaces the base file's list (Compose >= 2.24.4); the content is a plain list
const doc = parse(text.replace(/ !override\b/g, '')) as Json;
const services = doc['services'] as Record<string, Json>;

describe('compose.admission.yaml', () => {
  it('adds drachtio-server in FreeSWITCH\'s network namespace, admin port on loopback, secret from a file', () => {
    const d = services['drachtio'] as Json;
    expect(d['network_mode']).toBe('service:freeswitch');
    expect(d['secrets']).toEqual(['drachtio_secret']);
    const entry = (d['entrypoint'] as string[]).join(' ');
    expect(entry).toContain('DRACHTIO_SECRET="$$(cat /run/secrets/drachtio_secret)"');
    expect(entry).toContain('--address 127.0.0.1 --port 9022');
    expect(entry).not.toMatch(/--secret/);
    expect((doc['secrets'] as Json)['drachtio_secret']).toEqual({ file: './secrets/drachtio_secret' });
  });

  it('gives the edge the secret file and publishes only drachtio\'s SIP port, RTP and loopback metrics', () => {
    const edge = services['edge'] as Json;
    expect(edge['environment']).toEqual({ MSE_DRACHTIO_SECRET_FILE: '/run/secrets/drachtio_secret' });
    expect(edge['secrets']).toEqual(['drachtio_secret']);
    expect(text).toMatch(/ports: !override\n/);
    const ports = (services['freeswitch'] as Json)['ports'] as string[];
    expect(ports).toEqual(['5060:5070/udp', '5060:5070/tcp', '16384-16583:16384-16583/udp', '127.0.0.1:9464:9464/tcp']);
    expect(ports.some((p) => p.includes('5080'))).toBe(false);
    // 5060 on the host is drachtio-server's 5070; FreeSWITCH's internal profile (5060/5061 inside) stays unpublished
    for (const [name, s] of Object.entries(services)) expect(publishing(s['ports'], [5060, 5061]), name).toEqual([]);
  });
});
