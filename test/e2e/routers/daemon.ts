// Starting and stopping router daemons inside a namespace, by PID only.
import { existsSync, readFileSync } from 'node:fs';
import { startInNamespace, type NamespacedProcess } from '../../../src/lab/network.js';
import { isRunning, stopProcess } from '../../../src/lab/processes.js';

export function startDaemon(ns: string, name: string, command: string, args: string[], log: string): NamespacedProcess {
  return startInNamespace(ns, name, command, args, log);
}

export async function stopDaemons(procs: readonly NamespacedProcess[]): Promise<void> {
  // Reverse start order (bgpd before zebra) so clients go before their servers.
  for (const p of [...procs].reverse()) await stopProcess(p, 3000);
}

export function runningPids(procs: readonly NamespacedProcess[]): number[] {
  return procs.filter((p) => isRunning(p)).map((p) => p.pid);
}

export async function waitForPath(path: string, what: string, proc: NamespacedProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(path)) return;
    if (!isRunning(proc)) await new Promise((r) => setTimeout(r, 100)); // exec may still be under way
    if (!isRunning(proc) && !existsSync(path)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (existsSync(path)) return;
  throw new Error(`${what}: ${path} did not appear within ${timeoutMs} ms (daemon ${isRunning(proc) ? 'running' : 'exited'}); log:\n${readLog(proc.log)}`);
}

export function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-4000);
  } catch {
    return '(no log)';
  }
}

export const DEFAULT_HOLD = 9;
export const DEFAULT_KEEPALIVE = 3;

export function familyOf(address: string): 'ipv4' | 'ipv6' {
  return address.includes(':') ? 'ipv6' : 'ipv4';
}
