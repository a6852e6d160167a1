// convergeService scenarios beyond the mutation table: restart reproduction, legacy annotations,
// dual-stack policies, requested-IP and pool changes, sharing-key changes, deletion, config
// changes, full-reprocess order and the write decision.
import type { V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { Allocator } from '../../src/allocator/allocator.js';
import { shuffled } from './allocator.fixtures.js';
import type { Pool } from '../../src/config/model.js';
import {
  convergeService,
  reprocessOrder,
  serviceDeleted,
  serviceNeedsWrite,
  type ConvergeContext,
  type ConvergeOutcome,
} from '../../src/controller/converge.js';
import { isHandledByUs, serviceKey } from '../../src/controller/serviceFacts.js';
import { parseAddressEntry } from '../../src/net/address.js';

function pool(name: string, addresses: string[], autoAssign = true): Pool {
  const cidrs = addresses.flatMap((a) => {
    const r = parseAddressEntry(a);
    if (!r.ok) throw new Error(r.reason);
    return r.cidrs;
  });
  return { name, labels: {}, cidrs, addresses, autoAssign, avoidBuggyIPs: false };
}

function pools(...ps: Pool[]): Map<string, Pool> {
  return new Map(ps.map((p) => [p.name, p]));
}

interface SvcInput {
  name: string;
  ns?: string;
  annotations?: Record<string, string>;
  clusterIPs?: string[];
  ipFamilies?: string[];
  ipFamilyPolicy?: string;
  loadBalancerIP?: string;
  loadBalancerClass?: string;
  type?: string;
  ports?: { port: number; protocol?: string }[];
  ingress?: string[];
}

function service(i: SvcInput): V1Service {
  return {
    metadata: { name: i.name, namespace: i.ns ?? 'default', annotations: i.annotations },
    spec: {
      type: i.type ?? 'LoadBalancer',
      clusterIPs: i.clusterIPs ?? ['10.96.0.1'],
      ipFamilies: i.ipFamilies,
      ipFamilyPolicy: i.ipFamilyPolicy,
      loadBalancerIP: i.loadBalancerIP,
      loadBalancerClass: i.loadBalancerClass,
      ports: i.ports ?? [{ port: 80, protocol: 'TCP' }],
    },
    status: i.ingress ? { loadBalancer: { ingress: i.ingress.map((ip) => ({ ip })) } } : {},
  };
}

/** The object as the caller writes it back from the outcome (status + annotation). */
function applied(svc: V1Service, o: ConvergeOutcome): V1Service {
  const annotations = { ...(svc.metadata?.annotations ?? {}) };
  if (o.allocatedFromPool === undefined) delete annotations['metallb.io/ip-allocated-from-pool'];
  else annotations['metallb.io/ip-allocated-from-pool'] = o.allocatedFromPool;
  return { ...svc, metadata: { ...svc.metadata, annotations }, status: { loadBalancer: { ingress: o.ingressIps.map((ip) => ({ ip })) } } };
}

function ctxFor(allocator: Allocator): ConvergeContext {
  return { allocator, poolsConfigured: true, namespaceLabels: {} };
}

const reasons = (o: ConvergeOutcome): string[] => o.events.map((e) => `${e.type}/${e.reason}`);


describe('restart reproduction (spec 3.6)', () => {
  const POOLS = pools(pool('main', ['1.2.3.0/30', '1000::/126']));
  const inputs: SvcInput[] = [
    { name: 'dual', clusterIPs: ['10.96.0.1', 'fd00::1'], ipFamilyPolicy: 'RequireDualStack' },
    { name: 'one' },
    { name: 'two' },
    { name: 'six', clusterIPs: ['fd00::2'] },
    { name: 'shared-a', annotations: { 'metallb.io/allow-shared-ip': 'k' }, loadBalancerIP: '1.2.3.3', ports: [{ port: 80 }] },
    { name: 'shared-b', annotations: { 'metallb.io/allow-shared-ip': 'k' }, loadBalancerIP: '1.2.3.3', ports: [{ port: 443 }] },
    { name: 'pending' },
  ];

  /** Converges the inputs once with a first controller and returns the objects as written. */
  function firstLife(): V1Service[] {
    const allocator = new Allocator();
    allocator.setPools(POOLS);
    return inputs.map((i) => {
      const svc = service(i);
      return applied(svc, convergeService(svc, ctxFor(allocator)));
    });
  }

  it('first life hands out every address and leaves one service pending', () => {
    const written = firstLife();
    const ips = Object.fromEntries(written.map((s) => [s.metadata?.name, s.status?.loadBalancer?.ingress?.map((i) => i.ip)]));
    expect(ips).toEqual({
      dual: ['1.2.3.0', '1000::'],
      one: ['1.2.3.1'],
      two: ['1.2.3.2'],
      six: ['1000::1'],
      'shared-a': ['1.2.3.3'],
      'shared-b': ['1.2.3.3'],
      pending: [],
    });
  });

  it('a new allocator converging in reprocessOrder keeps every IP, whatever the listing order', () => {
    const written = firstLife();
    for (let seed = 1; seed <= 20; seed++) {
      const allocator = new Allocator();
      allocator.setPools(POOLS);
      for (const svc of reprocessOrder(shuffled(written, seed))) {
        const out = convergeService(svc, ctxFor(allocator));
        const before = svc.status?.loadBalancer?.ingress?.map((i) => i.ip) ?? [];
        expect({ svc: serviceKey(svc), ips: out.ingressIps }).toEqual({ svc: serviceKey(svc), ips: before });
        expect(reasons(out).filter((r) => r !== 'Warning/AllocationFailed')).toEqual([]);
        expect(out.reprocessAll).toBe(false);
      }
    }
  });

  it('without that order a pending service would steal a held IP (the order matters)', () => {
    const written = firstLife();
    const allocator = new Allocator();
    allocator.setPools(POOLS);
    const pending = written.find((s) => s.metadata?.name === 'pending') as V1Service;
    expect(convergeService(pending, ctxFor(allocator)).ingressIps).toEqual(['1.2.3.0']);
    const dual = written.find((s) => s.metadata?.name === 'dual') as V1Service;
    const out = convergeService(dual, ctxFor(allocator));
    expect(reasons(out)).toContain('Normal/ClearAssignment');
    expect(out.ingressIps).not.toEqual(['1.2.3.0', '1000::']);
  });
});

describe('reprocessOrder', () => {
  it('puts 2-IP services first, then 1, then none; invalid status last; ties by key', () => {
    const svcs = [
      service({ name: 'z-none' }),
      service({ name: 'b-one', ingress: ['1.2.3.1'] }),
      service({ name: 'junk', ingress: ['1.2.3.1', '1.2.3.2', '1.2.3.3'] }),
      service({ name: 'a-none' }),
      service({ name: 'y-dual', ingress: ['1.2.3.0', '1000::'] }),
      service({ name: 'a-one', ingress: ['1.2.3.2'] }),
      service({ name: 'x-dual', ingress: ['1.2.3.5', '1000::5'] }),
    ];
    expect(reprocessOrder(svcs).map((s) => s.metadata?.name)).toEqual(['x-dual', 'y-dual', 'a-one', 'b-one', 'a-none', 'junk', 'z-none']);
    // Input is not mutated.
    expect(svcs[0]?.metadata?.name).toBe('z-none');
  });
});

describe('legacy annotations', () => {
  const POOLS = pools(pool('auto', ['1.2.3.0/30']), pool('manual', ['3.4.5.0/30'], false));

  it('honours legacy keys and warns once per legacy key, only when writing', () => {
    const allocator = new Allocator();
    allocator.setPools(POOLS);
    const svc = service({
      name: 'old',
      annotations: { 'metallb.universe.tf/address-pool': 'manual', 'metallb.universe.tf/loadBalancerIPs': '3.4.5.2' },
    });
    const out = convergeService(svc, ctxFor(allocator));
    expect(out.ingressIps).toEqual(['3.4.5.2']);
    expect(out.allocatedFromPool).toBe('manual');
    expect(out.events.filter((e) => e.reason === 'deprecatedAnnotation').map((e) => [e.type, e.message])).toEqual([
      ['Warning', 'Service uses deprecated annotation metallb.universe.tf/address-pool; rename it to metallb.io/address-pool'],
      ['Warning', 'Service uses deprecated annotation metallb.universe.tf/loadBalancerIPs; rename it to metallb.io/loadBalancerIPs'],
    ]);
    const steady = convergeService(applied(svc, out), ctxFor(allocator));
    expect(steady.events).toEqual([]);
  });

  it('shares an IP through the legacy allow-shared-ip key', () => {
    const allocator = new Allocator();
    allocator.setPools(POOLS);
    const a = service({ name: 'a', annotations: { 'metallb.universe.tf/allow-shared-ip': 'dns' }, ports: [{ port: 53, protocol: 'UDP' }] });
    const b = service({ name: 'b', annotations: { 'metallb.universe.tf/allow-shared-ip': 'dns' }, ports: [{ port: 53, protocol: 'TCP' }], loadBalancerIP: '1.2.3.0' });
    expect(convergeService(a, ctxFor(allocator)).ingressIps).toEqual(['1.2.3.0']);
    expect(convergeService(b, ctxFor(allocator)).ingressIps).toEqual(['1.2.3.0']);
  });

  it('a present but empty new key hides the legacy one', () => {
    const allocator = new Allocator();
    allocator.setPools(POOLS);
    const svc = service({ name: 'x', annotations: { 'metallb.io/address-pool': '', 'metallb.universe.tf/address-pool': 'manual' } });
    const out = convergeService(svc, ctxFor(allocator));
    expect(out.allocatedFromPool).toBe('auto');
  });

  it('drops the legacy ip-allocated-from-pool spelling (write needed)', () => {
    const svc = service({ name: 'x', ingress: ['1.2.3.0'], annotations: { 'metallb.universe.tf/ip-allocated-from-pool': 'auto', 'metallb.io/ip-allocated-from-pool': 'auto' } });
    expect(serviceNeedsWrite(svc, { ingressIps: ['1.2.3.0'], allocatedFromPool: 'auto', events: [], reprocessAll: false })).toEqual({ status: false, annotations: true });
  });
});

describe('load balancer class', () => {
  it('only services of our class reach convergence', () => {
    const allocator = new Allocator();
    allocator.setPools(pools(pool('auto', ['1.2.3.0/31'])));
    const svcs = [service({ name: 'mine' }), service({ name: 'theirs', loadBalancerClass: 'example.com/other' })];
    const handled = svcs.filter((s) => isHandledByUs(s)).map((s) => convergeService(s, ctxFor(allocator)));
    expect(handled.map((o) => o.ingressIps)).toEqual([['1.2.3.0']]);
    expect(allocator.allocationOf('default/theirs')).toBeUndefined();
    const withFlag = svcs.filter((s) => isHandledByUs(s, 'example.com/other')).map((s) => s.metadata?.name);
    expect(withFlag).toEqual(['theirs']);
  });
});

describe('dual-stack policies', () => {
  it('RequireDualStack with one cluster IP: warning, held IP released, reprocess all', () => {
    const allocator = new Allocator();
    allocator.setPools(pools(pool('auto', ['1.2.3.0/31', '1000::/127'])));
    const first = convergeService(service({ name: 's' }), ctxFor(allocator));
    expect(first.ingressIps).toEqual(['1.2.3.0']);
    const out = convergeService(service({ name: 's', ipFamilyPolicy: 'RequireDualStack', ingress: ['1.2.3.0'] }), ctxFor(allocator));
    expect(out.ingressIps).toEqual([]);
    expect(reasons(out)).toEqual(['Warning/not enough clusterips']);
    expect(out.reprocessAll).toBe(true);
    expect(allocator.allocationOf('default/s')).toBeUndefined();
  });

  it('PreferDualStack adds the missing family from the same pool', () => {
    const allocator = new Allocator();
    // "other" has free v6 too, but the added IP must come from the pool that owns the v4.
    allocator.setPools(pools(pool('a', ['1.2.3.0/31', '1000::/127']), pool('b', ['2000::/127'])));
    const svc = service({ name: 'p', clusterIPs: ['10.96.0.1', 'fd00::1'], ipFamilyPolicy: 'PreferDualStack', ingress: ['1.2.3.1'] });
    const out = convergeService(svc, ctxFor(allocator));
    expect(out.ingressIps).toEqual(['1.2.3.1', '1000::']);
    expect(out.allocatedFromPool).toBe('a');
    expect(out.events).toEqual([{ type: 'Normal', reason: 'IPAllocated', message: 'Assigned additional IP "1000::"' }]);
    expect(serviceNeedsWrite(svc, out).status).toBe(true);
  });

  it('PreferDualStack keeps its single IP when the pool has no address of the other family', () => {
    const allocator = new Allocator();
    allocator.setPools(pools(pool('v4only', ['1.2.3.0/31']), pool('v6', ['2000::/127'])));
    const svc = service({ name: 'p', clusterIPs: ['10.96.0.1', 'fd00::1'], ipFamilyPolicy: 'PreferDualStack', ingress: ['1.2.3.0'] });
    const out = convergeService(svc, ctxFor(allocator));
    expect(out.ingressIps).toEqual(['1.2.3.0']);
    expect(reasons(out)).toEqual(['Normal/AdditionalAssignFailed']);
    expect(out.events[0]?.message).toMatch(/^cannot assign additional IP in PreferDualStack: no available IPs in pool "v4only"/);
    expect(serviceNeedsWrite(svc, out)).toEqual({ status: false, annotations: true });
  });

  it('PreferDualStack allocation settles for the primary family (ipFamilies[0])', () => {
    const allocator = new Allocator();
    allocator.setPools(pools(pool('v4', ['1.2.3.0/31']), pool('v6', ['2000::/127'])));
    const v6first = service({ name: 'p6', clusterIPs: ['fd00::1', '10.96.0.1'], ipFamilies: ['IPv6', 'IPv4'], ipFamilyPolicy: 'PreferDualStack' });
    expect(convergeService(v6first, ctxFor(allocator)).ingressIps).toEqual(['2000::']);
    const v4first = service({ name: 'p4', clusterIPs: ['10.96.0.1', 'fd00::1'], ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'PreferDualStack' });
    expect(convergeService(v4first, ctxFor(allocator)).ingressIps).toEqual(['1.2.3.0']);
  });
});

describe('requested IP changes', () => {
  const POOLS = pools(pool('auto', ['1.2.3.0/31']));

  it('moving to another requested IP releases the old one and asks for a full reprocess', () => {
    const allocator = new Allocator();
    allocator.setPools(POOLS);
    const a = service({ name: 'a', loadBalancerIP: '1.2.3.0' });
    const first = convergeService(a, ctxFor(allocator));
    expect(first.ingressIps).toEqual(['1.2.3.0']);
    const moved = convergeService({ ...applied(a, first), spec: { ...a.spec, loadBalancerIP: '1.2.3.1' } }, ctxFor(allocator));
    expect(moved.ingressIps).toEqual(['1.2.3.1']);
    expect(moved.reprocessAll).toBe(true);
    expect(convergeService(service({ name: 'b' }), ctxFor(allocator)).ingressIps).toEqual(['1.2.3.0']);
  });

  it('an infeasible request releases the old IP first and leaves the service without IP', () => {
    const allocator = new Allocator();
    allocator.setPools(POOLS);
    const a = applied(service({ name: 'a' }), convergeService(service({ name: 'a' }), ctxFor(allocator)));
    const b = applied(service({ name: 'b' }), convergeService(service({ name: 'b' }), ctxFor(allocator)));
    expect(a.status?.loadBalancer?.ingress?.[0]?.ip).toBe('1.2.3.0');
    expect(b.status?.loadBalancer?.ingress?.[0]?.ip).toBe('1.2.3.1');
    // a asks for b's IP: a loses 1.2.3.0 and does not get 1.2.3.1.
    const out = convergeService({ ...a, spec: { ...a.spec, loadBalancerIP: '1.2.3.1' } }, ctxFor(allocator));
    expect(out.ingressIps).toEqual([]);
    expect(out.allocatedFromPool).toBeUndefined();
    expect(reasons(out)).toEqual(['Warning/AllocationFailed']);
    expect(out.events[0]?.message).toMatch(/^Failed to allocate IP for "default\/a": can't change sharing key for "default\/a", address also in use by default\/b/);
    expect(out.reprocessAll).toBe(true);
    expect(convergeService(service({ name: 'c' }), ctxFor(allocator)).ingressIps).toEqual(['1.2.3.0']);
  });

  it('an invalid request while holding an IP is LoadBalancerFailed and keeps the IP', () => {
    const allocator = new Allocator();
    allocator.setPools(POOLS);
    const a = service({ name: 'a' });
    const held = applied(a, convergeService(a, ctxFor(allocator)));
    const out = convergeService({ ...held, spec: { ...held.spec, loadBalancerIP: 'bogus' } }, ctxFor(allocator));
    expect(out.ingressIps).toEqual(['1.2.3.0']);
    expect(reasons(out)).toEqual(['Warning/LoadBalancerFailed']);
    expect(out.events[0]?.message).toMatch(/^invalid requested loadbalancer IPs: invalid spec.loadBalancerIP "bogus"/);
    expect(out.reprocessAll).toBe(false);
  });
});

describe('pool annotation switch', () => {
  it('moves the service to the new pool and frees the old IP', () => {
    const allocator = new Allocator();
    allocator.setPools(pools(pool('auto', ['1.2.3.0/31']), pool('manual', ['3.4.5.0/31'], false)));
    const a = service({ name: 'a' });
    const held = applied(a, convergeService(a, ctxFor(allocator)));
    expect(held.metadata?.annotations?.['metallb.io/ip-allocated-from-pool']).toBe('auto');
    const switched = { ...held, metadata: { ...held.metadata, annotations: { ...held.metadata?.annotations, 'metallb.io/address-pool': 'manual' } } };
    const out = convergeService(switched, ctxFor(allocator));
    expect(out.ingressIps).toEqual(['3.4.5.0']);
    expect(out.allocatedFromPool).toBe('manual');
    expect(out.reprocessAll).toBe(true);
    expect(allocator.poolCounters('auto').assignedIPv4).toBe(0n);
  });
});

describe('sharing key change', () => {
  it('asks for a full reprocess, after which a waiting service can share', () => {
    const allocator = new Allocator();
    allocator.setPools(pools(pool('auto', ['1.2.3.0/32'])));
    const a = service({ name: 'a', annotations: { 'metallb.io/allow-shared-ip': 'old' }, ports: [{ port: 80 }] });
    const aHeld = applied(a, convergeService(a, ctxFor(allocator)));
    const b = service({ name: 'b', annotations: { 'metallb.io/allow-shared-ip': 'new' }, ports: [{ port: 443 }] });
    expect(convergeService(b, ctxFor(allocator)).ingressIps).toEqual([]);

    const aNew = { ...aHeld, metadata: { ...aHeld.metadata, annotations: { ...aHeld.metadata?.annotations, 'metallb.io/allow-shared-ip': 'new' } } };
    const out = convergeService(aNew, ctxFor(allocator));
    expect(out.ingressIps).toEqual(['1.2.3.0']);
    expect(out.reprocessAll).toBe(true);
    expect(convergeService(aNew, ctxFor(allocator)).reprocessAll).toBe(false);
    expect(convergeService(b, ctxFor(allocator)).ingressIps).toEqual(['1.2.3.0']);
  });
});

describe('serviceDeleted', () => {
  it('frees the IP and asks for a reprocess only when the service held one', () => {
    const allocator = new Allocator();
    allocator.setPools(pools(pool('auto', ['1.2.3.0/32'])));
    convergeService(service({ name: 'a' }), ctxFor(allocator));
    expect(convergeService(service({ name: 'b' }), ctxFor(allocator)).ingressIps).toEqual([]);
    expect(serviceDeleted('default/a', allocator)).toEqual({ reprocessAll: true });
    expect(serviceDeleted('default/a', allocator)).toEqual({ reprocessAll: false });
    expect(convergeService(service({ name: 'b' }), ctxFor(allocator)).ingressIps).toEqual(['1.2.3.0']);
  });
});

describe('configuration changes', () => {
  it('no pools configured clears held IPs', () => {
    const allocator = new Allocator();
    allocator.setPools(pools(pool('auto', ['1.2.3.0/32'])));
    const a = service({ name: 'a' });
    const held = applied(a, convergeService(a, ctxFor(allocator)));
    allocator.setPools(new Map());
    const out = convergeService(held, { ...ctxFor(allocator), poolsConfigured: false });
    expect(out.ingressIps).toEqual([]);
    expect(out.allocatedFromPool).toBeUndefined();
    expect(out.failure).toMatch(/no IPAddressPool/);
    expect(serviceNeedsWrite(held, out)).toEqual({ status: true, annotations: true });
  });

  it('an IP dropped by a shrunk pool is replaced with ClearAssignment (3.5)', () => {
    const allocator = new Allocator();
    allocator.setPools(pools(pool('auto', ['1.2.3.0/30'])));
    const a = service({ name: 'a' });
    const held = applied(a, convergeService(a, ctxFor(allocator)));
    expect(held.status?.loadBalancer?.ingress?.[0]?.ip).toBe('1.2.3.0');
    expect(allocator.setPools(pools(pool('auto', ['1.2.3.2/31']))).dropped).toEqual(['default/a']);
    const out = convergeService(held, ctxFor(allocator));
    expect(reasons(out)).toEqual(['Normal/ClearAssignment', 'Normal/IPAllocated']);
    expect(out.ingressIps).toEqual(['1.2.3.2']);
  });

  it('a renamed pool keeps the IP and rewrites only the annotation', () => {
    const allocator = new Allocator();
    allocator.setPools(pools(pool('old', ['1.2.3.0/30'])));
    const a = service({ name: 'a' });
    const held = applied(a, convergeService(a, ctxFor(allocator)));
    allocator.setPools(pools(pool('new', ['1.2.3.0/30'])));
    const out = convergeService(held, ctxFor(allocator));
    expect(out).toEqual({ ingressIps: ['1.2.3.0'], allocatedFromPool: 'new', events: [], reprocessAll: false });
    expect(serviceNeedsWrite(held, out)).toEqual({ status: false, annotations: true });
  });
});

describe('odd objects', () => {
  it('invalid cluster IPs leave the object untouched with a warning', () => {
    const allocator = new Allocator();
    allocator.setPools(pools(pool('auto', ['1.2.3.0/30'])));
    const svc = service({ name: 'odd', clusterIPs: ['10.96.0.1', '10.96.0.2'], ingress: ['1.2.3.1'] });
    const withPool = { ...svc, metadata: { ...svc.metadata, annotations: { 'metallb.io/ip-allocated-from-pool': 'auto' } } };
    const out = convergeService(withPool, ctxFor(allocator));
    expect(reasons(out)).toEqual(['Warning/noclusterIPsIPFamily']);
    expect(out.ingressIps).toEqual(['1.2.3.1']);
    expect(serviceNeedsWrite(withPool, out)).toEqual({ status: false, annotations: false });
  });

  it('a hostname entry next to the right IP still needs a status write', () => {
    const allocator = new Allocator();
    allocator.setPools(pools(pool('auto', ['1.2.3.0/30'])));
    const svc: V1Service = {
      ...service({ name: 'h' }),
      status: { loadBalancer: { ingress: [{ hostname: 'lb.example' }, { ip: '1.2.3.0' }] } },
    };
    const out = convergeService(svc, ctxFor(allocator));
    expect(out.ingressIps).toEqual(['1.2.3.0']);
    expect(out.events).toEqual([]);
    expect(serviceNeedsWrite(svc, out).status).toBe(true);
  });
});
