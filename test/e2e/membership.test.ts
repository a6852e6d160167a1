// Gossip membership over real UDP between network namespaces: three members on a bridge in a
// switch namespace (192.0.2.0/24, nothing in the host namespace), one killed the hard way (link
// down + SIGKILL) and timed, one leaving on SIGTERM, and an intruder with the wrong key.
// Each member is test/e2e/fixtures/membershipNode.mjs running the compiled adapter from dist/.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/lab/projectRoot.js';
import { netnsNames, removeStaleNamespaces } from './netnsCleanup.js';

const PREFIX = `ironlb-mb-${process.pid}`;
const SWITCH = `${PREFIX}-sw`;
const FIXTURE = join(projectRoot(), 'test', 'e2e', 'fixtures', 'membershipNode.mjs');
const COMPILED = join(projectRoot(), 'dist', 'src', 'speaker', 'membership', 'gossipMembership.js');
const KEY = randomBytes(16).toString('hex');
const WRONG_KEY = randomBytes(16).toString('hex');

interface Member {
  name: string;
  ns: string;
  address: string;
  child?: ChildProcess;
  lines: Record<string, any>[];
  stderr: string;
}

const members: Member[] = [1, 2, 3, 4].map((i) => ({ name: i === 4 ? 'intruder' : `node-${i}`, ns: `${PREFIX}-n${i}`, address: `192.0.2.${10 + i}`, lines: [], stderr: '' }));
const [n1, n2, n3, intruder] = members as [Member, Member, Member, Member];
const SEEDS = members.map((m) => m.address).join(',');

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}


function start(m: Member, key: string): void {
  const child = spawn('ip', ['netns', 'exec', m.ns, process.execPath, FIXTURE, m.name, m.address, key, SEEDS], { stdio: ['ignore', 'pipe', 'pipe'] });
  m.child = child;
  let buf = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        m.lines.push(JSON.parse(line));
      } catch {
        m.stderr += `unparsable stdout: ${line}\n`;
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (m.stderr += chunk));
}

