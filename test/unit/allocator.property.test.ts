// Property tests: the allocator against a brute-force model written straight from the spec
// (3.2-3.5): it enumerates every address of small pools and checks the sharing rules pair by
// pair, with none of the allocator's indexes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Allocator } from '../../src/allocator/allocator.js';
import type { AllocationResult, ServiceFacts } from '../../src/allocator/types.js';
import type { Pool } from '../../src/config/model.js';
import { selectorMatches } from '../../src/config/labelSelector.js';
import { formatIp, isBuggyIPv4, parseIp, type Family } from '../../src/net/address.js';
import { labels, pool as makePool } from './allocator.fixtures.js';

// --- the model ------------------------------------------------------------------------------

interface ModelHolding {
  pool: string;
  ips: string[];
  facts: ServiceFacts;
}

type Outcome = { ok: true; pool: string; ips: string[] } | { ok: false; kind: string };

/** Every address a pool may hand out for a family, in walk order. */
function walk(p: Pool, family: Family): string[] {
  const out: string[] = [];
  for (const c of p.cidrs) {
    if (c.family !== family) continue;
    for (let v = c.first; v <= c.last; v++) {
      if (p.avoidBuggyIPs && isBuggyIPv4(c.family, v)) continue;
      out.push(formatIp(c.family, v));
    }
  }
  return out;
}

function familyOf(ip: string): Family | undefined {
  return parseIp(ip)?.family;
}

function admits(p: Pool, s: ServiceFacts): boolean {
  const sa = p.serviceAllocation;
  if (!sa) return true;
  if ((sa.namespaces.length > 0 || sa.namespaceSelectors.length > 0) &&
    !(sa.namespaces.includes(s.namespace) || sa.namespaceSelectors.some((x) => selectorMatches(x, s.namespaceLabels)))) {
    return false;
  }
  return sa.serviceSelectors.length === 0 || sa.serviceSelectors.some((x) => selectorMatches(x, s.labels));
}

/** The sharing rule of 3.4 for one pair of services. */
function mayShare(a: ServiceFacts, b: ServiceFacts): boolean {
  if (a.sharingKey === '' || a.sharingKey !== b.sharingKey || a.backendKey !== b.backendKey) return false;
  return !a.ports.some((p) => b.ports.some((q) => p.protocol === q.protocol && p.port === q.port));
}

class Model {
  pools = new Map<string, Pool>();
  held = new Map<string, ModelHolding>();

  owner(ips: string[]): string | undefined {
    if (ips.length === 0) return undefined;
    for (const [name, p] of this.pools) {
      if (ips.every((ip) => walk(p, familyOf(ip) ?? 4).includes(ip))) return name;
    }
    return undefined;
  }

  usableBy(s: ServiceFacts, ip: string): 'ok' | 'sharing' | 'port' {
    const others = [...this.held.entries()].filter(([k, h]) => k !== s.key && h.ips.includes(ip)).map(([, h]) => h.facts);
    if (others.length === 0) return 'ok';
    for (const o of others) {
      if (o.sharingKey === '' || s.sharingKey !== o.sharingKey || s.backendKey !== o.backendKey) return 'sharing';
    }
    return others.every((o) => mayShare(s, o)) ? 'ok' : 'port';
  }

  assign(s: ServiceFacts, ips: string[]): Outcome {
    const canon = ips.map((ip) => {
      const p = parseIp(ip);
      return p ? formatIp(p.family, p.value) : ip;
    });
    const owner = this.owner(canon);
    if (!owner) return { ok: false, kind: 'not-allowed' };
    if (!admits(this.pools.get(owner) as Pool, s)) return { ok: false, kind: 'incompatible' };
    if (canon.length > 2) return { ok: false, kind: 'too-many' };
    if (canon.length === 2 && familyOf(canon[0] as string) === familyOf(canon[1] as string)) return { ok: false, kind: 'same-family' };
    for (const ip of canon) {
      const verdict = this.usableBy(s, ip);
      if (verdict !== 'ok') return { ok: false, kind: verdict };
    }
    this.held.set(s.key, { pool: owner, ips: canon, facts: s });
    return { ok: true, pool: owner, ips: canon };
  }

