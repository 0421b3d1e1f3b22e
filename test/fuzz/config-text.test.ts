// parseConfigText (src/config/load.ts): YAML text to the validated
// config. Contract: an EdgeConfig, or a ConfigError listing its problems
// one per line, each naming a key (or a line) and what is wrong with it.
// Every secret comes from the environment here, so no generated *_file
// key is ever read.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { expect } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError } from '../../src/config/errors.ts';
import { parseConfigText, type EdgeConfig, type Environment } from '../../src/config/load.ts';
import { fuzzParser, thrownOnly } from './support/fuzz.ts';
import { anyText, mutatedText, mutatedValue, toJson } from './support/mutate.ts';

const ENV: Environment = {
  MSE_ESL_PASSWORD: 'esl-pw',
  MSE_VERTO_PASSWORD: 'verto-pw',
  MSE_MATRIX_ACCESS_TOKEN: 'token',
  MSE_MATRIX_PASSWORD: 'matrix-pw',
  MSE_DRACHTIO_SECRET: 'drachtio',
};

const MINIMAL = {
  verto: { url: 'ws://127.0.0.1:8081', login: 'edge@127.0.0.1' },
  matrix: { homeserver_url: 'http://127.0.0.1:8008', user_id: '@edge:example.org' },
};

const RICH = {
  ...MINIMAL,
  esl: { host: '127.0.0.1', port: 8021, reconnect: { initial_delay_ms: 250, max_delay_ms: 15_000 } },
  routing: { default_country: 'DE', extension_pattern: '^\\d{3,4}$', default_gateway: 'trunk', routes: [{ match: '^\\+49', gateway: 'de' }] },
  policy: { allowed_users: ['@alice:example.org'], allow_destinations: ['^\\+49'], min_power_level: 50, rate_limit: { calls: 5, window_s: 60 } },
  caller_id: { default_number: '+4930123456', per_user: { '@alice:example.org': '+4930999' }, per_room: { '!r:example.org': '+4930888' } },
  inbound: { routes: [{ did: '+4930123456', room: '!r:example.org' }, { did: '/^\\+4940/', user: '@bob:example.org', dtmf_notices: true }] },
  sip: { admission: 'drachtio', trunks: [{ name: 'carrier', sources: ['203.0.113.0/24', '2001:db8::1'], busy_status: 486 }], scanners: { action: 'reject' } },
  log: { level: 'debug' },
};

const EXAMPLE = readFileSync(new URL('../../config.example.yaml', import.meta.url), 'utf8');

/** YAML of a generated value; JSON (which is YAML) when the YAML writer refuses it. */
function yamlOf(value: unknown): string {
  try {
    return stringify(value);
  } catch {
    return toJson(value);
  }
}

/** Fragments that exercise the YAML reader rather than the schema. */
const yamlFragment = fc.constantFrom(
  '&a ', '*a', '<<: *a\n', '!!binary ', '!!set ', '!!omap ', '!!timestamp ', '!foo ', '? [a, b]\n: 1\n', '---\n', '...\n', '%YAML 1.2\n---\n',
  '\t', '  ', '- ', ': ', '#', '"', "'", '|\n', '>-\n', '{', '[', '~', 'null', 'yes', '0x1F', '.inf', '1e999', '__proto__: {}\n',
  `x: &x [${'1,'.repeat(60)}1]\ny: [${'*x,'.repeat(60)}*x]\n`, `${'['.repeat(300)}${']'.repeat(300)}`,
);

function insertAt(text: string, at: number, fragment: string): string {
  const i = at % (text.length + 1);
  return text.slice(0, i) + fragment + text.slice(i);
}

const seedDoc = fc.oneof({ weight: 2, arbitrary: fc.constant<unknown>(MINIMAL) }, { weight: 1, arbitrary: fc.constant<unknown>(RICH) });
const docs = fc.oneof(seedDoc, mutatedValue(seedDoc, 4)).map(yamlOf);
/** The seeds' YAML, written once. */
const seedText = fc.constantFrom(yamlOf(MINIMAL), yamlOf(MINIMAL), yamlOf(RICH));

/** The config written back as YAML, its secrets left to the environment. */
function writtenBack(config: EdgeConfig): string {
  const raw = JSON.parse(JSON.stringify(config)) as Record<string, Record<string, unknown>>;
  delete raw['esl']?.['password'];
  delete raw['verto']?.['password'];
  delete raw['matrix']?.['accessToken'];
  delete raw['matrix']?.['password'];
  const drachtio = raw['sip']?.['drachtio'] as Record<string, unknown> | undefined;
  delete drachtio?.['secret'];
  return stringify(raw);
}

fuzzParser('config parseConfigText', (fuzz) => {
  function check(text: string): EdgeConfig | undefined {
    const out = thrownOnly(() => parseConfigText(text, ENV), ConfigError);
    if (!out.ok) {
      // One problem per line, each naming its key (or line) and what is wrong.
      const problems = (out.error as ConfigError).problems;
      const named = problems.every((p) => p.path.trim() !== '' && p.message.trim() !== '' && !/[\r\n]/.test(p.path + p.message));
      expect(problems.length > 0 && named && out.error.message.split('\n').length === problems.length, JSON.stringify(problems)).toBe(true);
      fuzz.hit(problems.some((p) => p.message.startsWith('invalid YAML')) ? 'invalid YAML' : 'schema refused');
      return undefined;
    }
    fuzz.hit('accepted');
    return out.value;
  }

  fuzz.property('random text', fc.property(fc.oneof(anyText, fc.string({ unit: 'binary', maxLength: 300 })), (t) => void check(t)), 3_000);
  fuzz.property('valid configs, values mutated', fc.property(docs, (t) => void check(t)), 3_000);
  fuzz.property('valid configs, text mutated', fc.property(mutatedText(seedText, 3), (t) => void check(t)), 2_000);
  fuzz.property(
    'valid configs with YAML constructs spliced in (anchors, aliases, tags, merge keys, nesting)',
    fc.property(seedText, fc.array(fc.tuple(fc.nat(), yamlFragment), { minLength: 1, maxLength: 3 }), (t, inserts) => void check(inserts.reduce((s, [at, f]) => insertAt(s, at, f), t))),
    1_200,
  );
  fuzz.property('config.example.yaml, text mutated', fc.property(mutatedText(fc.constant(EXAMPLE), 3), (t) => void check(t)), 200);
  fuzz.property(
    'an accepted config, written back with its defaults, is accepted unchanged',
    fc.property(docs, (t) => {
      const config = check(t);
      if (config === undefined) return;
      const again = check(writtenBack(config));
      expect(JSON.stringify(again)).toBe(JSON.stringify(config));
    }),
    600,
  );

  fuzz.expectReached(200, 'accepted', 'schema refused', 'invalid YAML');
});
