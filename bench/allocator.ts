// Allocator throughput: fill a /16 IPv4 pool, 100,000 allocations in a /64 IPv6 pool, and
// unassign+allocate churn on a full /16. Prints the figures and returns them (ops per second).
// Run alone: `npm run bench -- allocator`.
import { pathToFileURL } from 'node:url';
import { Allocator } from '../src/allocator/allocator.js';
import type { ServiceFacts } from '../src/allocator/types.js';
import type { Pool } from '../src/config/model.js';
import { parseCidr, type Family } from '../src/net/address.js';

function poolOf(name: string, cidr: string): Map<string, Pool> {
  const parsed = parseCidr(cidr);
  if (!parsed) throw new Error(`bench: bad CIDR ${cidr}`);
  return new Map([[name, { name, labels: {}, cidrs: [parsed], addresses: [cidr], autoAssign: true, avoidBuggyIPs: false }]]);
}

function service(i: number, family: Family): ServiceFacts {
  return {
    key: `bench/svc-${i}`,
    namespace: 'bench',
    labels: {},
    namespaceLabels: {},
    clusterIpFamilies: [family],
    ipFamilyPolicy: 'SingleStack',
    primaryFamily: family,
    sharingKey: '',
    backendKey: '',
    ports: [{ protocol: 'TCP', port: 80 }],
  };
}

function perSecond(ops: number, startNs: bigint): number {
  const seconds = Number(process.hrtime.bigint() - startNs) / 1e9;
  return Math.round(ops / seconds);
}

/** Deterministic pseudo-random index (no Math.random, so runs are comparable). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
}

export async function benchAllocator(): Promise<Record<string, number>> {
  const results: Record<string, number> = {};

  // 1. Fill a /16 completely.
  const v4 = new Allocator();
  v4.setPools(poolOf('v4', '10.0.0.0/16'));
  const fill = 65_536;
  let start = process.hrtime.bigint();
  for (let i = 0; i < fill; i++) {
    const r = v4.allocate(service(i, 4));
    if (!r.ok) throw new Error(`bench: allocation ${i} failed: ${r.error}`);
  }
  results.ipv4FillPerSecond = perSecond(fill, start);
  if (v4.allocate(service(fill, 4)).ok) throw new Error('bench: the /16 should be full');
  if (v4.poolCounters('v4').availableIPv4 !== 0n) throw new Error('bench: counters disagree with a full /16');

  // 2. Churn on the full /16: release a random service, allocate a new one into the hole.
  const churn = 50_000;
  const next = lcg(42);
  const live = Array.from({ length: fill }, (_, i) => i);
  let nextId = fill + 1;
  start = process.hrtime.bigint();
  for (let i = 0; i < churn; i++) {
    const slot = next() % live.length;
    v4.unassign(`bench/svc-${live[slot]}`);
    const r = v4.allocate(service(nextId, 4));
    if (!r.ok) throw new Error(`bench: churn allocation failed: ${r.error}`);
    live[slot] = nextId++;
  }
  results.ipv4ChurnPerSecond = perSecond(churn, start);

  // 3. 100,000 allocations in a /64.
  const v6 = new Allocator();
  v6.setPools(poolOf('v6', '2001:db8::/64'));
  const v6Count = 100_000;
  start = process.hrtime.bigint();
  for (let i = 0; i < v6Count; i++) {
    const r = v6.allocate(service(i, 6));
    if (!r.ok) throw new Error(`bench: IPv6 allocation ${i} failed: ${r.error}`);
  }
  results.ipv6AllocPerSecond = perSecond(v6Count, start);

  // 4. Re-homing on a config change (rename of the full /16 pool): cost of setPools.
  start = process.hrtime.bigint();
  const { dropped } = v4.setPools(poolOf('v4-renamed', '10.0.0.0/16'));
  if (dropped.length !== 0) throw new Error('bench: rename dropped allocations');
  results.setPoolsFullSlash16Ms = Math.round(Number(process.hrtime.bigint() - start) / 1e6);

  console.log(`allocator: fill a /16 (65,536 IPs)       ${results.ipv4FillPerSecond.toLocaleString('en-US')} allocations/s`);
  console.log(`allocator: churn on a full /16            ${results.ipv4ChurnPerSecond.toLocaleString('en-US')} (unassign+allocate)/s`);
  console.log(`allocator: 100,000 allocations in a /64   ${results.ipv6AllocPerSecond.toLocaleString('en-US')} allocations/s`);
  console.log(`allocator: setPools rename, full /16      ${results.setPoolsFullSlash16Ms} ms`);
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchAllocator();
}