function lastStats(m: Member): Record<string, any> | undefined {
  return [...m.lines].reverse().find((l) => l.kind === 'stats');
}

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; stderr: ${members.map((m) => `${m.name}: ${m.stderr.trim()}`).join(' | ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

describe('gossip membership between network namespaces', () => {
  beforeAll(() => {
    if (!existsSync(COMPILED)) throw new Error(`${COMPILED} is missing: compile first with "npx tsc -p tsconfig.json" (npm test does)`);
    removeStaleNamespaces('ironlb-mb');
    ip(['netns', 'add', SWITCH]);
    ip(['-n', SWITCH, 'link', 'add', 'br0', 'type', 'bridge']);
    ip(['-n', SWITCH, 'link', 'set', 'br0', 'up']);
    members.forEach((m, i) => {
      ip(['netns', 'add', m.ns]);
      ip(['-n', m.ns, 'link', 'set', 'lo', 'up']);
      // Created inside the switch namespace, peer moved straight into the member's: nothing
      // ever appears in the host namespace.
      ip(['-n', SWITCH, 'link', 'add', `p-${i + 1}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', m.ns]);
      ip(['-n', SWITCH, 'link', 'set', `p-${i + 1}`, 'master', 'br0', 'up']);
      ip(['-n', m.ns, 'link', 'set', 'eth0', 'up']);
      ip(['-n', m.ns, 'addr', 'add', `${m.address}/24`, 'dev', 'eth0']);
    });
  });

  afterAll(async () => {
    for (const m of members) {
      if (m.child && m.child.exitCode === null && m.child.signalCode === null) {
        m.child.kill('SIGKILL');
        await exited(m.child);
      }
    }
    for (const ns of netnsNames().filter((n) => n.startsWith(`${PREFIX}-`))) spawnSync('ip', ['netns', 'del', ns]);
    expect(netnsNames().filter((n) => n.startsWith(`${PREFIX}-`))).toEqual([]);
  });

  it('three members converge; a member with the wrong key is never admitted', async () => {
    for (const m of [n1, n2, n3]) start(m, KEY);
    start(intruder, WRONG_KEY);
    const all = ['node-1', 'node-2', 'node-3'];
    await until('every member to see all three', () => [n1, n2, n3].every((m) => JSON.stringify(lastStats(m)?.alive) === JSON.stringify(all)), 15_000);
    // Give the intruder time to retry its seeds a few times.
    await new Promise((r) => setTimeout(r, 1_500));
    for (const m of [n1, n2, n3]) {
      const s = lastStats(m)!;
      expect(s.alive).toEqual(all);
      expect(s.stats.dropped.badMac, `${m.name} counted the intruder's datagrams`).toBeGreaterThan(0);
      expect(m.lines.some((l) => l.kind === 'member' && l.name === 'intruder')).toBe(false);
    }
    expect(lastStats(intruder)!.alive).toEqual(['intruder']);
    expect(lastStats(intruder)!.stats.dropped.badMac).toBeGreaterThan(0);
  });

  it('a member frozen for 400 ms (SIGSTOP, SIGCONT) is not declared dead', async () => {
    const frozen = n3;
    // `ip netns exec` execs node in place: the child pid is the member process itself.
    expect(readFileSync(`/proc/${frozen.child!.pid}/comm`, 'utf8').trim()).toBe('node');
    const from = [n1, n2, n3].map((m) => m.lines.length);
    frozen.child!.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 400));
    frozen.child!.kill('SIGCONT');
    await new Promise((r) => setTimeout(r, 2_000));
    [n1, n2, n3].forEach((m, i) => {
      const deaths = m.lines.slice(from[i]).filter((l) => l.kind === 'member' && (l.to === 'dead' || l.to === 'left'));
      expect(deaths, `${m.name} saw no death`).toEqual([]);
      expect(lastStats(m)!.alive).toEqual(['node-1', 'node-2', 'node-3']);
    });
    // The frozen member noticed its own stall.
    expect(lastStats(frozen)!.stats.stalls).toBeGreaterThanOrEqual(1);
  });

  it('a member losing its link and then killed is declared dead by the others within 1.5 s', async () => {
    const victim = n2;
    const seenFrom = n1.lines.length;
    const seenFrom3 = n3.lines.length;
    const t0 = Date.now();
    ip(['-n', victim.ns, 'link', 'set', 'eth0', 'down']);
    victim.child!.kill('SIGKILL');
    const deadAt = (m: Member, from: number) => m.lines.slice(from).find((l) => l.kind === 'member' && l.name === victim.name && l.to === 'dead')?.t as number | undefined;
    const [d1, d3] = await until('both survivors to declare node-2 dead', () => {
      const a = deadAt(n1, seenFrom);
      const b = deadAt(n3, seenFrom3);
      return a !== undefined && b !== undefined ? [a - t0, b - t0] : undefined;
    }, 10_000);
    process.stderr.write(`[membership e2e] node-2 declared dead after ${d1} ms (node-1) and ${d3} ms (node-3)\n`);
    expect(Math.max(d1, d3)).toBeLessThanOrEqual(1_500);
    // The survivors keep each other.
    await new Promise((r) => setTimeout(r, 500));
    expect(lastStats(n1)!.alive).toEqual(['node-1', 'node-3']);
    expect(lastStats(n3)!.alive).toEqual(['node-1', 'node-3']);
    expect([n1, n3].some((m) => m.lines.some((l) => l.kind === 'member' && (l.name === 'node-1' || l.name === 'node-3') && l.to === 'dead'))).toBe(false);
  });

  it('a member stopped with SIGTERM leaves at once', async () => {
    const from = n1.lines.length;
    const t0 = Date.now();
    n3.child!.kill('SIGTERM');
    const left = await until('node-1 to see node-3 leave', () => n1.lines.slice(from).find((l) => l.kind === 'member' && l.name === 'node-3' && l.to === 'left'), 5_000);
    await exited(n3.child!);
    expect(n3.child!.exitCode).toBe(0);
    expect(left.t - t0).toBeLessThan(500);
    expect(n1.lines.slice(from).some((l) => l.kind === 'member' && l.name === 'node-3' && l.to === 'suspect')).toBe(false);
  });
});
