import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Allocator } from '../../src/allocator/allocator.js';
import { formatIp, parseIp } from '../../src/net/address.js';
import { kubeOvnControllerFlags } from '../../src/underlay/kubeOvnObjects.js';
import { allowedRanges, candidateSubnets, checkPool, checkServiceDualStack } from '../../src/underlay/rules.js';
import { blockedForAllocator, underlayCondition } from '../../src/controller/underlayChecks.js';
import { effectiveExcludes } from '../../src/underlay/excludeIps.js';
import { pool as allocPool, pools, svc } from './allocator.fixtures.js';
import { SEED_SUBNET, inventory, ipObject, poolOf, subnetObject } from './underlay.fixtures.js';

const GOOD_FLAGS = { enableLb: true, enableOvnLbPreferLocal: true, lsCtSkipDstLportIps: false, skipConntrackDstCidrs: [] };
const reasons = (p: ReturnType<typeof checkPool>) => p.findings.map((f) => f.reason);
const messages = (p: ReturnType<typeof checkPool>) => p.findings.map((f) => f.message);

describe('candidate subnets', () => {
  it('needs vlan, enableExternalLBAddress, a CIDR and Validated', () => {
    const inv = inventory({
      subnets: [
        SEED_SUBNET,
        subnetObject('no-vlan', { cidrBlock: '10.1.0.0/24', vlan: '' }),
        subnetObject('no-lb', { cidrBlock: '10.2.0.0/24', enableExternalLBAddress: false }),
        subnetObject('mac', { cidrBlock: '', protocol: 'Mac' }),
        subnetObject('pending', { cidrBlock: '10.3.0.0/24' }, { validated: false }),
      ],
    });
    expect(candidateSubnets(inv).map((s) => s.name)).toEqual(['underlay-subnet']);
  });
});

