// Loads the shared captures (../shared/traces relative to the repository root).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const TRACES_DIR = process.env['MATRIX_SIP_EDGE_TRACES'] ?? join(repoRoot, '../shared/traces');

export function traceText(relative: string): string {
  return readFileSync(join(TRACES_DIR, relative), 'utf8');
}

export function loadTrace<T>(relative: string): T {
  return JSON.parse(traceText(relative)) as T;
}

/** The registration YAML of the appservice captures, with a URL and tokens for this run. */
export function captureRegistration(url: string, asToken: string, hsToken: string): string {
  const yaml = loadTrace<{ registration_yaml: string }>('real/synapse-02-appservice-transactions-call.json').registration_yaml;
  return yaml.replace('http://127.0.0.1:9000', url).replace('<as_token>', asToken).replace('<hs_token>', hsToken);
}
