// The built edge as its own process (dist/src/main.js), as an operator runs
// it; its JSON log goes to a file, its memory is read from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePrometheusText, type Family } from './prom-text.ts';
import { cpuTimes, killOnExit } from './starve.ts';

export class BenchEdge {
  readonly child: ChildProcess;
  readonly #logFd: number;
  readonly #metricsUrl: string;
  #exit: Promise<number | null>;

  /**
   * Starts the edge; its stdout/stderr go to `logPath`. `pin` is a command
   * that execs the rest (taskset -c N): the edge keeps the child's pid.
   */
  constructor(repoRoot: string, configPath: string, logPath: string, httpPort: number, nodeArgs: readonly string[] = [], pin: readonly string[] = []) {
    this.#logFd = openSync(logPath, 'w');
    const argv = [process.execPath, ...nodeArgs, join(repoRoot, 'dist/src/main.js'), 'run', '--config', configPath];
    const [command, ...args] = [...pin, ...argv] as [string, ...string[]];
    this.child = spawn(command, args, { stdio: ['ignore', this.#logFd, this.#logFd] });
    killOnExit(this.child);
    this.#exit = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.#metricsUrl = `http://127.0.0.1:${httpPort}`;
  }

  /** Resident set size of the edge process, bytes (VmRSS). */
  rss(): number {
    const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
    if (!m) throw new Error('no VmRSS in /proc/<pid>/status');
    return Number(m[1]) * 1024;
  }

  /** CPU time the edge process has used since it started (all its threads), user and kernel mode, ms. */
  cpuTimes(): { readonly user: number; readonly system: number } {
    if (this.child.pid === undefined) throw new Error('the edge has no pid');
    return cpuTimes(this.child.pid);
  }

  async get(path: string): Promise<{ status: number; text: string }> {
    try {
      const res = await fetch(`${this.#metricsUrl}${path}`, { signal: AbortSignal.timeout(5_000) });
      return { status: res.status, text: await res.text() };
    } catch {
      return { status: 0, text: '' };
    }
  }

  async metrics(): Promise<Map<string, Family>> {
    const res = await this.get('/metrics');
    if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
    return parsePrometheusText(res.text);
  }

  /** SIGTERM, then the exit code (SIGKILL after the timeout). */
  async stop(timeoutMs = 15_000): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.#exit;
    clearTimeout(timer);
    closeSync(this.#logFd);
    return code;
  }
}