describe('rules U1-U7', () => {
  it('a compliant pool (seed 002 corrected) has no findings and allows every address', () => {
    const r = checkPool(poolOf('underlay-pool', '10.180.204.250-10.180.204.254'), inventory({ controllerFlags: GOOD_FLAGS }));
    expect(r.findings).toEqual([]);
    expect(r.allowed.map((a) => `${formatIp(4, a.first)}-${formatIp(4, a.last)}`)).toEqual(['10.180.204.250-10.180.204.254']);
    expect(underlayCondition(r)).toMatchObject({ status: 'True', reason: 'UnderlayChecksPassed' });
  });

  it('U1: a range outside every candidate subnet', () => {
    const r = checkPool(poolOf('p', '192.0.2.10-192.0.2.20'), inventory());
    expect(messages(r)).toEqual([
      'pool "p": range 192.0.2.10-192.0.2.20 is not inside the CIDR of any Kube-OVN subnet with enableExternalLBAddress=true (candidates: underlay-subnet 10.180.204.0/24)',
    ]);
    expect(r.findings[0]).toMatchObject({ rule: 'U1', reason: 'PoolOutsideUnderlaySubnet', severity: 'error', blocksAllocation: false });
    expect(underlayCondition(r)).toMatchObject({ status: 'False', reason: 'PoolOutsideUnderlaySubnet' });
  });

  it('U1: a range spanning two subnets has the U1 reason', () => {
    const inv = inventory({ subnets: [SEED_SUBNET, subnetObject('next', { cidrBlock: '10.180.205.0/24', excludeIps: ['10.180.205.0..10.180.205.255'] })] });
    const r = checkPool(poolOf('p', '10.180.204.250-10.180.205.5'), inv);
    expect(reasons(r)).toEqual(['PoolOutsideUnderlaySubnet']);
    expect(messages(r)[0]).toContain('(candidates: next 10.180.205.0/24, underlay-subnet 10.180.204.0/24)');
  });

  it('U1: a range in a subnet that is not a candidate says why (SubnetNotEligible)', () => {
    const inv = inventory({ subnets: [subnetObject('overlay', { cidrBlock: '10.16.0.0/16', vlan: '', enableExternalLBAddress: false, excludeIps: ['10.16.0.10..10.16.0.20'] })] });
    const r = checkPool(poolOf('p', '10.16.0.10-10.16.0.20'), inv);
    expect(messages(r)).toEqual(['pool "p": range 10.16.0.10-10.16.0.20 is in subnet "overlay" (10.16.0.0/16) but spec.vlan is empty and enableExternalLBAddress is false']);
    const notValidated = checkPool(poolOf('p', '10.180.204.250-10.180.204.254'), inventory({ subnets: [{ ...SEED_SUBNET, status: { conditions: [] } }] }));
    expect(messages(notValidated)[0]).toBe('pool "p": range 10.180.204.250-10.180.204.254 is in subnet "underlay-subnet" (10.180.204.0/24) but subnet not Validated');
  });

  it('U2: seed 002 as written (excludeIps .250-.252 only) blocks .253 and .254, suggesting Kube-OVN syntax', () => {
    const seed = subnetObject('underlay-subnet', { cidrBlock: '10.180.204.0/24', gateway: '10.180.204.1', excludeIps: ['10.180.204.250', '10.180.204.251', '10.180.204.252'] });
    const r = checkPool(poolOf('underlay-pool', '10.180.204.250-10.180.204.254'), inventory({ subnets: [seed] }));
    expect(messages(r)).toEqual([
      'pool "underlay-pool": 10.180.204.253-10.180.204.254 in subnet "underlay-subnet" are not covered by spec.excludeIps; Kube-OVN IPAM may assign them to pods. Add "10.180.204.253..10.180.204.254" to spec.excludeIps of subnet "underlay-subnet".',
    ]);
    expect(r.findings[0]).toMatchObject({ rule: 'U2', reason: 'PoolNotExcluded', blocksAllocation: true });
    expect(r.allowed.map((a) => `${formatIp(4, a.first)}-${formatIp(4, a.last)}`)).toEqual(['10.180.204.250-10.180.204.252']);
  });

  it('U2: a MetalLB-style dash entry in excludeIps excludes nothing', () => {
    const s = subnetObject('s', { cidrBlock: '10.180.204.0/24', excludeIps: ['10.180.204.250-10.180.204.254'] });
    const r = checkPool(poolOf('p', '10.180.204.250-10.180.204.251'), inventory({ subnets: [s] }));
    expect(reasons(r)).toEqual(['PoolNotExcluded']);
    expect(messages(r)[0]).toContain('Add "10.180.204.250..10.180.204.251"');
  });

  it('U3: gateway, network, broadcast, u2o IP, vips and multicast querier are named', () => {
    const s = subnetObject(
      's',
      { cidrBlock: '10.180.204.0/24', gateway: '10.180.204.254', excludeIps: ['10.180.204.0..10.180.204.255'], vips: ['10.180.204.240'] },
      { status: { u2oInterconnectionIP: '10.180.204.241', mcastQuerierIP: '10.180.204.242' } },
    );
    const r = checkPool(poolOf('p', '10.180.204.0/24'), inventory({ subnets: [s] }));
    expect(messages(r)).toEqual([
      'pool "p": 10.180.204.0 is the network address of subnet "s"',
      'pool "p": 10.180.204.255 is the broadcast address of subnet "s"',
      'pool "p": 10.180.204.254 is the gateway of subnet "s"',
      'pool "p": 10.180.204.241 is the u2oInterconnectionIP of subnet "s"',
      'pool "p": 10.180.204.240 is the reserved VIP (spec.vips) of subnet "s"',
      'pool "p": 10.180.204.242 is the multicast querier IP of subnet "s"',
    ]);
    expect(new Set(reasons(r))).toEqual(new Set(['PoolContainsReservedAddress']));
    expect(r.blocked.map((b) => formatIp(4, b.first)).sort()).toEqual(
      ['10.180.204.0', '10.180.204.255', '10.180.204.254', '10.180.204.241', '10.180.204.240', '10.180.204.242'].sort(),
    );
  });

  it('U4: an ips.kubeovn.io object holding a pool address blocks it', () => {
    const r = checkPool(poolOf('underlay-pool', '10.180.204.250-10.180.204.254'), inventory({ ips: [ipObject('web-0.default', '10.180.204.251', 'web-0', 'shop')] }));
    expect(messages(r)).toEqual(['10.180.204.251 in pool "underlay-pool" is already allocated by Kube-OVN to shop/web-0 (ips.kubeovn.io/web-0.default)']);
    expect(r.findings[0]).toMatchObject({ rule: 'U4', reason: 'AddressInUse', blocksAllocation: true });
  });

  it('U5: a dual-stack pool whose families live in different subnets; per Service message', () => {
    const inv = inventory({
      subnets: [
        SEED_SUBNET,
        subnetObject('v6', { cidrBlock: '2001:db8::/64', excludeIps: ['2001:db8::100..2001:db8::1ff'] }),
      ],
    });
    const r = checkPool(poolOf('p', '10.180.204.250-10.180.204.254', '2001:db8::100-2001:db8::1ff'), inv);
    expect(messages(r)).toEqual([
      'pool "p": IPv4 10.180.204.250-10.180.204.254 is in subnet "underlay-subnet" but IPv6 2001:db8::100-2001:db8::1ff is in subnet "v6"; both families must come from one dual-stack subnet',
    ]);
    expect(checkServiceDualStack('shop/web', ['10.180.204.250', '2001:db8::100'], inv)?.message).toBe(
      'service shop/web: IPv4 10.180.204.250 is in subnet "underlay-subnet" but IPv6 2001:db8::100 is in subnet "v6"; both families must come from one dual-stack subnet',
    );
    const dual = inventory({ subnets: [subnetObject('d', { cidrBlock: '10.180.204.0/24,2001:db8::/64', excludeIps: ['10.180.204.250..10.180.204.254', '2001:db8::100..2001:db8::1ff'] })] });
    expect(checkPool(poolOf('p', '10.180.204.250-10.180.204.254', '2001:db8::100-2001:db8::1ff'), dual).findings).toEqual([]);
    expect(checkServiceDualStack('shop/web', ['10.180.204.250', '2001:db8::100'], dual)).toBeUndefined();
  });

  it('U6: controller flags, enableLb, logicalGateway, exchangeLinkName, skip-conntrack overlap (warnings)', () => {
    const flags = kubeOvnControllerFlags({
      spec: { template: { spec: { containers: [{ name: 'kube-ovn-controller', args: ['--enable-lb=false', '--skip-conntrack-dst-cidrs=10.180.204.248/29,192.0.2.0/24'] }] } } },
    })!;
    expect(flags).toEqual({ enableLb: false, enableOvnLbPreferLocal: false, lsCtSkipDstLportIps: true, skipConntrackDstCidrs: ['10.180.204.248/29', '192.0.2.0/24'] });
    const s = subnetObject('underlay-subnet', { cidrBlock: '10.180.204.0/24', excludeIps: ['10.180.204.250..10.180.204.254'], enableLb: false, logicalGateway: true });
    const pn = { metadata: { name: 'provider' }, spec: { exchangeLinkName: true }, status: { vlans: ['vlan341'] } };
    const r = checkPool(poolOf('p', '10.180.204.250-10.180.204.254'), inventory({ subnets: [s], providerNetworks: [pn], controllerFlags: flags }));
    expect(messages(r)).toEqual([
      'Kube-OVN controller flag --enable-ovn-lb-prefer-local is false; MetalLB-style VIPs on underlay subnets require --enable-ovn-lb-prefer-local=true and --ls-ct-skip-dst-lport-ips=false',
      'Kube-OVN controller flag --ls-ct-skip-dst-lport-ips is true; MetalLB-style VIPs on underlay subnets require --enable-ovn-lb-prefer-local=true and --ls-ct-skip-dst-lport-ips=false',
      'Kube-OVN controller flag --enable-lb is false; MetalLB-style VIPs on underlay subnets require --enable-ovn-lb-prefer-local=true and --ls-ct-skip-dst-lport-ips=false, and OVN load balancers (--enable-lb=true)',
      'Kube-OVN controller flag --skip-conntrack-dst-cidrs entry 10.180.204.248/29 overlaps pool "p" (10.180.204.250-10.180.204.254); traffic to those VIPs skips conntrack and is never load-balanced. Remove the entry or move the pool.',
      'pool "p": subnet "underlay-subnet" has spec.enableLb=false; Kube-OVN does not attach its load balancers to the subnet, so the VIPs are never DNATed. Remove spec.enableLb or set it to true.',
      'pool "p": subnet "underlay-subnet" has spec.logicalGateway=true; MetalLB-style VIPs are only supported with the physical gateway (set logicalGateway to false)',
      'pool "p": provider network "provider" of subnet "underlay-subnet" has spec.exchangeLinkName=true; Kube-OVN installs the VIP flows on br-provider and the provider NIC, names that are swapped in that mode. Set exchangeLinkName to false.',
    ]);
    expect(reasons(r)).toEqual(['KubeOVNMisconfigured', 'KubeOVNMisconfigured', 'KubeOVNMisconfigured', 'KubeOVNMisconfigured', 'KubeOVNMisconfigured', 'UnsupportedSubnetMode', 'KubeOVNMisconfigured']);
    expect(r.findings.every((f) => f.severity === 'warning' && !f.blocksAllocation)).toBe(true);
    expect(r.allowed).toHaveLength(1);
  });

  it('U7: no ready node, Vlan not bound, Vlan or ProviderNetwork missing', () => {
    const pool = poolOf('p', '10.180.204.250-10.180.204.254');
    const notReady = checkPool(pool, inventory({ nodeLabels: [{}], providerNetworks: [{ metadata: { name: 'provider' }, status: { vlans: [] } }] }));
    expect(messages(notReady)).toEqual([
      'pool "p": no node carries provider.provider-network.kubernetes.io/ready=true, so provider network "provider" (subnet "underlay-subnet") is ready nowhere and no node can announce the pool\'s addresses',
      'pool "p": Vlan "vlan341" of subnet "underlay-subnet" is not in status.vlans of provider network "provider"; Kube-OVN has not bound the VLAN to the provider network yet',
    ]);
    expect(new Set(reasons(notReady))).toEqual(new Set(['ProviderNetworkNotReady']));
    expect(messages(checkPool(pool, inventory({ vlans: [] })))).toEqual([
      'pool "p": subnet "underlay-subnet" names Vlan "vlan341" in spec.vlan, but no such Vlan exists; create it or fix spec.vlan',
    ]);
    expect(messages(checkPool(pool, inventory({ providerNetworks: [] })))).toEqual([
      'pool "p": Vlan "vlan341" of subnet "underlay-subnet" names provider network "provider", but no such ProviderNetwork exists',
    ]);
  });
});