  pick(p: Pool, family: Family, s: ServiceFacts): string | undefined {
    return walk(p, family).find((ip) => this.usableBy(s, ip) === 'ok');
  }

  plan(s: ServiceFacts): { single?: Family; prefer: boolean; primary: Family } | string {
    const f = s.clusterIpFamilies;
    if (f.length === 0) return 'no-cluster-ip';
    if (f.length === 1) return { single: f[0] as Family, prefer: false, primary: s.primaryFamily };
    if (f.length > 2 || f[0] === f[1]) return 'bad-families';
    return { prefer: s.ipFamilyPolicy === 'PreferDualStack', primary: s.primaryFamily };
  }

  allocate(s: ServiceFacts): Outcome {
    const h = this.held.get(s.key);
    if (h) return this.assign(s, h.ips);
    const plan = this.plan(s);
    if (typeof plan === 'string') return { ok: false, kind: plan };
    const byName = [...this.pools.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
    const rank = (p: Pool) => ((p.serviceAllocation?.priority ?? 0) > 0 ? (p.serviceAllocation?.priority as number) : Infinity);
    const pinned = byName.filter((p) => p.serviceAllocation && p.autoAssign && admits(p, s)).sort((a, b) => rank(a) - rank(b));
    const fallback = byName.filter((p) => !p.serviceAllocation && p.autoAssign);
    for (const list of [pinned, fallback]) {
      let firstPrimary: string[] | undefined;
      let firstSecondary: string[] | undefined;
      for (const p of list) {
        if (plan.single) {
          const ip = this.pick(p, plan.single, s);
          if (ip) return this.assign(s, [ip]);
          continue;
        }
        const v4 = this.pick(p, 4, s);
        const v6 = this.pick(p, 6, s);
        if (v4 && v6) return this.assign(s, [v4, v6]);
        if (!plan.prefer) continue;
        const [pri, sec] = plan.primary === 4 ? [v4, v6] : [v6, v4];
        if (pri && !firstPrimary) firstPrimary = [pri];
        if (sec && !firstSecondary) firstSecondary = [sec];
      }
      const fallbackPick = firstPrimary ?? firstSecondary;
      if (fallbackPick) return this.assign(s, fallbackPick);
    }
    return { ok: false, kind: 'full' };
  }

  allocateFromPool(s: ServiceFacts, name: string): Outcome {
    const h = this.held.get(s.key);
    const plan = this.plan(s);
    if (h && h.pool === name) {
      if (typeof plan !== 'string' && s.ipFamilyPolicy !== 'PreferDualStack') {
        const matches = plan.single ? h.ips.length === 1 && familyOf(h.ips[0] as string) === plan.single : h.ips.length === 2;
        if (!matches) return { ok: false, kind: 'wrong-family' };
      }
      return this.assign(s, h.ips);
    }
    const p = this.pools.get(name);
    if (!p) return { ok: false, kind: 'unknown-pool' };
    if (typeof plan === 'string') return { ok: false, kind: plan };
    if (!admits(p, s)) return { ok: false, kind: 'incompatible' };
    if (h) this.held.delete(s.key);
    if (plan.single) {
      const ip = this.pick(p, plan.single, s);
      return ip ? this.assign(s, [ip]) : { ok: false, kind: 'pool-full' };
    }
    const v4 = this.pick(p, 4, s);
    const v6 = this.pick(p, 6, s);
    if (v4 && v6) return this.assign(s, [v4, v6]);
    if (plan.prefer && (v4 || v6)) return this.assign(s, [(v4 ?? v6) as string]);
    return { ok: false, kind: 'pool-full' };
  }

  allocateAdditionalFamily(s: ServiceFacts): Outcome {
    const h = this.held.get(s.key);
    if (!h || h.ips.length !== 1) return { ok: false, kind: 'not-one-ip' };
    const existing = h.ips[0] as string;
    const missing: Family = familyOf(existing) === 4 ? 6 : 4;
    const ip = this.pick(this.pools.get(h.pool) as Pool, missing, s);
    return ip ? this.assign(s, [existing, ip]) : { ok: false, kind: 'pool-full' };
  }

  unassign(key: string): boolean {
    return this.held.delete(key);
  }

  setPools(next: Map<string, Pool>): string[] {
    this.pools = next;
    const dropped: string[] = [];
    for (const key of [...this.held.keys()].sort()) {
      const h = this.held.get(key) as ModelHolding;
      const owner = this.owner(h.ips);
      if (owner) h.pool = owner;
      else {
        this.held.delete(key);
        dropped.push(key);
      }
    }
    return dropped;
  }

  counters(name: string): Record<string, bigint> {
    const p = this.pools.get(name);
    if (!p) return { assignedIPv4: 0n, assignedIPv6: 0n, availableIPv4: 0n, availableIPv6: 0n };
    const inUse = { 4: new Set<string>(), 6: new Set<string>() };
    for (const h of this.held.values()) {
      if (h.pool !== name) continue;
      for (const ip of h.ips) inUse[familyOf(ip) as Family].add(ip);
    }
    return {
      assignedIPv4: BigInt(inUse[4].size),
      assignedIPv6: BigInt(inUse[6].size),
      availableIPv4: BigInt(walk(p, 4).length - inUse[4].size),
      availableIPv6: BigInt(walk(p, 6).length - inUse[6].size),
    };
  }
}

function kindOf(error: string): string {
  const kinds: Array<[RegExp, string]> = [
    [/^no available IPs in pool "/, 'pool-full'],
    [/^no available IPs/, 'full'],
    [/^unknown pool "/, 'unknown-pool'],
    [/^\[.*\] is not allowed in config/, 'not-allowed'],
    [/^pool \S+ not compatible for ip assignment/, 'incompatible'],
    [/^can't change sharing key for "/, 'sharing'],
    [/^port \S+ is already in use on "/, 'port'],
    [/^more than two addresses/, 'too-many'],
    [/has the same family/, 'same-family'],
    [/^IP for wrong family assigned/, 'wrong-family'],
    [/has no cluster IP/, 'no-cluster-ip'],
    [/has cluster IPs of families/, 'bad-families'],
    [/must hold exactly one IP/, 'not-one-ip'],
  ];
  return kinds.find(([re]) => re.test(error))?.[1] ?? `unrecognised: ${error}`;
}

function outcomeOf(r: AllocationResult): Outcome {
  return r.ok ? { ok: true, pool: r.pool, ips: [...r.ips] } : { ok: false, kind: kindOf(r.error) };
}

// --- generators ------------------------------------------------------------------------------

/** Disjoint address pieces; each config hands some of them to pools a, b, c. */
const PIECES = ['10.0.0.0/30', '10.0.0.254/31', '10.0.1.0/31', '10.0.1.4-10.0.1.6', '1000::/127', '1000::10/126', '1000::20/128'];
/** Addresses requested explicitly: inside pieces, buggy ones, and outside every pool. */
const REQUESTABLE = ['10.0.0.0', '10.0.0.1', '10.0.0.3', '10.0.0.255', '10.0.1.0', '10.0.1.5', '10.9.9.9', '1000::', '1000::11', '1000::20', '2000::1'];
const KEYS = ['ns1/s0', 'ns1/s1', 'ns1/s2', 'ns2/s3', 'ns2/s4', 'ns2/s5', 'ns3/s6'];
const POOL_NAMES = ['a', 'b', 'c'];
const PORTS = [
  { protocol: 'TCP', port: 80 },
  { protocol: 'TCP', port: 443 },
  { protocol: 'UDP', port: 80 },
];

const serviceAllocationArb = fc.oneof(
  fc.constant(undefined),
  fc.record({ priority: fc.integer({ min: 0, max: 3 }), namespaces: fc.constant(['ns1']) }),
  fc.record({ priority: fc.integer({ min: 0, max: 3 }), serviceSelectors: fc.constant([labels({ app: 'x' })]) }),
  fc.record({ priority: fc.integer({ min: 0, max: 3 }), namespaceSelectors: fc.constant([labels({ env: 'prod' })]) }),
  fc.record({ priority: fc.integer({ min: 1, max: 3 }) }),
);

const configArb: fc.Arbitrary<Map<string, Pool>> = fc
  .record({
    owners: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: PIECES.length, maxLength: PIECES.length }),
    order: fc.array(fc.integer(), { minLength: PIECES.length, maxLength: PIECES.length }),
    opts: fc.array(
      fc.record({ autoAssign: fc.boolean(), avoidBuggyIPs: fc.boolean(), serviceAllocation: serviceAllocationArb }),
      { minLength: POOL_NAMES.length, maxLength: POOL_NAMES.length },
    ),
  })
  .map(({ owners, order, opts }) => {
    const result = new Map<string, Pool>();
    POOL_NAMES.forEach((name, i) => {
      const pieces = PIECES.map((p, j) => ({ p, j })).filter(({ j }) => owners[j] === i);
      if (pieces.length === 0) return;
      pieces.sort((x, y) => (order[x.j] as number) - (order[y.j] as number));
      const o = opts[i] as { autoAssign: boolean; avoidBuggyIPs: boolean; serviceAllocation: Record<string, unknown> | undefined };
      result.set(
        name,
        makePool(
          name,
          pieces.map(({ p }) => p),
          { autoAssign: o.autoAssign, avoidBuggyIPs: o.avoidBuggyIPs, ...(o.serviceAllocation ? { serviceAllocation: o.serviceAllocation } : {}) },
        ),
      );
    });
    return result;
  });

const factsArb: fc.Arbitrary<ServiceFacts> = fc
  .record({
    key: fc.constantFrom(...KEYS),
    families: fc.constantFrom<Family[]>([4], [4], [6], [4, 6], [6, 4], []),
    policy: fc.constantFrom('SingleStack', 'PreferDualStack', 'RequireDualStack'),
    sharingKey: fc.constantFrom('', 'k1', 'k1', 'k1', 'k2'),
    backendKey: fc.constantFrom('', '', '', 'app=x'),
    ports: fc.subarray(PORTS),
    app: fc.boolean(),
    prod: fc.boolean(),
  })
  .map((r) => ({
    key: r.key,
    namespace: r.key.split('/')[0] as string,
    labels: (r.app ? { app: 'x' } : {}) as Record<string, string>,
    namespaceLabels: (r.prod ? { env: 'prod' } : {}) as Record<string, string>,
    clusterIpFamilies: r.families,
    ipFamilyPolicy: r.policy as ServiceFacts['ipFamilyPolicy'],
    primaryFamily: r.families[0] ?? 4,
    sharingKey: r.sharingKey,
    backendKey: r.backendKey,
    ports: r.ports,
  }));

type Op =
  | { op: 'allocate'; facts: ServiceFacts }
  | { op: 'allocateFromPool'; facts: ServiceFacts; pool: string }
  | { op: 'assign'; facts: ServiceFacts; ips: string[] }
  | { op: 'additional'; facts: ServiceFacts }
  | { op: 'unassign'; key: string }
  | { op: 'setPools'; config: Map<string, Pool> };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: factsArb.map((facts) => ({ op: 'allocate' as const, facts })) },
  {
    weight: 2,
    arbitrary: fc.record({ facts: factsArb, pool: fc.constantFrom('a', 'b', 'c', 'nope') }).map((r) => ({ op: 'allocateFromPool' as const, ...r })),
  },
  {
    weight: 3,
    arbitrary: fc
      .record({ facts: factsArb, ips: fc.array(fc.constantFrom(...REQUESTABLE), { minLength: 1, maxLength: 3 }) })
      .map((r) => ({ op: 'assign' as const, ...r })),
  },
  { weight: 1, arbitrary: factsArb.map((facts) => ({ op: 'additional' as const, facts })) },
  { weight: 2, arbitrary: fc.constantFrom(...KEYS).map((key) => ({ op: 'unassign' as const, key })) },
  { weight: 1, arbitrary: configArb.map((config) => ({ op: 'setPools' as const, config })) },
);

function apply(a: Allocator, m: Model, op: Op): { real: unknown; model: unknown } {
  switch (op.op) {
    case 'allocate':
      return { real: outcomeOf(a.allocate(op.facts)), model: m.allocate(op.facts) };
    case 'allocateFromPool':
      return { real: outcomeOf(a.allocateFromPool(op.facts, op.pool)), model: m.allocateFromPool(op.facts, op.pool) };
    case 'assign':
      return { real: outcomeOf(a.assign(op.facts, op.ips)), model: m.assign(op.facts, op.ips) };
    case 'additional':
      return { real: outcomeOf(a.allocateAdditionalFamily(op.facts)), model: m.allocateAdditionalFamily(op.facts) };
    case 'unassign':
      return { real: a.unassign(op.key), model: m.unassign(op.key) };
    case 'setPools':
      return { real: a.setPools(op.config).dropped, model: m.setPools(op.config) };
  }
}

/** Independent check of 3.4 on the model's state: every address held by two services is legally shared. */
function assertNoIllegalSharing(m: Model): void {
  const entries = [...m.held.entries()];
  for (let i = 0; i < entries.length; i++) {
    for (let j = i + 1; j < entries.length; j++) {
      const [ka, ha] = entries[i] as [string, ModelHolding];
      const [kb, hb] = entries[j] as [string, ModelHolding];
      if (ha.ips.some((ip) => hb.ips.includes(ip))) {
        expect(mayShare(ha.facts, hb.facts), `${ka} and ${kb} share ${ha.ips} / ${hb.ips}`).toBe(true);
      }
    }
  }
}

function assertSameState(a: Allocator, m: Model): void {
  expect(a.allocatedKeys()).toEqual([...m.held.keys()].sort());
  for (const [key, h] of m.held) expect(a.allocationOf(key), key).toEqual({ pool: h.pool, ips: h.ips });
  expect(a.poolNames()).toEqual([...m.pools.keys()].sort());
  for (const name of [...m.pools.keys(), 'nope']) expect(a.poolCounters(name), name).toEqual(m.counters(name));
}

function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('allocator vs brute-force model', () => {
  it('gives the same results and state for random operation sequences, and never shares illegally', () => {
    fc.assert(
      fc.property(configArb, fc.array(opArb, { minLength: 5, maxLength: 40, size: 'max' }), (config, ops) => {
        const a = new Allocator();
        const m = new Model();
        expect(a.setPools(config).dropped).toEqual(m.setPools(config));
        for (const op of ops) {
          const { real, model } = apply(a, m, op);
          expect(real, JSON.stringify(op, (_k, v) => (v instanceof Map ? [...v.values()].map((p: Pool) => [p.name, p.addresses]) : v))).toEqual(model);
          assertSameState(a, m);
          assertNoIllegalSharing(m);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('rebuilding by assigning every current allocation, in any order, reproduces it', () => {
    fc.assert(
      fc.property(configArb, fc.array(opArb, { minLength: 5, maxLength: 40, size: 'max' }), fc.integer(), (config, ops, seed) => {
        const a = new Allocator();
        const m = new Model();
        a.setPools(config);
        m.setPools(config);
        for (const op of ops) apply(a, m, op);

        const fresh = new Allocator();
        fresh.setPools(m.pools);
        const rebuilt = new Model();
        rebuilt.setPools(m.pools);
        for (const [key, h] of shuffled([...m.held.entries()], seed)) {
          // setPools keeps an allocation whose new pool no longer admits the service (MetalLB re-validates
          // it on the next pass); only those may be refused.
          const admitted = admits(m.pools.get(h.pool) as Pool, h.facts);
          const r = fresh.assign(h.facts, h.ips);
          if (admitted) {
            expect(r, key).toEqual({ ok: true, pool: h.pool, ips: h.ips });
            rebuilt.held.set(key, h);
          } else {
            expect(r.ok ? 'ok' : kindOf(r.error)).toBe('incompatible');
          }
        }
        assertSameState(fresh, rebuilt);
        if (rebuilt.held.size === m.held.size) {
          for (const name of m.pools.keys()) expect(fresh.poolCounters(name)).toEqual(a.poolCounters(name));
        }
      }),
      { numRuns: 150 },
    );
  });
});
