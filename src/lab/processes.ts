// Background processes of the lab: started detached with their output in a log file, tracked
// by PID in the lab's state so that `lab down` (another process) can stop exactly them.
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export interface TrackedProcess {
  readonly name: string;
  readonly pid: number;
  /** argv[0] as started; compared with /proc/<pid>/cmdline so a reused PID is never killed. */
  readonly command: string;
  readonly args: readonly string[];
  readonly log: string;
}

export function startDetached(name: string, command: string, args: string[], log: string, env?: NodeJS.ProcessEnv): TrackedProcess {
  const fd = openSync(log, 'a');
  try {
    const child = spawn(command, args, { detached: true, stdio: ['ignore', fd, fd], env: env ?? process.env });
    if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
    child.unref();
    return { name, pid: child.pid, command, args, log };
  } finally {
    closeSync(fd);
  }
}

export function isRunning(p: Pick<TrackedProcess, 'pid' | 'command'>): boolean {
  try {
    const argv0 = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
    const stat = readFileSync(`/proc/${p.pid}/stat`, 'utf8');
    // A zombie (state Z) has exited already.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return argv0 === p.command && state !== 'Z';
  } catch {
    return false;
  }
}

/** SIGTERM the process group, then SIGKILL whatever is still there after graceMs. */
export async function stopProcess(p: TrackedProcess, graceMs = 5000): Promise<void> {
  if (!isRunning(p)) return;
  signalGroup(p.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isRunning(p)) return;
    await sleep(50);
  }
  signalGroup(p.pid, 'SIGKILL');
  for (let i = 0; i < 40 && isRunning(p); i++) await sleep(50);
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

export function tailOfLog(log: string, lines = 15): string {
  try {
    return readFileSync(log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export async function freeLoopbackPort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
