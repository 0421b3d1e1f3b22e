// --starve: one core taken away from the edge. The edge is started pinned to
// one CPU (taskset -c N, which execs node: same pid) and a busy loop, pinned
// to the same CPU, runs beside it for the whole measurement, so the edge
// gets about half of one core while the simulators have the other.
//
// Every child the benchmark starts (the edge, the busy loop) is registered
// here and killed when the benchmark's process exits, whatever the reason
// (an exception, process.exit, SIGINT / SIGTERM).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export const TASKSET = '/usr/bin/taskset';

const children = new Set<ChildProcess>();
let hooked = false;

function killAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
}

/** Kill `child` (SIGKILL) if it still runs when this process exits. */
export function killOnExit(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
  if (hooked) return;
  hooked = true;
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  }
}

/** The CPUs this process may run on (/proc/self/status Cpus_allowed_list, e.g. "0-1" or "0,2"). */
export function allowedCpus(pid: number | 'self' = 'self'): number[] {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const list = /^Cpus_allowed_list:\s*(\S+)$/m.exec(text)?.[1] ?? '';
  const cpus: number[] = [];
  for (const part of list.split(',')) {
    const [a, b] = part.split('-').map(Number);
    if (a === undefined || !Number.isInteger(a)) continue;
    for (let c = a; c <= (b ?? a); c++) cpus.push(c);
  }
  return cpus;
}

/** sysconf(_SC_CLK_TCK): USER_HZ, 100 on Linux. */
const CLOCK_TICKS = 100;

/** CPU time of a process in user and in kernel mode, ms (/proc/<pid>/stat utime and stime, clock ticks of 10 ms). */
export function cpuTimes(pid: number): { readonly user: number; readonly system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // the fields after the command name (which may hold spaces), from field 3 (state)
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields 14 (utime) and 15 (stime)
  return { user: (Number(fields[11]) * 1000) / CLOCK_TICKS, system: (Number(fields[12]) * 1000) / CLOCK_TICKS };
}

/** utime + stime of a process, ms. */
export function cpuMs(pid: number): number {
  const t = cpuTimes(pid);
  return t.user + t.system;
}

/** The machine's CPU time so far (/proc/stat, all CPUs), ms: total, idle (with iowait), and the part the hypervisor gave to other guests (steal). */
export function machineCpu(): { readonly totalMs: number; readonly idleMs: number; readonly stealMs: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest time is counted in user)
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const ms = (ticks: number) => (ticks * 1000) / CLOCK_TICKS;
  return { totalMs: ms(total), idleMs: ms((v[3] ?? 0) + (v[4] ?? 0)), stealMs: ms(v[7] ?? 0) };
}

export class Starver {
  readonly cpu: number;
  readonly #loop: ChildProcess;
  readonly #exit: Promise<void>;

  private constructor(cpu: number, loop: ChildProcess) {
    this.cpu = cpu;
    this.#loop = loop;
    this.#exit = new Promise((resolve) => {
      loop.once('exit', () => resolve());
      // a loop that could not be started has nothing to stop
      loop.once('error', () => resolve());
    });
  }

  /** The busy loop, pinned to the last CPU this process may use (the edge is to be pinned there too). */
  static start(): Starver {
    if (!existsSync(TASKSET)) throw new Error(`--starve needs ${TASKSET}`);
    const cpus = allowedCpus();
    if (cpus.length < 2) throw new Error(`--starve needs at least 2 CPUs (this process may use ${cpus.join(',') || 'none'})`);
    const cpu = cpus.at(-1)!;
    const loop = spawn(TASKSET, ['-c', String(cpu), process.execPath, '-e', 'for (;;) {}'], { stdio: 'ignore' });
    killOnExit(loop);
    return new Starver(cpu, loop);
  }

  /** The command prefix that pins a process to the starved CPU. */
  get pin(): readonly string[] {
    return [TASKSET, '-c', String(this.cpu)];
  }

  get pid(): number | undefined {
    return this.#loop.pid;
  }

  /** CPU time the busy loop has used, ms (it should be about half of the wall time: it shares the CPU with the edge). */
  cpuMs(): number {
    return this.#loop.pid === undefined ? NaN : cpuMs(this.#loop.pid);
  }

  async stop(): Promise<void> {
    if (this.#loop.exitCode === null && this.#loop.signalCode === null) this.#loop.kill('SIGKILL');
    await this.#exit;
  }
}
