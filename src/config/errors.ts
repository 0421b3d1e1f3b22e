import type { z } from 'zod';

/** One thing wrong with the config, named by its key path. */
export interface ConfigProblem {
  readonly path: string;
  readonly message: string;
}

/** The config is unusable. The message lists every problem, one per line, each starting with its key. */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** A key as written in a path: quoted when it is empty or holds a space or control character (the message stays one line per problem). */
function keyText(key: PropertyKey): string {
  const text = String(key);
  return /^[^\s\p{C}]+$/u.test(text) ? text : JSON.stringify(text);
}

function joinPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? keyText(key) : `.${keyText(key)}`;
  }
  return out === '' ? '(top level)' : out;
}

/** Zod issues -> problems that name the key. Unknown keys are named themselves. */
function valueAt(document: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = document;
  for (const key of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

export function problemsFromZod(error: z.ZodError, document: unknown): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        problems.push({ path: joinPath([...issue.path, key]), message: 'is not a known key (check the spelling against config.example.yaml)' });
      }
      continue;
    }
    let message = issue.message;
    if (issue.code === 'invalid_type' && valueAt(document, issue.path) === undefined) message = 'is required';
    else if (issue.code === 'invalid_type' && message.startsWith('Invalid input')) message = `must be ${issue.expected}`;
    problems.push({ path: joinPath(issue.path), message });
  }
  return problems;
}
