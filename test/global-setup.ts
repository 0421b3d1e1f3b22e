import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LOG_DIR } from './support/edge-process.ts';
import { TEST_SECRETS } from './support/secrets.ts';

/** Fresh log directory before the run; after it, no secret may appear in any log. */
export function setup(): () => void {
  rmSync(LOG_DIR, { recursive: true, force: true });
  mkdirSync(LOG_DIR, { recursive: true });
  return () => {
    const leaks: string[] = [];
    for (const file of readdirSync(LOG_DIR)) {
      const text = readFileSync(join(LOG_DIR, file), 'utf8');
      for (const [name, secret] of Object.entries(TEST_SECRETS)) {
        if (text.includes(secret)) leaks.push(`${file}: ${name}`);
      }
    }
    if (leaks.length > 0) throw new Error(`secrets found in the edge's logs:\n${leaks.join('\n')}`);
  };
}
