// Restart invariance of the controller's pure core (issue 7 §1): a restarted controller rebuilds
// its allocator from nothing but the persisted Services (status IPs, annotations) in its first
// full pass (assigned first, reprocessOrder). Between restarts a running controller sees random
// creates, deletes and safe pool edits (add addresses, remove unused addresses, add/remove empty
// pools, toggle autoAssign). Across 1,000 restarts per seed: no Service that held IPs gets other
// IPs, an unchanged Service is never written, and no IP is held twice (except legitimate sharing).
import type { V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { Allocator } from '../../src/allocator/allocator.js';
import type { Pool } from '../../src/config/model.js';
import { convergeService, reprocessOrder, serviceDeleted, serviceNeedsWrite, type ConvergeOutcome } from '../../src/controller/converge.js';
import { serviceKey } from '../../src/controller/serviceFacts.js';
import { parseAddressEntry } from '../../src/net/address.js';

/** Same value as the controller's cap on repeated full passes. */
const MAX_FULL_PASSES = 5;

/** mulberry32: small, seeded, good enough to drive a simulation reproducibly. */
function rng(seed: number): { next(): number; int(n: number): number; pick<T>(xs: readonly T[]): T; chance(p: number): boolean } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (xs) => xs[Math.floor(next() * xs.length)] as never,
    chance: (p) => next() < p,
  };
}

/** 48 blocks of 8 addresses in the documentation ranges: the unit pools are made of. */
const BLOCKS: readonly string[] = ['192.0.2', '198.51.100', '203.0.113'].flatMap((net) =>
  Array.from({ length: 16 }, (_, i) => `${net}.${i * 8}/29`),
);

function blockOf(ip: string): string {
  const parts = ip.split('.');
  const last = Number(parts[3]);
  return `${parts.slice(0, 3).join('.')}.${last - (last % 8)}/29`;
}

interface PoolSpec {
  blocks: string[];
  autoAssign: boolean;
}

function toPools(specs: ReadonlyMap<string, PoolSpec>): Map<string, Pool> {
  const out = new Map<string, Pool>();
  for (const [name, s] of specs) {
    const cidrs = s.blocks.flatMap((b) => {
      const r = parseAddressEntry(b);
      if (!r.ok) throw new Error(r.reason);
      return r.cidrs;
    });
    out.set(name, { name, labels: {}, cidrs, addresses: [...s.blocks], autoAssign: s.autoAssign, avoidBuggyIPs: false });
  }
  return out;
}

/** The objects as the API server holds them: what a restarted controller sees. */
type Store = Map<string, V1Service>;

function applyOutcome(svc: V1Service, o: ConvergeOutcome): V1Service {
  const annotations = { ...(svc.metadata?.annotations ?? {}) };
  if (o.allocatedFromPool === undefined) delete annotations['metallb.io/ip-allocated-from-pool'];
  else annotations['metallb.io/ip-allocated-from-pool'] = o.allocatedFromPool;
  return { ...svc, metadata: { ...svc.metadata, annotations }, status: { loadBalancer: { ingress: o.ingressIps.map((ip) => ({ ip })) } } };
}

const ipsOf = (svc: V1Service | undefined): string[] => (svc?.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '');

interface Controller {
  allocator: Allocator;
  /** Keys written (status or annotation) since the counter was reset. */
  written: string[];
}

/** One converge as the controller does it: decide, then write back what differs. */
function converge(ctl: Controller, store: Store, key: string, pools: ReadonlyMap<string, Pool>): boolean {
  const svc = store.get(key);
  if (!svc) return false;
  const outcome = convergeService(svc, { allocator: ctl.allocator, poolsConfigured: pools.size > 0, namespaceLabels: {} });
  const needs = serviceNeedsWrite(svc, outcome);
  if (needs.status || needs.annotations) {
    ctl.written.push(key);
    store.set(key, applyOutcome(svc, outcome));
  }
  return outcome.reprocessAll;
}

