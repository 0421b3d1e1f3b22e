import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createWriteStream, mkdirSync, mkdtempSync, writeFileSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { waitUntil } from './wait.ts';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(REPO_ROOT, 'dist/src/main.js');
/** Every edge process's output is kept here; a CI step greps it for secrets. */
export const LOG_DIR = process.env['MSE_TEST_LOG_DIR'] ?? join(REPO_ROOT, 'test-logs');

export interface LogLine {
  readonly level?: number;
  readonly msg?: string;
  readonly peer?: string;
  readonly state?: string;
  readonly [key: string]: unknown;
}

/** Write a config file into a fresh temporary directory; returns its path. */
export function writeConfig(config: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'mse-test-'));
  const path = join(dir, 'config.yaml');
  writeFileSync(path, stringify(config));
  return path;
}

/** Run the built CLI to completion (e.g. `check`); output is logged too. */
export async function runCli(args: readonly string[], name: string, env: NodeJS.ProcessEnv = {}, timeoutMs = 15_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  mkdirSync(LOG_DIR, { recursive: true });
  const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolveExit) => child.on('exit', (c) => resolveExit(c)));
  clearTimeout(timer);
  writeFileSync(join(LOG_DIR, `${name}.cli.log`), `${stdout}\n--- stderr ---\n${stderr}`);
  return { code, stdout, stderr };
}

/** The built edge, started as its own process, with its JSON log lines collected. */
export class EdgeProcess extends EventEmitter {
  readonly lines: LogLine[] = [];
  readonly child: ChildProcess;
  readonly #log: WriteStream;
  exitCode: number | null | undefined;
  #buffer = '';

  constructor(configPath: string, name: string, env: NodeJS.ProcessEnv = {}) {
    super();
    mkdirSync(LOG_DIR, { recursive: true });
    this.#log = createWriteStream(join(LOG_DIR, `${name}.edge.log`));
    this.child = spawn(process.execPath, [MAIN, 'run', '--config', configPath], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (d: Buffer) => this.#onData(d.toString()));
    this.child.stderr?.on('data', (d: Buffer) => {
      this.#log.write(d);
    });
    this.child.on('exit', (code) => {
      this.exitCode = code;
      this.emit('change');
    });
  }

  #onData(text: string): void {
    this.#log.write(text);
    this.#buffer += text;
    let nl: number;
    while ((nl = this.#buffer.indexOf('\n')) >= 0) {
      const line = this.#buffer.slice(0, nl);
      this.#buffer = this.#buffer.slice(nl + 1);
      try {
        this.lines.push(JSON.parse(line) as LogLine);
      } catch {
        this.lines.push({ msg: line });
      }
    }
    this.emit('change');
  }

  /** Wait for a log line matching the predicate (for progress only; assertions go on the wire). */
  async waitForLine(pred: (l: LogLine) => boolean, what: string, timeoutMs = 10_000): Promise<LogLine> {
    await waitUntil(this, () => this.lines.some(pred) || this.exitCode !== undefined, what, timeoutMs);
    const found = this.lines.find(pred);
    if (found === undefined) throw new Error(`edge exited (${String(this.exitCode)}) before ${what}`);
    return found;
  }

  /** SIGTERM and wait for the exit code. */
  async stop(timeoutMs = 10_000): Promise<number | null> {
    if (this.exitCode === undefined) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
      await waitUntil(this, () => this.exitCode !== undefined, 'edge exit', timeoutMs + 1_000);
      clearTimeout(timer);
    }
    await new Promise<void>((r) => this.#log.end(r));
    return this.exitCode ?? null;
  }
}