describe('the allocator honours blocked addresses', () => {
  const seedWritten = subnetObject('underlay-subnet', { cidrBlock: '10.180.204.0/24', gateway: '10.180.204.1', excludeIps: ['10.180.204.250', '10.180.204.252'] });

  it('skips uncovered and in-use addresses and refuses a requested one naming the rule', () => {
    const inv = inventory({ subnets: [seedWritten], ips: [ipObject('x', '10.180.204.250')] });
    const report = checkPool(poolOf('underlay-pool', '10.180.204.250-10.180.204.254'), inv);
    const a = new Allocator();
    a.setPools(pools(allocPool('underlay-pool', ['10.180.204.250-10.180.204.254'])));
    a.setBlockedAddresses('underlay-pool', blockedForAllocator(report));
    const first = a.allocate(svc('ns/a'));
    expect(first).toEqual({ ok: true, pool: 'underlay-pool', ips: ['10.180.204.252'] });
    expect(a.allocate(svc('ns/b')).ok).toBe(false);
    const requested = a.assign(svc('ns/c'), ['10.180.204.253']);
    expect(requested.ok).toBe(false);
    expect(!requested.ok && requested.error).toBe(
      '10.180.204.253 in pool "underlay-pool" may not be handed out: U2 PoolNotExcluded: pool "underlay-pool": 10.180.204.251, 10.180.204.253-10.180.204.254 in subnet "underlay-subnet" are not covered by spec.excludeIps; Kube-OVN IPAM may assign them to pods. Add "10.180.204.251", "10.180.204.253..10.180.204.254" to spec.excludeIps of subnet "underlay-subnet".',
    );
    const inUse = a.assign(svc('ns/d'), ['10.180.204.250']);
    expect(!inUse.ok && inUse.error).toMatch(/^10\.180\.204\.250 in pool "underlay-pool" may not be handed out: U4 AddressInUse: /);
    a.setBlockedAddresses('underlay-pool', []);
    expect(a.allocate(svc('ns/b'))).toMatchObject({ ok: true, ips: ['10.180.204.250'] });
  });

  it('skips blocked runs with avoidBuggyIPs across a /24 boundary', () => {
    const a = new Allocator();
    a.setPools(pools(allocPool('p', ['192.0.2.250-192.0.3.3'], { avoidBuggyIPs: true })));
    a.setBlockedAddresses('p', [{ family: 4, first: parseIp('192.0.2.250')!.value, last: parseIp('192.0.2.254')!.value, why: 'test' }]);
    expect(a.allocate(svc('ns/a'))).toMatchObject({ ok: true, ips: ['192.0.3.1'] });
  });
});