/** The controller's fullPass: reprocessOrder over the cache, repeated while a pass asks for it. */
function fullPass(ctl: Controller, store: Store, pools: ReadonlyMap<string, Pool>): void {
  for (let pass = 0; pass < MAX_FULL_PASSES; pass++) {
    let again = false;
    for (const svc of reprocessOrder([...store.values()])) {
      if (converge(ctl, store, serviceKey(svc), pools)) again = true;
    }
    if (!again) return;
  }
}

/** A fresh process: empty allocator, the config, then the first full pass. */
function restart(store: Store, pools: ReadonlyMap<string, Pool>): Controller {
  const ctl: Controller = { allocator: new Allocator(), written: [] };
  ctl.allocator.setPools(pools);
  fullPass(ctl, store, pools);
  return ctl;
}

/** Problems with who holds which IP: an IP held twice without a shared key and distinct ports, or an IP outside every pool. */
function holdingProblems(store: Store, pools: ReadonlyMap<string, Pool>): string[] {
  const problems: string[] = [];
  const owned = new Set([...pools.values()].flatMap((p) => p.addresses));
  const holders = new Map<string, V1Service[]>();
  for (const svc of store.values()) {
    for (const ip of ipsOf(svc)) {
      if (!owned.has(blockOf(ip))) problems.push(`${serviceKey(svc)} holds ${ip}, which no pool owns`);
      holders.set(ip, [...(holders.get(ip) ?? []), svc]);
    }
  }
  for (const [ip, list] of holders) {
    if (list.length < 2) continue;
    const keys = new Set(list.map((s) => s.metadata?.annotations?.['metallb.io/allow-shared-ip'] ?? ''));
    const ports = list.flatMap((s) => (s.spec?.ports ?? []).map((p) => p.port));
    if (keys.size !== 1 || keys.has('') || new Set(ports).size !== ports.length) {
      problems.push(`${ip} is held by ${list.map(serviceKey).join(', ')} without a common sharing key and distinct ports`);
    }
  }
  return problems;
}

interface Simulation {
  store: Store;
  poolSpecs: Map<string, PoolSpec>;
  nextId: number;
}

function newService(sim: Simulation, r: ReturnType<typeof rng>): V1Service {
  const id = sim.nextId++;
  const annotations: Record<string, string> = {};
  const poolNames = [...sim.poolSpecs.keys()];
  if (poolNames.length > 0 && r.chance(0.2)) annotations['metallb.io/address-pool'] = r.pick(poolNames);
  if (r.chance(0.2)) annotations['metallb.io/allow-shared-ip'] = `share-${r.int(4)}`;
  if (r.chance(0.1)) {
    // A requested IP: any address of the current pools, free or not (a taken one stays pending).
    const blocks = [...sim.poolSpecs.values()].flatMap((p) => p.blocks);
    if (blocks.length > 0) {
      const b = r.pick(blocks);
      const base = b.split('/')[0] as string;
      const parts = base.split('.');
      annotations['metallb.io/loadBalancerIPs'] = `${parts.slice(0, 3).join('.')}.${Number(parts[3]) + r.int(8)}`;
    }
  }
  return {
    metadata: { name: `svc-${id}`, namespace: r.pick(['ns-a', 'ns-b']), annotations },
    spec: { type: 'LoadBalancer', clusterIPs: [`10.96.${id >> 8 & 255}.${id & 255}`], ipFamilyPolicy: 'SingleStack', ports: [{ port: 1000 + id, protocol: 'TCP' }] },
    status: {},
  };
}

/** Blocks that hold an IP of some Service (must not be removed without reassignment). */
function usedBlocks(store: Store): Set<string> {
  return new Set([...store.values()].flatMap((s) => ipsOf(s).map(blockOf)));
}

function freeBlocks(sim: Simulation): string[] {
  const taken = new Set([...sim.poolSpecs.values()].flatMap((p) => p.blocks));
  return BLOCKS.filter((b) => !taken.has(b));
}

