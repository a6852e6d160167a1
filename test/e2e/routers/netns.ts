// Namespaces and veths for BGP interop tests, named ironlb-<tag>-<pid>-<role> (tag "bgpt" unless a
// test file picks its own with useNamespaceTag) so a crashed run's leftovers are recognisable, and
// removed (with every process in them) by removeTestNamespaces / removeStaleTestNamespaces.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { run } from '../../../src/lab/network.js';

let nsTag = 'bgpt';
export let TEST_NS_PREFIX = `ironlb-${nsTag}-${process.pid}-`;

/** Names this test file's namespaces ironlb-<tag>-<pid>-<role>; call before creating any. */
export function useNamespaceTag(tag: string): void {
  nsTag = tag;
  TEST_NS_PREFIX = `ironlb-${tag}-${process.pid}-`;
}

export function nsName(role: string): string {
  return TEST_NS_PREFIX + role;
}

export function ip(ns: string, ...args: string[]): string {
  return run('ip', ['-n', ns, ...args]);
}

export function inNs(ns: string, command: string, args: readonly string[], input?: string): string {
  return run('ip', ['netns', 'exec', ns, command, ...args], input);
}

/** Same as inNs but never throws: exit code, stdout and stderr. */
export function tryInNs(ns: string, command: string, args: readonly string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync('ip', ['netns', 'exec', ns, command, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: r.stdout ?? '', err: r.stderr ?? (r.error?.message ?? '') };
}

export function addNamespace(role: string): string {
  const ns = nsName(role);
  run('ip', ['netns', 'add', ns]);
  ip(ns, 'link', 'set', 'lo', 'up');
  inNs(ns, 'sysctl', ['-q', '-w', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0', 'net.ipv6.conf.all.keep_addr_on_down=1']);
  return ns;
}

/** A veth between two namespaces; addresses are CIDRs ("192.0.2.1/24", "2001:db8::1/64"). */
export function link(a: { ns: string; ifname: string; addresses: readonly string[] }, b: { ns: string; ifname: string; addresses: readonly string[] }): void {
  run('ip', ['-n', a.ns, 'link', 'add', a.ifname, 'type', 'veth', 'peer', 'name', b.ifname, 'netns', b.ns]);
  for (const end of [a, b]) {
    for (const addr of end.addresses) ip(end.ns, 'addr', 'add', addr, 'dev', end.ifname, ...(addr.includes(':') ? ['nodad'] : []));
    ip(end.ns, 'link', 'set', end.ifname, 'up');
  }
}

export function enableForwarding(ns: string): void {
  inNs(ns, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
}

/** Every namespace of this test process (from `ip netns list`). */
export function testNamespaces(): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(TEST_NS_PREFIX));
}

function pidsIn(ns: string): number[] {
  const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n').map((l) => Number.parseInt(l, 10)).filter((p) => Number.isInteger(p) && p > 0 && p !== process.pid);
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Namespaces with this file's tag left by test processes that no longer run (a crashed or killed run). */
function staleNamespaces(): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  const pattern = new RegExp(`^ironlb-${nsTag}-(\\d+)-`);
  return (r.stdout ?? '').split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => {
    const m = pattern.exec(n);
    return m !== null && Number(m[1]) !== process.pid && !existsSync(`/proc/${m[1]}`);
  });
}

/** Removes leftovers of earlier runs of this test file whose process is gone. */
export async function removeStaleTestNamespaces(): Promise<void> {
  await removeNamespaces(staleNamespaces());
}

/** Kills what still runs in this process's test namespaces (by PID), then deletes them. */
export async function removeTestNamespaces(): Promise<void> {
  await removeNamespaces(testNamespaces());
}

async function removeNamespaces(namespaces: readonly string[]): Promise<void> {
  for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
    for (const pid of namespaces.flatMap(pidsIn)) {
      try {
        process.kill(pid, sig);
      } catch {
        /* gone */
      }
    }
    for (let i = 0; i < 40 && namespaces.flatMap(pidsIn).some(alive); i++) await new Promise((r) => setTimeout(r, 50));
  }
  for (const ns of namespaces) spawnSync('ip', ['netns', 'del', ns]);
}

/** `ip route` of a namespace: prefix -> next hops (ECMP multipath entries expanded). */
export function kernelRoutes(ns: string, family: 4 | 6 = 4): { prefix: string; nextHops: string[]; protocol?: string }[] {
  const out = JSON.parse(inNs(ns, 'ip', ['-j', `-${family}`, 'route', 'show'])) as {
    dst: string;
    gateway?: string;
    protocol?: string;
    nexthops?: { gateway?: string }[];
  }[];
  return out.map((r) => ({
    prefix: r.dst === 'default' ? (family === 4 ? '0.0.0.0/0' : '::/0') : r.dst.includes('/') ? r.dst : `${r.dst}/${family === 4 ? 32 : 128}`,
    nextHops: r.nexthops ? r.nexthops.flatMap((n) => (n.gateway ? [n.gateway] : [])) : r.gateway ? [r.gateway] : [],
    ...(r.protocol ? { protocol: r.protocol } : {}),
  }));
}
