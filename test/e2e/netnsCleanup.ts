// Namespaces of tests that name them `<prefix>-<pid>-<...>`: a crashed run cannot remove its own,
// so the next run removes those whose test process is gone.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

export function netnsNames(): string[] {
  try {
    return readdirSync('/run/netns');
  } catch {
    return [];
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Deletes `<prefix>-<pid>-*` namespaces of test processes that no longer run (never this one's). */
export function removeStaleNamespaces(prefix: string): void {
  const pattern = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d+)-`);
  for (const ns of netnsNames()) {
    const m = pattern.exec(ns);
    if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) spawnSync('ip', ['netns', 'del', ns]);
  }
}