/** One random operation the running controller handles as it would (dirty Service or config change). */
function randomOperation(sim: Simulation, ctl: Controller, r: ReturnType<typeof rng>): string {
  const { store, poolSpecs } = sim;
  const pools = () => toPools(poolSpecs);
  const configChanged = (what: string) => {
    const p = pools();
    const { dropped } = ctl.allocator.setPools(p);
    expect(dropped, `a safe edit (${what}) dropped allocations`).toEqual([]);
    fullPass(ctl, store, p);
    return what;
  };
  const roll = r.int(100);
  if (roll < 35 && store.size < 80) {
    const svc = newService(sim, r);
    const key = serviceKey(svc);
    store.set(key, svc);
    if (converge(ctl, store, key, pools())) fullPass(ctl, store, pools());
    return `create ${key}`;
  }
  if (roll < 60 && store.size > 0) {
    const key = r.pick([...store.keys()]);
    store.delete(key);
    if (serviceDeleted(key, ctl.allocator).reprocessAll) fullPass(ctl, store, pools());
    return `delete ${key}`;
  }
  const names = [...poolSpecs.keys()];
  const used = usedBlocks(store);
  const edit = r.int(5);
  if (edit === 0 && names.length > 0 && freeBlocks(sim).length > 0) {
    const name = r.pick(names);
    const spec = poolSpecs.get(name) as PoolSpec;
    const block = r.pick(freeBlocks(sim));
    poolSpecs.set(name, { ...spec, blocks: [...spec.blocks, block] });
    return configChanged(`add ${block} to ${name}`);
  }
  if (edit === 1 && names.length > 0) {
    const name = r.pick(names);
    const spec = poolSpecs.get(name) as PoolSpec;
    const removable = spec.blocks.filter((b) => !used.has(b));
    if (removable.length > 0 && spec.blocks.length > 1) {
      const block = r.pick(removable);
      poolSpecs.set(name, { ...spec, blocks: spec.blocks.filter((b) => b !== block) });
      return configChanged(`remove unused ${block} from ${name}`);
    }
  }
  if (edit === 2 && freeBlocks(sim).length > 0 && names.length < 6) {
    const name = `pool-${sim.nextId++}`;
    poolSpecs.set(name, { blocks: [r.pick(freeBlocks(sim))], autoAssign: r.chance(0.7) });
    return configChanged(`add pool ${name}`);
  }
  if (edit === 3 && names.length > 1) {
    const empty = names.filter((n) => (poolSpecs.get(n) as PoolSpec).blocks.every((b) => !used.has(b)));
    if (empty.length > 0) {
      const name = r.pick(empty);
      poolSpecs.delete(name);
      return configChanged(`remove empty pool ${name}`);
    }
  }
  if (names.length > 0) {
    const name = r.pick(names);
    const spec = poolSpecs.get(name) as PoolSpec;
    poolSpecs.set(name, { ...spec, autoAssign: !spec.autoAssign });
    return configChanged(`autoAssign of ${name} -> ${!spec.autoAssign}`);
  }
  return 'nothing';
}

interface RunReport {
  restarts: number;
  assignedAcrossRestarts: number;
  reassignments: string[];
  unchangedWrites: string[];
  problems: string[];
  operations: number;
}