describe('property: allowed ranges', () => {
  const base = parseIp('10.180.204.0')!.value;
  it('are a subset of the pool and never hold an uncovered, reserved or in-use address', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 20 })), { maxLength: 5 }),
        fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 4 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 1, max: 254 }),
        (excl, used, poolStart, poolLen, gw) => {
          const ip = (o: number) => formatIp(4, base + BigInt(Math.min(o, 255)));
          const excludeIps = excl.map(([s, n]) => (n === 0 ? ip(s) : `${ip(s)}..${ip(s + n)}`));
          const s = subnetObject('s', { cidrBlock: '10.180.204.0/24', gateway: ip(gw), excludeIps });
          const inv = inventory({ subnets: [s], ips: used.map((u, i) => ipObject(`ip${i}`, ip(u))) });
          const poolEnd = Math.min(poolStart + poolLen, 255);
          const pool = poolOf('p', `${ip(poolStart)}-${ip(poolEnd)}`);
          const facts = inv.subnets[0]!;
          const excluded = effectiveExcludes(facts.excludeIps, facts.cidrs, facts.gateways).ranges;
          for (const r of allowedRanges(pool, inv)) {
            for (let v = r.first; v <= r.last; v++) {
              const o = Number(v - base);
              expect(o >= poolStart && o <= poolEnd).toBe(true);
              expect(excluded.some((e) => v >= e.first && v <= e.last)).toBe(true);
              expect(o === 0 || o === 255 || o === gw || used.includes(o)).toBe(false);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
