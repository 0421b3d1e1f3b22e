// The FreeSWITCH configuration shipped in freeswitch/, loaded the way an
// operator installs it (vars-matrix-sip-edge.xml included after vanilla's
// domain / local_ip_v4), for tests and the simulator.

import { readFileSync } from 'node:fs';
import { loadDialplanEngine, type DialplanApi, type XmlDialplanEngine } from './dialplan.ts';
import { preprocessXml, type UnsetReference } from './xml-preprocess.ts';
import { parseXml, type XmlElement } from './xml-lite.ts';

const ROOT = new URL('../../../freeswitch/', import.meta.url);

export const SHIPPED_FILES = {
  vars: 'vars-matrix-sip-edge.xml',
  outbound: 'dialplan/matrix-sip-edge.xml',
  inbound: 'dialplan/public-matrix-sip-edge.xml',
  directory: 'directory/matrix-sip-edge.xml',
  verto: 'autoload_configs/verto.conf.xml',
  eventSocket: 'autoload_configs/event_socket.conf.xml',
  trunk: 'sip_profiles/external/example-trunk.xml',
} as const;

export interface ShippedConfigOptions {
  /** Vanilla globals the shipped vars build on; defaults: domain and local_ip_v4 = 127.0.0.1. */
  readonly globals?: Readonly<Record<string, string>>;
  /** Environment of the FreeSWITCH process, for env-set; defaults to test passwords. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Collects every `$${name}` that had no value (FreeSWITCH expands it to
   * ''). Without it such a reference is an error, so a typo fails the test.
   */
  readonly unset?: UnsetReference[];
  /** Overrides of the shipped pre-processor variables (applied after vars-matrix-sip-edge.xml). */
  readonly overrides?: Readonly<Record<string, string>>;
  readonly apis?: Readonly<Record<string, DialplanApi>>;
}

export const TEST_ENV = { MSE_ESL_PASSWORD: 'test-esl-secret', MSE_VERTO_PASSWORD: 'test-verto-secret' } as const;

const read = (file: string): string => readFileSync(new URL(file, ROOT), 'utf8');

function overridesXml(overrides: Readonly<Record<string, string>>): string {
  const lines = Object.entries(overrides).map(([k, v]) => `<X-PRE-PROCESS cmd="set" data="${k}=${v}"/>`);
  return `<include>${lines.join('')}</include>`;
}

/** The shipped outbound and inbound dialplan contexts. */
export function loadShippedDialplan(options: ShippedConfigOptions = {}): XmlDialplanEngine {
  const files = [SHIPPED_FILES.vars, SHIPPED_FILES.outbound, SHIPPED_FILES.inbound];
  return loadDialplanEngine([read(files[0] ?? ''), overridesXml(options.overrides ?? {}), ...files.slice(1).map(read)], {
    globals: options.globals ?? { domain: '127.0.0.1', local_ip_v4: '127.0.0.1' },
    env: options.env ?? TEST_ENV,
    apis: options.apis ?? {},
    sourceNames: [files[0] ?? '', 'overrides', ...files.slice(1)],
  });
}

/** Any shipped file, pre-processed with the shipped vars and parsed. */
export function loadShippedXml(file: string, options: ShippedConfigOptions = {}): XmlElement {
  const globals = new Map(Object.entries(options.globals ?? { domain: '127.0.0.1', local_ip_v4: '127.0.0.1' }));
  const env = options.env ?? TEST_ENV;
  preprocessXml(read(SHIPPED_FILES.vars), globals, SHIPPED_FILES.vars, env, options.unset);
  preprocessXml(overridesXml(options.overrides ?? {}), globals, 'overrides', env, options.unset);
  return parseXml(preprocessXml(read(file), globals, file, env, options.unset), file);
}

/** The global (pre-processor) variables after the shipped vars-matrix-sip-edge.xml ran. */
export function shippedGlobals(options: ShippedConfigOptions = {}): ReadonlyMap<string, string> {
  const globals = new Map(Object.entries(options.globals ?? { domain: '127.0.0.1', local_ip_v4: '127.0.0.1' }));
  preprocessXml(read(SHIPPED_FILES.vars), globals, SHIPPED_FILES.vars, options.env ?? TEST_ENV, options.unset);
  return globals;
}