/** Runs `restarts` restart cycles; collects violations instead of stopping, so a failure shows them all. */
function simulate(seed: number, restarts: number): RunReport {
  const r = rng(seed);
  const sim: Simulation = {
    store: new Map(),
    poolSpecs: new Map([
      ['main', { blocks: [BLOCKS[0] as string, BLOCKS[1] as string], autoAssign: true }],
      ['spare', { blocks: [BLOCKS[20] as string], autoAssign: false }],
    ]),
    nextId: 0,
  };
  const report: RunReport = { restarts: 0, assignedAcrossRestarts: 0, reassignments: [], unchangedWrites: [], problems: [], operations: 0 };
  let ctl = restart(sim.store, toPools(sim.poolSpecs));
  for (let i = 0; i < restarts; i++) {
    const ops = 1 + r.int(6);
    const log: string[] = [];
    for (let k = 0; k < ops; k++) log.push(randomOperation(sim, ctl, r));
    report.operations += ops;
    const before = new Map([...sim.store].map(([k, s]) => [k, JSON.stringify(s)]));
    const beforeIps = new Map([...sim.store].map(([k, s]) => [k, ipsOf(s)]));
    ctl = restart(sim.store, toPools(sim.poolSpecs));
    report.restarts++;
    const where = `seed ${seed}, restart ${i + 1} after [${log.join('; ')}]`;
    for (const [key, ips] of beforeIps) {
      if (ips.length === 0) continue;
      report.assignedAcrossRestarts++;
      const now = ipsOf(sim.store.get(key));
      if (JSON.stringify(now) !== JSON.stringify(ips)) report.reassignments.push(`${where}: ${key} ${ips.join(',')} -> ${now.join(',') || 'none'}`);
    }
    for (const key of ctl.written) {
      // A pending Service may legitimately get an IP at restart (e.g. a pool gained addresses
      // while it waited for a full pass); one that held IPs must not be touched.
      if ((beforeIps.get(key) ?? []).length > 0) report.unchangedWrites.push(`${where}: wrote ${key}: ${before.get(key)} -> ${JSON.stringify(sim.store.get(key))}`);
    }
    for (const p of holdingProblems(sim.store, toPools(sim.poolSpecs))) report.problems.push(`${where}: ${p}`);
  }
  return report;
}

describe('controller restart invariance (pure core)', () => {
  it.each([1, 7, 20260])('seed %i: 1,000 restarts with random creates, deletes and pool edits change nothing', (seed) => {
    const report = simulate(seed, 1000);
    expect(report.reassignments.slice(0, 5)).toEqual([]);
    expect(report.unchangedWrites.slice(0, 5)).toEqual([]);
    expect(report.problems.slice(0, 5)).toEqual([]);
    expect(report.restarts).toBe(1000);
    // The run must have exercised something: many Services carried across restarts.
    expect(report.assignedAcrossRestarts).toBeGreaterThan(10_000);
  });

  it('the checks notice a reassignment and a duplicate', () => {
    const store: Store = new Map();
    const pools = toPools(new Map([['p', { blocks: [BLOCKS[0] as string], autoAssign: true }]]));
    const mk = (name: string, ip?: string): V1Service => ({
      metadata: { name, namespace: 'ns', annotations: {} },
      spec: { type: 'LoadBalancer', clusterIPs: ['10.96.0.9'], ports: [{ port: 80, protocol: 'TCP' }] },
      status: ip ? { loadBalancer: { ingress: [{ ip }] } } : {},
    });
    // Two Services persisted with the same IP (as if an older controller had a bug): one must move.
    store.set('ns/a', mk('a', '192.0.2.3'));
    store.set('ns/b', mk('b', '192.0.2.3'));
    expect(holdingProblems(store, pools)).toEqual(['192.0.2.3 is held by ns/a, ns/b without a common sharing key and distinct ports']);
    const ctl = restart(store, pools);
    expect(ipsOf(store.get('ns/a'))).toEqual(['192.0.2.3']); // first in key order keeps it
    expect(ipsOf(store.get('ns/b'))).not.toEqual(['192.0.2.3']);
    expect(ctl.written).toEqual(['ns/a', 'ns/b']); // a: annotation added; b: new IP
    expect(holdingProblems(store, pools)).toEqual([]);
    // An IP outside every pool is reported.
    store.set('ns/c', mk('c', '203.0.113.200'));
    expect(holdingProblems(store, pools)).toEqual(['ns/c holds 203.0.113.200, which no pool owns']);
  });
});
