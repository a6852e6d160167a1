// MetalLB's controller mutation table (spec §3.8, last paragraph; controller_test.go
// TestControllerMutation): every input converges to the same end state whatever the controller
// did before, so the whole table is run in many shuffled orders against one real Allocator.
import type { V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { Allocator } from '../../src/allocator/allocator.js';
import { pool, shuffled } from './allocator.fixtures.js';
import type { Pool, ServiceAllocation } from '../../src/config/model.js';
import { convergeService, serviceNeedsWrite, type ConvergeOutcome } from '../../src/controller/converge.js';
import { serviceKey } from '../../src/controller/serviceFacts.js';
import { parseAddressEntry } from '../../src/net/address.js';

const team = { matchLabels: { team: 'metallb' }, matchExpressions: [] };

// MetalLB's table layout, with the overlapping test pools of controller_test.go split apart
// (our allocator, like the config parser, refuses overlapping CIDRs).
const POOLS = new Map(
  [
    pool('pool1', ['1.2.3.0/31', '1000::/127']),
    pool('pool2', ['3.4.5.6/32'], { autoAssign: false }),
    pool('pool3', ['1.2.5.0/31', '1005::/127'], { autoAssign: false }),
    pool('pool4', ['2000::1/128'], { autoAssign: false }),
    pool('pool6', ['7.8.9.0/31'], { serviceAllocation: { namespaces: ['test-ns1'], priority: 10 } }),
    pool('pool7', ['10.11.12.0/31'], { serviceAllocation: { namespaces: ['test-ns1'], priority: 11 } }),
    pool('pool8', ['13.14.15.0/31'], { serviceAllocation: { serviceSelectors: [team], priority: 9 } }),
    pool('pool9', ['16.17.18.0/31'], { serviceAllocation: { namespaces: ['test-ns2'] } }),
    pool('pool10', ['19.20.21.0/31'], { serviceAllocation: { serviceSelectors: [team], priority: 8 } }),
    pool('pool11', ['22.23.24.0/31'], { serviceAllocation: { namespaces: ['test-ns1'], serviceSelectors: [team], priority: 8 } }),
    pool('pool12', ['25.26.27.0/31'], { serviceAllocation: { namespaces: ['test-ns1'], serviceSelectors: [team], priority: 5 } }),
  ].map((p) => [p.name, p]),
);

interface SvcInput {
  ns?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  type?: string;
  clusterIPs?: string[];
  clusterIP?: string;
  loadBalancerIP?: string;
  ipFamilyPolicy?: string;
  externalTrafficPolicy?: string;
  ingress?: { ip?: string; hostname?: string }[];
}

function service(i: SvcInput): V1Service {
  return {
    metadata: { name: 'test', namespace: i.ns ?? 'default', labels: i.labels, annotations: i.annotations },
    spec: {
      type: i.type ?? 'LoadBalancer',
      clusterIPs: i.clusterIPs ?? (i.clusterIP ? undefined : ['10.96.0.1']),
      clusterIP: i.clusterIP,
      loadBalancerIP: i.loadBalancerIP,
      ipFamilyPolicy: i.ipFamilyPolicy,
      externalTrafficPolicy: i.externalTrafficPolicy,
    },
    status: i.ingress ? { loadBalancer: { ingress: i.ingress } } : {},
  };
}

const V6_CLUSTER = ['fd00::1'];
const DUAL_CLUSTER = ['10.96.0.1', 'fd00::1'];
const ip = (...ips: string[]): { ip: string }[] => ips.map((x) => ({ ip: x }));

interface Case {
  desc: string;
  in: SvcInput;
  ips: string[];
  pool?: string;
  /** "Type/Reason" of every event, in order. */
  events: string[];
}

const ALLOCATED = 'Normal/IPAllocated';
const FAILED = 'Warning/AllocationFailed';

const CASES: Case[] = [
  { desc: 'simple non-LoadBalancer', in: { type: 'ClusterIP' }, ips: [], events: [] },
  { desc: 'simple LoadBalancer', in: {}, ips: ['1.2.3.0'], pool: 'pool1', events: [ALLOCATED] },
  { desc: 'request specific IP', in: { loadBalancerIP: '1.2.3.1' }, ips: ['1.2.3.1'], pool: 'pool1', events: [ALLOCATED] },
  {
    desc: 'request specific IP via annotation',
    in: { annotations: { 'metallb.io/loadBalancerIPs': '1.2.3.1' } },
    ips: ['1.2.3.1'],
    pool: 'pool1',
    events: [ALLOCATED],
  },
  {
    desc: 'both spec.loadBalancerIP and annotation',
    in: { annotations: { 'metallb.io/loadBalancerIPs': '1.2.3.1' }, loadBalancerIP: '1.2.3.2' },
    ips: [],
    events: [FAILED],
  },
  { desc: 'request invalid IP', in: { loadBalancerIP: 'please sir may I have an IP address thank you' }, ips: [], events: [FAILED] },
  {
    desc: 'IP annotation and pool annotation naming another pool',
    in: { annotations: { 'metallb.io/loadBalancerIPs': '1.2.3.1', 'metallb.io/address-pool': 'pool2' } },
    ips: [],
    events: [FAILED],
  },
  { desc: 'invalid IP via annotation', in: { annotations: { 'metallb.io/loadBalancerIPs': 'please sir' } }, ips: [], events: [FAILED] },
  {
    desc: 'two IPs of the same family via annotation',
    in: { annotations: { 'metallb.io/loadBalancerIPs': '1.2.3.1,1.2.3.0' } },
    ips: [],
    events: [FAILED],
  },
  {
    desc: 'infeasible requested IP removes the held one',
    in: { loadBalancerIP: '1.2.3.4', ingress: ip('1.2.3.1') },
    ips: [],
    events: [FAILED],
  },
  { desc: 'request IP from specific pool', in: { annotations: { 'metallb.io/address-pool': 'pool1' } }, ips: ['1.2.3.0'], pool: 'pool1', events: [ALLOCATED] },
  {
    desc: 'switch to a different (autoAssign=false) pool',
    in: { annotations: { 'metallb.io/address-pool': 'pool2' }, ingress: ip('1.2.3.0') },
    ips: ['3.4.5.6'],
    pool: 'pool2',
    events: [ALLOCATED],
  },
  { desc: 'unknown pool requested', in: { annotations: { 'metallb.io/address-pool': 'does-not-exist' } }, ips: [], events: [FAILED] },
  {
    desc: 'status IP outside all pools is replaced',
    in: { ingress: ip('2.3.4.5') },
    ips: ['1.2.3.0'],
    pool: 'pool1',
    events: ['Normal/ClearAssignment', ALLOCATED],
  },
  {
    desc: 'hostname ingress ignored',
    in: { ingress: [{ hostname: 'foo.bar.local' }, { ip: '10.10.10.10' }] },
    ips: ['1.2.3.0'],
    pool: 'pool1',
    events: ['Normal/ClearAssignment', ALLOCATED],
  },
  { desc: 'former LoadBalancer, now NodePort', in: { type: 'NodePort', ingress: ip('1.2.3.0') }, ips: [], events: [] },
  { desc: 'request IP of an autoAssign=false pool', in: { loadBalancerIP: '3.4.5.6' }, ips: ['3.4.5.6'], pool: 'pool2', events: [ALLOCATED] },
  {
    desc: 'requested IP with externalTrafficPolicy Local',
    in: { loadBalancerIP: '3.4.5.6', externalTrafficPolicy: 'Local' },
    ips: ['3.4.5.6'],
    pool: 'pool2',
    events: [ALLOCATED],
  },
  { desc: 'no cluster IP', in: { clusterIPs: [] }, ips: [], events: [] },
  { desc: 'wrong family requested (v4 for v6)', in: { loadBalancerIP: '1.2.3.1', clusterIPs: V6_CLUSTER }, ips: [], events: [FAILED] },
  {
    desc: 'wrong family requested via annotation (v4 for v6)',
    in: { annotations: { 'metallb.io/loadBalancerIPs': '1.2.3.1' }, clusterIPs: V6_CLUSTER },
    ips: [],
    events: [FAILED],
  },
  { desc: 'wrong family requested (v6 for v4)', in: { loadBalancerIP: '1000::' }, ips: [], events: [FAILED] },
  { desc: 'wrong family requested via annotation (v6 for v4)', in: { annotations: { 'metallb.io/loadBalancerIPs': '1000::' } }, ips: [], events: [FAILED] },
  { desc: 'v6 IP held by a v4 service', in: { ingress: ip('1000::') }, ips: ['1.2.3.0'], pool: 'pool1', events: [ALLOCATED] },
  { desc: 'v4 IP held by a v6 service', in: { ingress: ip('1.2.3.0'), clusterIPs: V6_CLUSTER }, ips: ['1000::'], pool: 'pool1', events: [ALLOCATED] },
  // dual-stack
  { desc: 'simple dual-stack', in: { clusterIPs: DUAL_CLUSTER, ipFamilyPolicy: 'RequireDualStack' }, ips: ['1.2.3.0', '1000::'], pool: 'pool1', events: [ALLOCATED] },
  {
    desc: 'dual-stack IPs from a specific pool',
    in: { clusterIPs: DUAL_CLUSTER, annotations: { 'metallb.io/address-pool': 'pool3' } },
    ips: ['1.2.5.0', '1005::'],
    pool: 'pool3',
    events: [ALLOCATED],
  },
  { desc: 'single spec.loadBalancerIP for dual-stack', in: { clusterIPs: DUAL_CLUSTER, loadBalancerIP: '1.2.3.1' }, ips: [], events: [FAILED] },
  {
    desc: 'single IP annotation for dual-stack',
    in: { clusterIPs: DUAL_CLUSTER, annotations: { 'metallb.io/loadBalancerIPs': '1.2.3.1' } },
    ips: [],
    events: [FAILED],
  },
  {
    desc: 'dual-stack IPs via annotation',
    in: { clusterIPs: DUAL_CLUSTER, annotations: { 'metallb.io/loadBalancerIPs': '1.2.3.0,1000::' } },
    ips: ['1.2.3.0', '1000::'],
    pool: 'pool1',
    events: [ALLOCATED],
  },
  {
    desc: 'dual-stack with hostname and single v6 ingress',
    in: { clusterIPs: ['fd00::1', '5.6.7.8'], ingress: [{ hostname: 'foo.bar.local' }, { ip: '1000::' }] },
    ips: ['1.2.3.0', '1000::'],
    pool: 'pool1',
    events: [ALLOCATED],
  },
  {
    desc: 'dual-stack annotation on a single-stack service',
    in: { clusterIP: '10.96.0.1', annotations: { 'metallb.io/loadBalancerIPs': '1.2.3.0,1000::' } },
    ips: [],
    events: [FAILED],
  },
  // pinned pools
  { desc: 'namespace-pinned pool, priority 10 beats 11', in: { ns: 'test-ns1' }, ips: ['7.8.9.0'], pool: 'pool6', events: [ALLOCATED] },
  { desc: 'namespace-pinned pool without priority', in: { ns: 'test-ns2' }, ips: ['16.17.18.0'], pool: 'pool9', events: [ALLOCATED] },
  { desc: 'label-pinned pool, priority 8 beats 9', in: { labels: { team: 'metallb' } }, ips: ['19.20.21.0'], pool: 'pool10', events: [ALLOCATED] },
  {
    desc: 'namespace+label pool with priority 5 beats all',
    in: { ns: 'test-ns1', labels: { team: 'metallb' } },
    ips: ['25.26.27.0'],
    pool: 'pool12',
    events: [ALLOCATED],
  },
  {
    desc: 'status with 3 IPs: family error, one new IP',
    in: { ingress: ip('1.2.3.0', '1.2.3.1', '1.2.3.2') },
    ips: ['1.2.3.0'],
    pool: 'pool1',
    events: ['Warning/nolbIPsIPFamily', ALLOCATED],
  },
  // beyond MetalLB's table
  {
    desc: 'legacy address-pool annotation',
    in: { annotations: { 'metallb.universe.tf/address-pool': 'pool2' } },
    ips: ['3.4.5.6'],
    pool: 'pool2',
    events: [ALLOCATED, 'Warning/deprecatedAnnotation'],
  },
  {
    desc: 'RequireDualStack with one cluster IP drops the held IP',
    in: { ipFamilyPolicy: 'RequireDualStack', ingress: ip('1.2.3.0') },
    ips: [],
    events: ['Warning/not enough clusterips'],
  },
  {
    desc: 'PreferDualStack holding v4 gets v6 added',
    in: { clusterIPs: DUAL_CLUSTER, ipFamilyPolicy: 'PreferDualStack', ingress: ip('1.2.3.0') },
    ips: ['1.2.3.0', '1000::'],
    pool: 'pool1',
    events: [ALLOCATED],
  },
];


const eventsOf = (o: ConvergeOutcome): string[] => o.events.map((e) => `${e.type}/${e.reason}`);

/** The object as the caller would write it back from the outcome. */
function applied(svc: V1Service, o: ConvergeOutcome): V1Service {
  const annotations = { ...(svc.metadata?.annotations ?? {}) };
  if (o.allocatedFromPool === undefined) delete annotations['metallb.io/ip-allocated-from-pool'];
  else annotations['metallb.io/ip-allocated-from-pool'] = o.allocatedFromPool;
  return { ...svc, metadata: { ...svc.metadata, annotations }, status: { loadBalancer: { ingress: o.ingressIps.map((x) => ({ ip: x })) } } };
}

function runCase(allocator: Allocator, c: Case): void {
  const svc = service(c.in);
  const ctx = { allocator, poolsConfigured: true, namespaceLabels: {} };
  const out = convergeService(svc, ctx);
  expect({ desc: c.desc, ips: out.ingressIps, pool: out.allocatedFromPool, events: eventsOf(out) }).toEqual({
    desc: c.desc,
    ips: c.ips,
    pool: c.pool,
    events: c.events,
  });
  // The allocator holds exactly what the Service will show.
  const held = allocator.allocationOf(serviceKey(svc));
  if (c.ips.length === 0) expect(held, c.desc).toBeUndefined();
  else expect(held, c.desc).toEqual({ pool: c.pool, ips: c.ips });
  // A Service left without an IP always says why (for the caller's log).
  if (c.ips.length === 0 && c.in.type === undefined) expect(out.failure, c.desc).toBeDefined();

  // Steady state: once written, the next pass changes nothing and says nothing.
  if (c.ips.length > 0) {
    const written = applied(svc, out);
    const again = convergeService(written, ctx);
    expect({ desc: c.desc, ips: again.ingressIps, pool: again.allocatedFromPool, events: eventsOf(again), reprocess: again.reprocessAll }).toEqual({
      desc: c.desc,
      ips: c.ips,
      pool: c.pool,
      events: [],
      reprocess: false,
    });
    expect(serviceNeedsWrite(written, again), c.desc).toEqual({ status: false, annotations: false });
  }
}

describe('controller mutation table (MetalLB controller_test.go)', () => {
  it('converges every case in table order', () => {
    const allocator = new Allocator();
    allocator.setPools(POOLS);
    for (const c of CASES) runCase(allocator, c);
  });

  it('reaches the same end state whatever ran before (30 shuffled orders, one allocator)', () => {
    const allocator = new Allocator();
    allocator.setPools(POOLS);
    for (let seed = 1; seed <= 30; seed++) {
      for (const c of shuffled(CASES, seed)) runCase(allocator, c);
    }
  });

  it('gives MetalLB-shaped event messages', () => {
    const allocator = new Allocator();
    allocator.setPools(POOLS);
    const ctx = { allocator, poolsConfigured: true, namespaceLabels: {} };
    const ok = convergeService(service({}), ctx);
    expect(ok.events[0]?.message).toBe('Assigned IP ["1.2.3.0"]');
    const dual = convergeService(service({ clusterIPs: DUAL_CLUSTER, ipFamilyPolicy: 'RequireDualStack' }), ctx);
    expect(dual.events[0]?.message).toBe('Assigned IP ["1.2.3.0" "1000::"]');
    const unknown = convergeService(service({ annotations: { 'metallb.io/address-pool': 'nope' } }), ctx);
    expect(unknown.events[0]?.message).toMatch(/^Failed to allocate IP for "default\/test": unknown pool "nope"/);
    const wrongFamily = convergeService(service({ loadBalancerIP: '1000::' }), ctx);
    expect(wrongFamily.events[0]?.message).toMatch(/requested loadBalancer IP\(s\) \["1000::"\] does not match the ipFamily of the service/);
    const poolClash = convergeService(service({ annotations: { 'metallb.io/loadBalancerIPs': '1.2.3.1', 'metallb.io/address-pool': 'pool2' } }), ctx);
    expect(poolClash.events[0]?.message).toMatch(/is not compatible with requested address pool pool2 \(they belong to pool pool1\)/);
    const outside = convergeService(service({ ingress: ip('2.3.4.5') }), ctx);
    expect(outside.events[0]?.message).toMatch(/^current IP for "default\/test" not allowed by config, will attempt for new IP assignment: /);
    const needDual = convergeService(service({ ipFamilyPolicy: 'RequireDualStack' }), ctx);
    expect(needDual.events[0]?.message).toMatch(/^Service requires dual stack but not enough clusterips \["10.96.0.1"\]/);
    const legacy = convergeService(service({ annotations: { 'metallb.universe.tf/address-pool': 'pool2' } }), ctx);
    expect(legacy.events.at(-1)?.message).toBe('Service uses deprecated annotation metallb.universe.tf/address-pool; rename it to metallb.io/address-pool');
  });
});
