// The allocator scenarios of spec/metallb.md 3.8 (paraphrased), plus pool order, families,
// sharing details and counters.
import { describe, expect, it } from 'vitest';
import { Allocator, MAX_INT64 } from '../../src/allocator/allocator.js';
import type { AllocationResult } from '../../src/allocator/types.js';
import { labels, pool, pools, svc, tcp, udp } from './allocator.fixtures.js';

function ok(r: AllocationResult): { pool: string; ips: readonly string[] } {
  if (!r.ok) throw new Error(`expected success, got: ${r.error}`);
  return r;
}

function err(r: AllocationResult): string {
  if (r.ok) throw new Error(`expected failure, got ${r.pool} ${r.ips.join(',')}`);
  return r.error;
}

/** The pools of MetalLB's allocator test: "test" = 1.2.3.4/31 + 1000::4/127, "test2" = 1.2.4.0/24 + 1000::4:0/120 avoiding buggy IPs. */
function metallbTestPools(): Allocator {
  const a = new Allocator();
  a.setPools(
    pools(
      pool('test', ['1.2.3.4/31', '1000::4/127']),
      pool('test2', ['1.2.4.0/24', '1000::4:0/120'], { avoidBuggyIPs: true }),
    ),
  );
  return a;
}

describe('3.8 scenario 1-3: explicit assignment', () => {
  it('assigns, is idempotent, refuses a taken IP, lets IPs move after release', () => {
    const a = metallbTestPools();
    expect(ok(a.assign(svc('ns/s1'), ['1.2.3.4']))).toEqual({ ok: true, pool: 'test', ips: ['1.2.3.4'] });
    expect(ok(a.assign(svc('ns/s1'), ['1.2.3.4'])).ips).toEqual(['1.2.3.4']);
    expect(a.poolCounters('test').assignedIPv4).toBe(1n);

    expect(err(a.assign(svc('ns/s2'), ['1.2.3.4']))).toMatch(/^can't change sharing key for "ns\/s2", address also in use by ns\/s1/);
    expect(ok(a.assign(svc('ns/s2'), ['1.2.3.5'])).ips).toEqual(['1.2.3.5']);
    expect(err(a.assign(svc('ns/s1'), ['1.2.3.5']))).toContain('address also in use by ns/s2');
    // The failed attempt left s1 where it was.
    expect(a.allocationOf('ns/s1')).toEqual({ pool: 'test', ips: ['1.2.3.4'] });

    expect(a.unassign('ns/s1')).toBe(true);
    expect(a.unassign('ns/s1')).toBe(false);
    expect(ok(a.assign(svc('ns/s2'), ['1.2.3.4'])).ips).toEqual(['1.2.3.4']);
    expect(ok(a.assign(svc('ns/s1'), ['1.2.3.5'])).ips).toEqual(['1.2.3.5']);
    expect(a.poolCounters('test').assignedIPv4).toBe(2n);
  });

  it('rejects IPs outside every pool with MetalLB text and a hint', () => {
    const a = metallbTestPools();
    const e = err(a.assign(svc('ns/s1'), ['9.9.9.9']));
    expect(e).toMatch(/^\["9\.9\.9\.9"\] is not allowed in config/);
    expect(e).toContain('in no IPAddressPool');
    expect(err(a.assign(svc('ns/s1'), ['not-an-ip']))).toContain('invalid IP "not-an-ip"');
  });
});

describe('3.8 scenario 4: avoidBuggyIPs on explicit requests', () => {
  it('rejects .0 and .255, accepts .254', () => {
    const a = metallbTestPools();
    expect(err(a.assign(svc('ns/s1'), ['1.2.4.0']))).toMatch(/^\["1\.2\.4\.0"\] is not allowed in config.*avoidBuggyIPs/);
    expect(err(a.assign(svc('ns/s1'), ['1.2.4.255']))).toMatch(/is not allowed in config/);
    expect(ok(a.assign(svc('ns/s1'), ['1.2.4.254']))).toMatchObject({ pool: 'test2' });
    expect(a.poolOwning(['1.2.4.0'])).toBeUndefined();
    expect(a.poolOwning(['1.2.4.254'])).toBe('test2');
  });
});

describe.each([
  ['IPv4', '1.2.4.3'],
  ['IPv6', '1000::4:3'],
])('3.8 scenarios 5-7: sharing rules (%s)', (_family, ip) => {
  it('follows key, backend and port rules', () => {
    const a = metallbTestPools();
    const s4 = (over: Parameters<typeof svc>[1] = {}) =>
      svc('ns/s4', { ports: tcp(80), sharingKey: 'sharing', backendKey: 'backend', ...over });
    const s3 = (over: Parameters<typeof svc>[1] = {}) =>
      svc('ns/s3', { ports: tcp(443), sharingKey: 'share', backendKey: 'backend', ...over });

    ok(a.assign(s4(), [ip]));
    // Sole user may change its key in place.
    ok(a.assign(s4({ sharingKey: 'share' }), [ip]));

    expect(err(a.assign(s3({ ports: tcp(80) }), [ip]))).toMatch(new RegExp(`^port TCP/80 is already in use on "${ip}"`));
    expect(err(a.assign(s3({ sharingKey: 'othershare' }), [ip]))).toMatch(/^can't change sharing key for "ns\/s3", address also in use by ns\/s4/);
    expect(err(a.assign(s3({ backendKey: 'otherbackend' }), [ip]))).toContain("can't change sharing key");
    expect(err(a.assign(s3({ sharingKey: '' }), [ip]))).toContain("can't change sharing key");
    ok(a.assign(s3(), [ip]));
    expect(a.allocationOf('ns/s3')?.ips).toEqual([ip]);

    // While sharing, s3 may change its ports but not its keys.
    ok(a.assign(s3({ ports: udp(53) }), [ip]));
    expect(err(a.assign(s3({ ports: udp(53), sharingKey: 'sharing' }), [ip]))).toContain('address also in use by ns/s4');
    expect(err(a.assign(s3({ ports: udp(53), backendKey: 'x' }), [ip]))).toContain('address also in use by ns/s4');
    // TCP/53 and UDP/53 do not conflict; TCP/80 of s4 still does.
    ok(a.assign(s4({ sharingKey: 'share', ports: tcp(80, 53) }), [ip]));
    expect(err(a.assign(s3({ ports: [...udp(53), ...tcp(80)] }), [ip]))).toMatch(/^port TCP\/80 is already in use/);

    // A shared address counts once.
    const fam = ip.includes(':') ? 'assignedIPv6' : 'assignedIPv4';
    expect(a.poolCounters('test2')[fam]).toBe(1n);
    a.unassign('ns/s4');
    expect(a.poolCounters('test2')[fam]).toBe(1n);
    a.unassign('ns/s3');
    expect(a.poolCounters('test2')[fam]).toBe(0n);
  });
});

describe('3.8 scenario 8: dual-stack explicit assignment', () => {
  it('needs both IPs from the same pool and of different families', () => {
    const a = metallbTestPools();
    const dual = svc('ns/s1', { families: [4, 6], ipFamilyPolicy: 'RequireDualStack' });
    expect(ok(a.assign(dual, ['1.2.3.4', '1000::4']))).toMatchObject({ pool: 'test', ips: ['1.2.3.4', '1000::4'] });
    const e = err(a.assign(svc('ns/s2', { families: [4, 6] }), ['1.2.4.5', '1000::4']));
    expect(e).toMatch(/^\["1\.2\.4\.5" "1000::4"\] is not allowed in config/);
    expect(e).toContain('different pools');
    expect(err(a.assign(svc('ns/s3'), ['1.2.3.5', '1.2.3.5']))).toMatch(/has the same family/);
    expect(err(a.assign(svc('ns/s3'), ['1.2.4.5', '1.2.4.6']))).toMatch(/^"1\.2\.4\.5" "1\.2\.4\.6" has the same family/);
    expect(err(a.assign(svc('ns/s3'), ['1.2.4.5', '1.2.4.6', '1000::4:5']))).toMatch(/^more than two addresses/);
    expect(a.poolCounters('test')).toEqual({ assignedIPv4: 1n, assignedIPv6: 1n, availableIPv4: 1n, availableIPv6: 1n });
  });
});

describe('3.8 scenario 9: serviceAllocation restricts explicit assignment', () => {
  const a = new Allocator();
  a.setPools(
    pools(
      pool('by-ns', ['1.2.3.0/24'], { serviceAllocation: { namespaces: ['team-a'] } }),
      pool('by-label', ['1.2.4.0/24'], { serviceAllocation: { serviceSelectors: [labels({ tier: 'web' })] } }),
      pool('by-both', ['1.2.5.0/24'], {
        serviceAllocation: { namespaces: ['team-a'], serviceSelectors: [labels({ tier: 'web' })] },
      }),
      pool('by-ns-selector', ['1.2.6.0/24'], { serviceAllocation: { namespaceSelectors: [labels({ env: 'prod' })] } }),
    ),
  );
  it('namespace-pinned pool', () => {
    ok(a.assign(svc('team-a/s1'), ['1.2.3.1']));
    expect(err(a.assign(svc('team-b/s1'), ['1.2.3.2']))).toMatch(/^pool by-ns not compatible for ip assignment/);
  });
  it('label-pinned pool', () => {
    ok(a.assign(svc('x/s2', { labels: { tier: 'web' } }), ['1.2.4.1']));
    expect(err(a.assign(svc('x/s3', { labels: { tier: 'db' } }), ['1.2.4.2']))).toMatch(/^pool by-label not compatible/);
  });
  it('namespace and label pool needs both', () => {
    ok(a.assign(svc('team-a/s4', { labels: { tier: 'web' } }), ['1.2.5.1']));
    expect(err(a.assign(svc('team-b/s5', { labels: { tier: 'web' } }), ['1.2.5.2']))).toContain('not compatible');
    expect(err(a.assign(svc('team-a/s6', { labels: { tier: 'db' } }), ['1.2.5.3']))).toContain('not compatible');
  });
  it('namespaceSelectors use the namespace labels', () => {
    ok(a.assign(svc('p/s7', { namespaceLabels: { env: 'prod' } }), ['1.2.6.1']));
    expect(err(a.assign(svc('d/s8', { namespaceLabels: { env: 'dev' } }), ['1.2.6.2']))).toContain('not compatible');
  });
});

describe('3.8 scenario 10: AllocateFromPool until the pool is full', () => {
  it.each([
    ['IPv4', ['1.2.3.4/31', '1.2.3.10/31'], [4] as const, 'assignedIPv4'],
    ['IPv6', ['1000::4/127', '1000::10/127'], [6] as const, 'assignedIPv6'],
  ])('%s', (_name, addresses, families, counter) => {
    const a = new Allocator();
    a.setPools(pools(pool('p', addresses)));
    const s = (n: number, sharingKey = '') => svc(`ns/s${n}`, { families: [...families], sharingKey });
    const got = [1, 2, 3, 4].map((n) => ok(a.allocateFromPool(s(n), 'p')).ips[0]);
    expect(new Set(got).size).toBe(4);
    expect(err(a.allocateFromPool(s(5), 'p'))).toMatch(/^no available IPs in pool "p"/);
    expect(err(a.allocateFromPool(s(6), 'p'))).toMatch(/^no available IPs in pool "p"/);
    a.unassign('ns/s1');
    expect(ok(a.allocateFromPool(s(5), 'p')).ips).toEqual([got[0]]);
    expect(err(a.allocateFromPool(s(6), 'p'))).toMatch(/^no available IPs in pool "p"/);
    // s5 re-allocated with a sharing key (sole user: key changes in place), then s6 joins it.
    expect(ok(a.allocateFromPool(s(5, 'key'), 'p')).ips).toEqual([got[0]]);
    expect(ok(a.allocateFromPool(s(6, 'key'), 'p')).ips).toEqual([got[0]]);
    expect(a.poolCounters('p')[counter as 'assignedIPv4']).toBe(4n);
  });

  it('dual-stack pool with 2 v4 and 2 v6 CIDRs', () => {
    const a = new Allocator();
    a.setPools(pools(pool('p', ['1.2.3.4/31', '1000::4/127', '1.2.3.10/31', '1000::10/127'])));
    const s = (n: number, sharingKey = '') => svc(`ns/s${n}`, { families: [4, 6], ipFamilyPolicy: 'RequireDualStack', sharingKey });
    const got = [1, 2, 3, 4].map((n) => ok(a.allocateFromPool(s(n), 'p')).ips);
    expect(got[0]).toEqual(['1.2.3.4', '1000::4']);
    expect(got[3]).toEqual(['1.2.3.11', '1000::11']);
    expect(err(a.allocateFromPool(s(5), 'p'))).toMatch(/^no available IPs in pool "p" for dual-stack/);
    a.unassign('ns/s1');
    expect(ok(a.allocateFromPool(s(5, 'key'), 'p')).ips).toEqual(got[0]);
    expect(ok(a.allocateFromPool(s(6, 'key'), 'p')).ips).toEqual(got[0]);
    expect(a.poolCounters('p')).toMatchObject({ assignedIPv4: 4n, assignedIPv6: 4n, availableIPv4: 0n, availableIPv6: 0n });
  });

  it('reports the missing family of a RequireDualStack service', () => {
    const a = new Allocator();
    a.setPools(pools(pool('p', ['1.2.3.4/31', '1000::4/128'])));
    ok(a.assign(svc('ns/x', { families: [6] }), ['1000::4']));
    expect(err(a.allocateFromPool(svc('ns/s', { families: [4, 6], ipFamilyPolicy: 'RequireDualStack' }), 'p'))).toMatch(
      /^no available IPs in pool "p" for IPv6 IPFamily/,
    );
  });
});

describe('3.8 scenario 11: PreferDualStack from a named pool', () => {
  const a = new Allocator();
  a.setPools(
    pools(
      pool('dual', ['1.2.3.0/31', '1000::/127']),
      pool('v4only', ['1.2.4.0/31']),
      pool('v6only', ['1000:1::/127']),
    ),
  );
  const prefer = (name: string) => svc(`ns/${name}`, { families: [4, 6], ipFamilyPolicy: 'PreferDualStack' });
  it('gets both families from a dual pool', () => {
    expect(ok(a.allocateFromPool(prefer('a'), 'dual')).ips).toEqual(['1.2.3.0', '1000::']);
  });
  it('settles for v4 from a v4-only pool', () => {
    expect(ok(a.allocateFromPool(prefer('b'), 'v4only')).ips).toEqual(['1.2.4.0']);
  });
  it('settles for v6 from a v6-only pool', () => {
    expect(ok(a.allocateFromPool(prefer('c'), 'v6only')).ips).toEqual(['1000:1::']);
  });
  it('fails on an unknown pool', () => {
    expect(err(a.allocateFromPool(prefer('d'), 'nope'))).toMatch(/^unknown pool "nope"/);
  });
  it('adds the missing family later from the same pool', () => {
    const b = new Allocator();
    b.setPools(pools(pool('dual', ['1.2.3.0/32', '1000::/127'])));
    ok(b.assign(svc('ns/x', { families: [6] }), ['1000::']));
    ok(b.assign(svc('ns/y', { families: [6] }), ['1000::1']));
    expect(ok(b.allocateFromPool(prefer('e'), 'dual')).ips).toEqual(['1.2.3.0']);
    expect(err(b.allocateAdditionalFamily(prefer('e')))).toMatch(/^no available IPs in pool "dual" for IPv6 IPFamily/);
    b.unassign('ns/y');
    expect(ok(b.allocateAdditionalFamily(prefer('e'))).ips).toEqual(['1.2.3.0', '1000::1']);
  });
});

describe('3.8 scenario 12: buggy IPs through Allocate', () => {
  it('hands out exactly the six allowed addresses', () => {
    const a = new Allocator();
    a.setPools(
      pools(
        pool('plain', ['1.2.3.0/31', '1.2.3.254/31']),
        pool('careful', ['1.2.4.0/31', '1.2.4.254/31'], { avoidBuggyIPs: true }),
      ),
    );
    const got = [1, 2, 3, 4, 5, 6].map((n) => ok(a.allocate(svc(`ns/s${n}`))).ips[0]);
    expect(new Set(got)).toEqual(new Set(['1.2.3.0', '1.2.3.1', '1.2.3.254', '1.2.3.255', '1.2.4.1', '1.2.4.254']));
    expect(err(a.allocate(svc('ns/s7')))).toMatch(/^no available IPs/);
  });
});

describe('3.8 scenario 13: config reload', () => {
  const base = () => {
    const a = new Allocator();
    a.setPools(pools(pool('p', ['1.2.3.0/30', '1000::/126'])));
    ok(a.assign(svc('ns/s1'), ['1.2.3.0']));
    ok(a.assign(svc('ns/s2', { families: [6] }), ['1000::']));
    return a;
  };
  it.each([
    ['same config', [pool('p', ['1.2.3.0/30', '1000::/126'])], [], { s1: 'p', s2: 'p' }],
    ['expanded', [pool('p', ['1.2.3.0/24', '1000::/120'])], [], { s1: 'p', s2: 'p' }],
    ['shrunk but still containing', [pool('p', ['1.2.3.0/31', '1000::/127'])], [], { s1: 'p', s2: 'p' }],
    ['v4 shrunk away', [pool('p', ['1.2.3.2/31', '1000::/127'])], ['ns/s1'], { s2: 'p' }],
    ['v6 shrunk away', [pool('p', ['1.2.3.0/31', '1000::2/127'])], ['ns/s2'], { s1: 'p' }],
    ['renamed', [pool('q', ['1.2.3.0/30', '1000::/126'])], [], { s1: 'q', s2: 'q' }],
    ['split', [pool('v4', ['1.2.3.0/30']), pool('v6', ['1000::/126'])], [], { s1: 'v4', s2: 'v6' }],
    ['avoidBuggyIPs enabled', [pool('p', ['1.2.3.0/30', '1000::/126'], { avoidBuggyIPs: true })], ['ns/s1'], { s2: 'p' }],
    ['all pools removed', [], ['ns/s1', 'ns/s2'], {}],
  ] as const)('%s', (_name, next, dropped, kept) => {
    const a = base();
    expect(a.setPools(pools(...next)).dropped).toEqual(dropped);
    for (const s of ['s1', 's2'] as const) {
      const expected = (kept as Record<string, string>)[s];
      if (expected) expect(a.allocationOf(`ns/${s}`)?.pool).toBe(expected);
      else expect(a.allocationOf(`ns/${s}`)).toBeUndefined();
    }
    // Counters follow the move.
    for (const name of a.poolNames()) {
      const c = a.poolCounters(name);
      const v4 = Object.entries(kept).filter(([s, p]) => p === name && s === 's1').length;
      const v6 = Object.entries(kept).filter(([s, p]) => p === name && s === 's2').length;
      expect([c.assignedIPv4, c.assignedIPv6]).toEqual([BigInt(v4), BigInt(v6)]);
    }
  });

  it('a freed address is allocatable again after the reload, a kept one is not', () => {
    const a = base();
    a.setPools(pools(pool('q', ['1.2.3.0/30', '1000::/126'])));
    expect(ok(a.allocate(svc('ns/s3'))).ips).toEqual(['1.2.3.1']);
    a.unassign('ns/s1');
    expect(ok(a.allocate(svc('ns/s4'))).ips).toEqual(['1.2.3.0']);
  });
});

describe('3.8 scenario 14: autoAssign=false', () => {
  it('is never used by Allocate but works for explicit requests', () => {
    const a = new Allocator();
    a.setPools(pools(pool('manual', ['1.2.3.4/31'], { autoAssign: false }), pool('auto', ['1.2.4.4/31'])));
    const got = [1, 2].map((n) => ok(a.allocate(svc(`ns/s${n}`))));
    expect(got.map((g) => g.pool)).toEqual(['auto', 'auto']);
    expect(got.map((g) => g.ips[0])).toEqual(['1.2.4.4', '1.2.4.5']);
    expect(err(a.allocate(svc('ns/s3')))).toMatch(/^no available IPs/);
    expect(ok(a.allocateFromPool(svc('ns/s3'), 'manual')).ips).toEqual(['1.2.3.4']);
    expect(ok(a.assign(svc('ns/s4'), ['1.2.3.5'])).pool).toBe('manual');
  });
});

describe('3.8 scenarios 15-16: counters', () => {
  const counted = (...p: ReturnType<typeof pool>[]) => {
    const a = new Allocator();
    a.setPools(pools(...p));
    return a.poolCounters(p[0]?.name ?? '');
  };
  it('sizes pools like MetalLB', () => {
    expect(counted(pool('p', ['1.2.3.0/24'])).availableIPv4).toBe(256n);
    expect(counted(pool('p', ['1.2.3.0/24', '1.2.4.0/25'])).availableIPv4).toBe(384n);
    expect(counted(pool('p', ['1.2.3.0/24', '1.2.4.0/25'], { avoidBuggyIPs: true })).availableIPv4).toBe(381n);
    const huge = counted(pool('p', ['1.2.3.0/24', '1.2.4.0/25', '1000::/64']));
    expect(huge).toEqual({ assignedIPv4: 0n, assignedIPv6: 0n, availableIPv4: 384n, availableIPv6: MAX_INT64 });
    expect(counted(pool('p', ['1.2.3.0/31', '1000::/127'], { avoidBuggyIPs: true }))).toMatchObject({
      availableIPv4: 1n,
      availableIPv6: 2n,
    });
    // Saturates instead of overflowing int64.
    expect(counted(pool('p', ['1000::/64', '2000::/64'])).availableIPv6).toBe(MAX_INT64);
    expect(counted(pool('p', ['1.2.3.0/32'], { avoidBuggyIPs: true })).availableIPv4).toBe(0n);
    expect(counted(pool('p', ['1.2.3.0-1.2.3.9'], { avoidBuggyIPs: true })).availableIPv4).toBe(9n);
  });

  it('counts a shared IP once and zeroes removed pools', () => {
    const a = new Allocator();
    a.setPools(pools(pool('p', ['1.2.3.0/24', '1000::/64'])));
    ok(a.assign(svc('ns/a', { sharingKey: 'k', ports: tcp(80) }), ['1.2.3.7']));
    ok(a.assign(svc('ns/b', { sharingKey: 'k', ports: tcp(81) }), ['1.2.3.7']));
    ok(a.assign(svc('ns/c', { families: [6] }), ['1000::7']));
    expect(a.poolCounters('p')).toEqual({ assignedIPv4: 1n, assignedIPv6: 1n, availableIPv4: 255n, availableIPv6: MAX_INT64 - 1n });
    a.setPools(pools());
    expect(a.poolCounters('p')).toEqual({ assignedIPv4: 0n, assignedIPv6: 0n, availableIPv4: 0n, availableIPv6: 0n });
    expect(a.poolNames()).toEqual([]);
  });
});

describe('pool order for Allocate (3.2 steps 2-3, controller priority table)', () => {
  const order = () =>
    pools(
      pool('zz-default', ['10.0.0.0/24']),
      pool('aa-default', ['10.0.1.0/24']),
      pool('ns-11', ['10.1.1.0/24'], { serviceAllocation: { priority: 11, namespaces: ['team'] } }),
      pool('ns-10', ['10.1.0.0/24'], { serviceAllocation: { priority: 10, namespaces: ['team'] } }),
      pool('label-9', ['10.2.1.0/24'], { serviceAllocation: { priority: 9, serviceSelectors: [labels({ app: 'x' })] } }),
      pool('label-8', ['10.2.0.0/24'], { serviceAllocation: { priority: 8, serviceSelectors: [labels({ app: 'x' })] } }),
      pool('both-5', ['10.3.0.0/24'], {
        serviceAllocation: { priority: 5, namespaces: ['team'], serviceSelectors: [labels({ app: 'x' })] },
      }),
      pool('ns-nopriority', ['10.4.0.0/24'], { serviceAllocation: { namespaces: ['solo'] } }),
    );
  const a = new Allocator();
  a.setPools(order());

  it('namespace pool with priority 10 beats 11', () => {
    expect(ok(a.allocate(svc('team/s1'))).pool).toBe('ns-10');
  });
  it('label pool with priority 8 beats 9', () => {
    expect(ok(a.allocate(svc('other/s2', { labels: { app: 'x' } }))).pool).toBe('label-8');
  });
  it('namespace+label priority 5 beats all', () => {
    expect(ok(a.allocate(svc('team/s3', { labels: { app: 'x' } }))).pool).toBe('both-5');
  });
  it('pinned pool without priority is used for its namespace', () => {
    expect(ok(a.allocate(svc('solo/s4'))).pool).toBe('ns-nopriority');
  });
  it('unpinned services fall back to pools without serviceAllocation, by name', () => {
    expect(ok(a.allocate(svc('other/s5'))).pool).toBe('aa-default');
  });
  it('positive priorities come before priority 0, ties by name', () => {
    const b = new Allocator();
    b.setPools(
      pools(
        pool('b-zero', ['10.0.0.0/32'], { serviceAllocation: { priority: 0 } }),
        pool('a-zero', ['10.0.1.0/32'], { serviceAllocation: { priority: 0 } }),
        pool('c-three', ['10.0.2.0/32'], { serviceAllocation: { priority: 3 } }),
        pool('d-three', ['10.0.3.0/32'], { serviceAllocation: { priority: 3 } }),
        pool('fallback', ['10.0.4.0/32']),
      ),
    );
    const got = [1, 2, 3, 4, 5].map((n) => ok(b.allocate(svc(`x/s${n}`))).pool);
    expect(got).toEqual(['c-three', 'd-three', 'a-zero', 'b-zero', 'fallback']);
  });
  it('a full pinned pool falls back; a pool with serviceAllocation is never a fallback', () => {
    const b = new Allocator();
    b.setPools(
      pools(
        pool('pinned', ['10.0.0.0/32'], { serviceAllocation: { namespaces: ['team'] } }),
        pool('fallback', ['10.0.1.0/32']),
      ),
    );
    expect(ok(b.allocate(svc('team/s1'))).pool).toBe('pinned');
    expect(ok(b.allocate(svc('team/s2'))).pool).toBe('fallback');
    expect(err(b.allocate(svc('other/s3')))).toMatch(/^no available IPs/);
  });
  it('is deterministic across insertion orders', () => {
    const services = [svc('team/s1'), svc('other/s5'), svc('team/s3', { labels: { app: 'x' } }), svc('solo/s4'), svc('x/s9')];
    const run = (config: Map<string, ReturnType<typeof pool>>) => {
      const b = new Allocator();
      b.setPools(config);
      return services.map((s) => ok(b.allocate(s)));
    };
    const forward = run(order());
    expect(run(new Map([...order()].reverse()))).toEqual(forward);
    expect(forward.map((r) => r.pool)).toEqual(['ns-10', 'aa-default', 'both-5', 'ns-nopriority', 'aa-default']);
  });
});

describe('walk order inside a pool (3.2)', () => {
  it('walks spec.addresses order, each CIDR first to last, network address included', () => {
    const a = new Allocator();
    a.setPools(pools(pool('p', ['1.2.3.8/31', '1.2.3.0/31', '1.2.3.250-1.2.3.252'])));
    const got = [1, 2, 3, 4, 5, 6, 7].map((n) => ok(a.allocate(svc(`ns/s${n}`))).ips[0]);
    expect(got).toEqual(['1.2.3.8', '1.2.3.9', '1.2.3.0', '1.2.3.1', '1.2.3.250', '1.2.3.251', '1.2.3.252']);
  });
  it('skips .0/.255 across /24 boundaries under avoidBuggyIPs', () => {
    const a = new Allocator();
    a.setPools(pools(pool('p', ['1.2.3.253-1.2.4.2'], { avoidBuggyIPs: true })));
    const got = [1, 2, 3, 4].map((n) => ok(a.allocate(svc(`ns/s${n}`))).ips[0]);
    expect(got).toEqual(['1.2.3.253', '1.2.3.254', '1.2.4.1', '1.2.4.2']);
    expect(err(a.allocate(svc('ns/s5')))).toMatch(/^no available IPs/);
    a.unassign('ns/s3');
    expect(ok(a.allocate(svc('ns/s6'))).ips).toEqual(['1.2.4.1']);
  });
  it('joins the lowest shareable IP before the first free one', () => {
    const a = new Allocator();
    a.setPools(pools(pool('p', ['1.2.3.0/29'])));
    ok(a.assign(svc('ns/a', { sharingKey: 'k', ports: tcp(80) }), ['1.2.3.5']));
    ok(a.assign(svc('ns/b', { sharingKey: 'k', ports: tcp(80) }), ['1.2.3.2']));
    ok(a.assign(svc('ns/c'), ['1.2.3.0']));
    // tcp/80 is taken on both shared IPs: first free (.1) wins.
    expect(ok(a.allocate(svc('ns/d', { sharingKey: 'k', ports: tcp(80) }))).ips).toEqual(['1.2.3.1']);
    // tcp/443 fits on every shared IP; the lowest (.1, d's) wins over the first free (.3).
    expect(ok(a.allocate(svc('ns/e', { sharingKey: 'k', ports: tcp(443) }))).ips).toEqual(['1.2.3.1']);
    // tcp/443 now taken on .1; .2 still fits.
    expect(ok(a.allocate(svc('ns/e2', { sharingKey: 'k', ports: tcp(443) }))).ips).toEqual(['1.2.3.2']);
    // Different backend key: no sharing.
    expect(ok(a.allocate(svc('ns/f', { sharingKey: 'k', backendKey: 'app=x', ports: tcp(8080) }))).ips).toEqual(['1.2.3.3']);
    // Same keys as f join f's IP.
    expect(ok(a.allocate(svc('ns/g', { sharingKey: 'k', backendKey: 'app=x', ports: tcp(8081) }))).ips).toEqual(['1.2.3.3']);
  });
  it('IPv6 /64: first address first, then ascending', () => {
    const a = new Allocator();
    a.setPools(pools(pool('p', ['2001:db8::/64'])));
    const got = [1, 2, 3].map((n) => ok(a.allocate(svc(`ns/s${n}`, { families: [6] }))).ips[0]);
    expect(got).toEqual(['2001:db8::', '2001:db8::1', '2001:db8::2']);
  });
});

describe('families (3.2 step 4)', () => {
  const a = () => {
    const x = new Allocator();
    x.setPools(pools(pool('a-v4', ['1.2.3.0/32']), pool('b-v6', ['1000::/128']), pool('c-dual', ['1.2.4.0/32', '1000:1::/128'])));
    return x;
  };
  it('single-stack takes the first pool with its family', () => {
    expect(ok(a().allocate(svc('ns/s', { families: [6] })))).toMatchObject({ pool: 'b-v6', ips: ['1000::'] });
  });
  it('dual-stack takes the first pool with both, IPv4 listed first', () => {
    const s = svc('ns/s', { families: [6, 4], ipFamilyPolicy: 'RequireDualStack', primaryFamily: 6 });
    expect(ok(a().allocate(s))).toMatchObject({ pool: 'c-dual', ips: ['1.2.4.0', '1000:1::'] });
  });
  it('PreferDualStack falls back to the primary family, then the secondary', () => {
    const x = a();
    ok(x.assign(svc('ns/hold'), ['1.2.4.0']));
    const v6primary = svc('ns/p6', { families: [6, 4], ipFamilyPolicy: 'PreferDualStack', primaryFamily: 6 });
    expect(ok(x.allocate(v6primary))).toMatchObject({ pool: 'b-v6', ips: ['1000::'] });
    const v4primary = svc('ns/p4', { families: [4, 6], ipFamilyPolicy: 'PreferDualStack', primaryFamily: 4 });
    expect(ok(x.allocate(v4primary))).toMatchObject({ pool: 'a-v4', ips: ['1.2.3.0'] });
    const again = svc('ns/p4b', { families: [4, 6], ipFamilyPolicy: 'PreferDualStack', primaryFamily: 4 });
    expect(ok(x.allocate(again))).toMatchObject({ pool: 'c-dual', ips: ['1000:1::'] });
  });
  it('RequireDualStack does not settle for one family', () => {
    const x = a();
    ok(x.assign(svc('ns/hold'), ['1.2.4.0']));
    expect(err(x.allocate(svc('ns/r', { families: [4, 6], ipFamilyPolicy: 'RequireDualStack' })))).toMatch(/^no available IPs/);
  });
  it('no cluster IP means no allocation', () => {
    expect(err(a().allocate(svc('ns/s', { families: [] })))).toContain('no cluster IP');
  });
});

describe('re-allocation and pool annotation', () => {
  it('allocate re-assigns an existing allocation and refreshes ports', () => {
    const a = new Allocator();
    a.setPools(pools(pool('p', ['1.2.3.0/30'])));
    ok(a.allocate(svc('ns/a', { sharingKey: 'k', ports: tcp(80) })));
    expect(ok(a.allocate(svc('ns/a', { sharingKey: 'k', ports: tcp(443) }))).ips).toEqual(['1.2.3.0']);
    // tcp/80 is free on 1.2.3.0 now.
    expect(ok(a.allocate(svc('ns/b', { sharingKey: 'k', ports: tcp(80) }))).ips).toEqual(['1.2.3.0']);
  });
  it('allocateFromPool moves a service out of another pool, releasing its IP first', () => {
    const a = new Allocator();
    a.setPools(pools(pool('p', ['1.2.3.0/32']), pool('q', ['1.2.4.0/32'], { autoAssign: false })));
    ok(a.allocate(svc('ns/a')));
    expect(ok(a.allocateFromPool(svc('ns/a'), 'q'))).toMatchObject({ pool: 'q', ips: ['1.2.4.0'] });
    expect(a.poolCounters('p').assignedIPv4).toBe(0n);
    ok(a.allocate(svc('ns/b')));
    // q is full (held by a); asking b to move there leaves b without an IP.
    expect(err(a.allocateFromPool(svc('ns/b'), 'q'))).toMatch(/^no available IPs in pool "q"/);
    expect(a.allocationOf('ns/b')).toBeUndefined();
    // Errors that do not depend on free space change nothing.
    ok(a.allocate(svc('ns/c')));
    expect(err(a.allocateFromPool(svc('ns/c'), 'nope'))).toMatch(/^unknown pool "nope"/);
    expect(a.allocationOf('ns/c')?.pool).toBe('p');
  });
  it('allocateFromPool refuses a held IP of the wrong family unless PreferDualStack', () => {
    const a = new Allocator();
    a.setPools(pools(pool('p', ['1.2.3.0/32', '1000::/128'])));
    ok(a.assign(svc('ns/a'), ['1000::']));
    expect(err(a.allocateFromPool(svc('ns/a', { families: [4] }), 'p'))).toMatch(/^IP for wrong family assigned/);
    const prefer = svc('ns/a', { families: [4, 6], ipFamilyPolicy: 'PreferDualStack' });
    expect(ok(a.allocateFromPool(prefer, 'p')).ips).toEqual(['1000::']);
  });
  it('setPools rejects overlapping CIDRs loudly (the parser must have caught them)', () => {
    const a = new Allocator();
    expect(() => a.setPools(pools(pool('a', ['1.2.3.0/24']), pool('b', ['1.2.3.128/25'])))).toThrow(/overlaps/);
  });
});
