import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { parseConfig, type ParseOutcome } from '../../src/config/parse.js';
import type { Config, ConfigError } from '../../src/config/model.js';
import type { ConfigResources } from '../../src/config/resources.js';
import { bfd, bgpAd, community, l2, peer, pool, resources, NS } from '../fixtures/config/objects.js';

function ok(res: ConfigResources): Config {
  const out = parseConfig(res);
  if (!out.ok) throw new Error(`expected a valid config, got:\n${out.errors.map((e) => `${e.kind} ${e.name} ${e.field}: ${e.message}`).join('\n')}`);
  return out.config;
}

function errors(res: ConfigResources): ConfigError[] {
  const out = parseConfig(res);
  if (out.ok) throw new Error('expected the config to be rejected');
  return out.errors;
}

/** Exactly one error, on this object and field, whose message matches. */
function expectOneError(res: ConfigResources, want: { kind: string; name: string; field: string; message: RegExp; transient?: boolean }): ConfigError {
  const errs = errors(res);
  expect(errs, JSON.stringify(errs, null, 1)).toHaveLength(1);
  const e = errs[0] as ConfigError;
  expect(e.kind).toBe(want.kind);
  expect(e.name).toBe(want.name);
  expect(e.field).toBe(want.field);
  expect(e.message).toMatch(want.message);
  expect(e.transient ?? false).toBe(want.transient ?? false);
  return e;
}

function warnings(out: ParseOutcome): ConfigError[] {
  return out.warnings;
}

const v4pool = pool('p', { addresses: ['192.0.2.0/24'] });
const goodPeer = (name = 'r1', extra: Record<string, unknown> = {}) => peer(name, { myASN: 64500, peerASN: 64501, peerAddress: '10.0.0.1', ...extra });

describe('valid configurations parse to the expected Config', () => {
  it('applies defaults to pools, advertisements, peers and BFD profiles', () => {
    const config = ok(
      resources({
        pools: [pool('p', { addresses: ['192.0.2.0/24', '198.51.100.10 - 198.51.100.13', '2001:db8::/126'] }, { zone: 'a' })],
        l2Advertisements: [l2('l2')],
        bgpAdvertisements: [bgpAd('ad')],
        bgpPeers: [goodPeer('r1', { bfdProfile: 'fast' })],
        bfdProfiles: [bfd('fast')],
      }),
    );
    const p = config.pools.get('p');
    expect(p).toBeDefined();
    expect(p?.autoAssign).toBe(true);
    expect(p?.avoidBuggyIPs).toBe(false);
    expect(p?.labels).toEqual({ zone: 'a' });
    expect(p?.serviceAllocation).toBeUndefined();
    expect(p?.addresses).toEqual(['192.0.2.0/24', '198.51.100.10 - 198.51.100.13', '2001:db8::/126']);
    expect(p?.cidrs.map((c) => `${c.family}/${c.prefix}`)).toEqual(['4/24', '4/31', '4/31', '6/126']);

    expect(config.l2Advertisements).toEqual([
      { name: 'l2', pools: ['p'], nodeSelectors: [], interfaces: [], serviceSelectors: [], preferredNodeSelectors: [] },
    ]);
    expect(config.bgpAdvertisements).toEqual([
      { name: 'ad', pools: ['p'], aggregationLength: 32, aggregationLengthV6: 128, communities: [], nodeSelectors: [], peers: [], serviceSelectors: [] },
    ]);
    expect(config.peers).toEqual([
      {
        name: 'r1', myASN: 64500, peerASN: 64501, peerAddress: '10.0.0.1', peerPort: 179, holdTime: 90, keepaliveTime: 30,
        nodeSelectors: [], bfdProfile: 'fast', enableGracefulRestart: false, ebgpMultiHop: false, dualStackAddressFamily: false,
      },
    ]);
    expect(config.bfdProfiles.get('fast')).toEqual({
      name: 'fast', receiveInterval: 300, transmitInterval: 300, detectMultiplier: 3, echoInterval: 50, echoMode: false, passiveMode: false, minimumTtl: 254,
    });
  });

  it('keeps explicit values', () => {
    const config = ok(
      resources({
        pools: [
          pool('p', {
            addresses: ['192.0.2.0/24'], autoAssign: false, avoidBuggyIPs: true,
            serviceAllocation: { priority: 5, namespaces: ['a', 'b'], namespaceSelectors: [{ matchLabels: { team: 'x' } }], serviceSelectors: [{ matchExpressions: [{ key: 'app', operator: 'Exists' }] }] },
          }),
        ],
        bgpAdvertisements: [bgpAd('ad', { aggregationLength: 28, localPref: 100, communities: ['65535:65282', 'large:1:2:3', 'noexp'], peers: ['r1'], nodeSelectors: [{ matchLabels: { rack: 'r1' } }] })],
        communities: [community('c', [{ name: 'noexp', value: '65535:65281' }])],
        bgpPeers: [goodPeer('r1', { peerAddress: '2001:DB8:0::1', sourceAddress: '10.0.0.2', routerID: '1.2.3.4', peerPort: 1179, holdTime: '1m30s', keepaliveTime: '10s', ebgpMultiHop: true, password: 'pw', dualStackAddressFamily: true })],
        bfdProfiles: [bfd('b', { receiveInterval: 10, transmitInterval: 60000, detectMultiplier: 255, echoInterval: 10, echoMode: true, passiveMode: true, minimumTtl: 1 })],
      }),
    );
    const p = config.pools.get('p');
    expect(p?.autoAssign).toBe(false);
    expect(p?.avoidBuggyIPs).toBe(true);
    expect(p?.serviceAllocation).toEqual({
      priority: 5, namespaces: ['a', 'b'], namespaceSelectors: [{ matchLabels: { team: 'x' }, matchExpressions: [] }],
      serviceSelectors: [{ matchLabels: {}, matchExpressions: [{ key: 'app', operator: 'Exists', values: [] }] }],
    });
    const ad = config.bgpAdvertisements[0];
    expect(ad?.aggregationLength).toBe(28);
    expect(ad?.localPref).toBe(100);
    expect(ad?.peers).toEqual(['r1']);
    expect(ad?.communities).toEqual([
      { kind: 'standard', value: 65535 * 65536 + 65282 },
      { kind: 'large', global: 1, local1: 2, local2: 3 },
      { kind: 'standard', value: 65535 * 65536 + 65281 },
    ]);
    expect(config.communities.get('noexp')).toEqual({ kind: 'standard', value: 65535 * 65536 + 65281 });
    const r = config.peers[0];
    expect(r).toMatchObject({ peerAddress: '2001:db8::1', sourceAddress: '10.0.0.2', routerID: '1.2.3.4', peerPort: 1179, holdTime: 90, keepaliveTime: 10, ebgpMultiHop: true, password: 'pw', dualStackAddressFamily: true });
    expect(config.bfdProfiles.get('b')).toMatchObject({ receiveInterval: 10, transmitInterval: 60000, detectMultiplier: 255, echoInterval: 10, echoMode: true, passiveMode: true, minimumTtl: 1 });
  });

  it('returns a deeply frozen Config, maps included', () => {
    const config = ok(resources({ pools: [v4pool], bgpPeers: [goodPeer()] }));
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.pools.get('p'))).toBe(true);
    expect(Object.isFrozen(config.pools.get('p')?.cidrs)).toBe(true);
    expect(Object.isFrozen(config.peers[0]?.nodeSelectors)).toBe(true);
    expect(() => (config.pools as Map<string, unknown>).set('x', {})).toThrow(TypeError);
    expect(() => (config.pools as Map<string, unknown>).delete('p')).toThrow(TypeError);
    expect(() => {
      (config.peers as unknown[]).push({});
    }).toThrow(TypeError);
    expect(config.pools.size).toBe(1);
  });

  it('accepts an empty configuration', () => {
    const config = ok(resources({}));
    expect(config.pools.size).toBe(0);
    expect(config.peers).toEqual([]);
  });

  it('does not mutate its input', () => {
    const input = resources({ pools: [v4pool] });
    const before = JSON.stringify(input);
    ok(input);
    expect(JSON.stringify(input)).toBe(before);
  });
});

describe('pool selection by advertisements', () => {
  const pools = [
    pool('a', { addresses: ['10.0.0.0/24'] }, { tier: 'gold' }),
    pool('b', { addresses: ['10.0.1.0/24'] }, { tier: 'silver' }),
    pool('c', { addresses: ['10.0.2.0/24'] }),
  ];
  it.each([
    ['no names and no selectors => all pools', {}, ['a', 'b', 'c']],
    ['names only', { ipAddressPools: ['c', 'a'] }, ['a', 'c']],
    ['unknown names are ignored', { ipAddressPools: ['nope', 'b'] }, ['b']],
    ['only unknown names => no pool', { ipAddressPools: ['nope'] }, []],
    ['selectors only', { ipAddressPoolSelectors: [{ matchLabels: { tier: 'gold' } }] }, ['a']],
    ['selector matching nothing => no pool', { ipAddressPoolSelectors: [{ matchLabels: { tier: 'none' } }] }, []],
    ['names and selectors, a pool chosen by both once', { ipAddressPools: ['a', 'c'], ipAddressPoolSelectors: [{ matchExpressions: [{ key: 'tier', operator: 'In', values: ['gold', 'silver'] }] }] }, ['a', 'b', 'c']],
  ])('%s', (_title, spec, want) => {
    const config = ok(resources({ pools, l2Advertisements: [l2('x', spec)], bgpAdvertisements: [bgpAd('y', spec)] }));
    expect(config.l2Advertisements[0]?.pools).toEqual(want);
    expect(config.bgpAdvertisements[0]?.pools).toEqual(want);
  });
});

describe('IPAddressPool rules', () => {
  it('rejects a pool without addresses', () => {
    expectOneError(resources({ pools: [pool('p', {})] }), { kind: 'IPAddressPool', name: 'p', field: 'spec.addresses', message: /no addresses.*list at least one/ });
    expectOneError(resources({ pools: [pool('p', { addresses: [] })] }), { kind: 'IPAddressPool', name: 'p', field: 'spec.addresses', message: /no addresses/ });
  });

  it.each([
    ['10.0.0.1', /single address.*x\/32/],
    ['10.0.0.0/33', /invalid CIDR "10.0.0.0\/33"/],
    ['banana', /invalid CIDR "banana"/],
    ['10.0.0.9-10.0.0.1', /start IP "10.0.0.9" is after the end IP "10.0.0.1"/],
    ['10.0.0.1-2001:db8::1', /different IP families/],
    ['10.0.0.1-10.0.0.x', /invalid end IP/],
  ])('rejects address entry %s with the entry index', (entry, message) => {
    const e = expectOneError(resources({ pools: [pool('p', { addresses: ['192.0.2.0/24', entry] })] }), { kind: 'IPAddressPool', name: 'p', field: 'spec.addresses[1]', message });
    expect(e.message).toMatch(/write a CIDR such as/);
  });

  it('rejects overlapping CIDRs across pools, naming both', () => {
    expectOneError(resources({ pools: [pool('a', { addresses: ['10.0.0.0/24'] }), pool('b', { addresses: ['10.1.0.0/24', '10.0.0.128/25'] })] }), {
      kind: 'IPAddressPool', name: 'b', field: 'spec.addresses[1]',
      message: /CIDR "10.0.0.128\/25" overlaps with CIDR "10.0.0.0\/24" in pool "a"; make the pools' address ranges disjoint/,
    });
  });

  it('rejects overlaps inside one pool and between a range and a CIDR', () => {
    expectOneError(resources({ pools: [pool('a', { addresses: ['10.0.0.0/24', '10.0.0.200-10.0.1.5'] })] }), {
      kind: 'IPAddressPool', name: 'a', field: 'spec.addresses[1]', message: /\(from "10.0.0.200-10.0.1.5"\) overlaps with CIDR "10.0.0.0\/24" earlier in the same pool/,
    });
  });

  it('masks host bits like Go net.ParseCIDR, so 10.0.0.5/24 overlaps 10.0.0.0/25', () => {
    expectOneError(resources({ pools: [pool('a', { addresses: ['10.0.0.5/24'] }), pool('b', { addresses: ['10.0.0.0/25'] })] }), {
      kind: 'IPAddressPool', name: 'b', field: 'spec.addresses[0]', message: /overlaps with CIDR "10.0.0.0\/24" \(from "10.0.0.5\/24"\)/,
    });
  });

  it('does not confuse IPv4 and IPv6 ranges', () => {
    ok(resources({ pools: [pool('a', { addresses: ['0.0.0.0/0'] }), pool('b', { addresses: ['::/0'] })] }));
  });

  it('rejects duplicate pool names and missing names', () => {
    expectOneError(resources({ pools: [pool('a', { addresses: ['10.0.0.0/24'] }), pool('a', { addresses: ['10.0.1.0/24'] })] }), {
      kind: 'IPAddressPool', name: 'a', field: 'metadata.name', message: /duplicate IPAddressPool name "a".*unique name/,
    });
    expectOneError(resources({ pools: [{ apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: {}, spec: { addresses: ['10.0.0.0/24'] } }] }), {
      kind: 'IPAddressPool', name: '#0', field: 'metadata.name', message: /missing name/,
    });
    expectOneError(resources({ pools: [pool('Bad_Name', { addresses: ['10.0.0.0/24'] })] }), { kind: 'IPAddressPool', name: 'Bad_Name', field: 'metadata.name', message: /not a valid object name/ });
  });

  it('rejects duplicate namespaces and selectors in serviceAllocation', () => {
    expectOneError(resources({ pools: [pool('p', { addresses: ['10.0.0.0/24'], serviceAllocation: { namespaces: ['a', 'b', 'a'] } })] }), {
      kind: 'IPAddressPool', name: 'p', field: 'spec.serviceAllocation.namespaces[2]', message: /duplicate definition of namespace "a" \(same as entry \[0\]\)/,
    });
    expectOneError(
      resources({ pools: [pool('p', { addresses: ['10.0.0.0/24'], serviceAllocation: { serviceSelectors: [{ matchLabels: { a: '1', b: '2' } }, { matchLabels: { b: '2', a: '1' } }] } })] }),
      { kind: 'IPAddressPool', name: 'p', field: 'spec.serviceAllocation.serviceSelectors[1]', message: /duplicate definition of selector/ },
    );
    expectOneError(resources({ pools: [pool('p', { addresses: ['10.0.0.0/24'], serviceAllocation: { priority: -1 } })] }), {
      kind: 'IPAddressPool', name: 'p', field: 'spec.serviceAllocation.priority', message: /invalid value -1/,
    });
  });

  it('reports type errors with the value and the expected type', () => {
    expectOneError(resources({ pools: [pool('p', { addresses: ['10.0.0.0/24'], autoAssign: 'yes' })] }), {
      kind: 'IPAddressPool', name: 'p', field: 'spec.autoAssign', message: /expected true or false.*got the string "yes"/,
    });
  });

  it('warns about unknown spec fields but accepts the object', () => {
    const out = parseConfig(resources({ pools: [pool('p', { addresses: ['10.0.0.0/24'], autoassign: false })] }));
    expect(out.ok).toBe(true);
    expect(warnings(out)).toEqual([expect.objectContaining({ kind: 'IPAddressPool', name: 'p', field: 'spec.autoassign' })]);
  });

  it('rejects unknown apiVersions and wrong kinds', () => {
    expectOneError(resources({ pools: [{ ...v4pool, apiVersion: 'metallb.io/v1alpha1' }] }), { kind: 'IPAddressPool', name: 'p', field: 'apiVersion', message: /not served.*use metallb.io\/v1beta1/ });
    expectOneError(resources({ pools: [{ ...v4pool, kind: 'AddressPool' }] }), { kind: 'IPAddressPool', name: 'p', field: 'kind', message: /kind "AddressPool"/ });
  });

  it('collects all errors instead of stopping at the first', () => {
    const errs = errors(
      resources({
        pools: [pool('a', { addresses: ['10.0.0.0/24', 'nope'] }), pool('b', { addresses: ['10.0.0.0/25'] }), pool('c', {})],
        bgpPeers: [peer('r', { peerASN: 1, peerAddress: '10.0.0.1' })],
      }),
    );
    expect(errs.map((e) => `${e.kind}/${e.name} ${e.field}`).sort()).toEqual([
      'BGPPeer/r spec.myASN',
      'IPAddressPool/a spec.addresses[1]',
      'IPAddressPool/b spec.addresses[0]',
      'IPAddressPool/c spec.addresses',
    ]);
  });
});

describe('label selector rules', () => {
  const withSelector = (sel: unknown) => resources({ pools: [v4pool], l2Advertisements: [l2('x', { nodeSelectors: [sel] })] });
  it.each([
    [{ matchExpressions: [{ key: 'a', operator: 'Equals', values: ['1'] }] }, 'spec.nodeSelectors[0].matchExpressions[0].operator', /invalid operator "Equals"; use one of In, NotIn, Exists, DoesNotExist/],
    [{ matchExpressions: [{ key: 'a', operator: 'in', values: ['1'] }] }, 'spec.nodeSelectors[0].matchExpressions[0].operator', /invalid operator "in"/],
    [{ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }, 'spec.nodeSelectors[0].matchExpressions[0].values', /In needs at least one value/],
    [{ matchExpressions: [{ key: 'a', operator: 'NotIn' }] }, 'spec.nodeSelectors[0].matchExpressions[0].values', /NotIn needs at least one value/],
    [{ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }, 'spec.nodeSelectors[0].matchExpressions[0].values', /Exists takes no values/],
    [{ matchExpressions: [{ key: 'a', operator: 'DoesNotExist', values: ['x'] }] }, 'spec.nodeSelectors[0].matchExpressions[0].values', /DoesNotExist takes no values/],
    [{ matchExpressions: [{ key: 'a', operator: 'In', values: ['x', 'x'] }] }, 'spec.nodeSelectors[0].matchExpressions[0].values[1]', /duplicate value "x"/],
    [{ matchExpressions: [{ key: 'bad key', operator: 'Exists' }] }, 'spec.nodeSelectors[0].matchExpressions[0].key', /label key "bad key" is invalid/],
    [{ matchLabels: { 'Example.com/x': 'y' } }, 'spec.nodeSelectors[0].matchLabels["Example.com/x"]', /invalid prefix "Example.com"/],
    [{ matchLabels: { ok: '-bad' } }, 'spec.nodeSelectors[0].matchLabels.ok', /label value "-bad" is invalid/],
    [{ matchLabels: { ok: 'x'.repeat(64) } }, 'spec.nodeSelectors[0].matchLabels.ok', /longer than 63/],
    [{ matchLabels: { [`${'k'.repeat(64)}`]: 'v' } }, `spec.nodeSelectors[0].matchLabels.${'k'.repeat(64)}`, /name part longer than 63/],
  ])('rejects %j', (sel, field, message) => {
    expectOneError(withSelector(sel), { kind: 'L2Advertisement', name: 'x', field, message });
  });

  it('accepts valid keys, prefixed keys, and empty values', () => {
    const config = ok(withSelector({ matchLabels: { 'kubernetes.io/hostname': 'node-1', empty: '' }, matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'NotIn', values: ['a', 'b'] }] }));
    expect(config.l2Advertisements[0]?.nodeSelectors).toEqual([
      { matchLabels: { 'kubernetes.io/hostname': 'node-1', empty: '' }, matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'NotIn', values: ['a', 'b'] }] },
    ]);
  });
});

describe('L2Advertisement rules', () => {
  it.each([
    ['ipAddressPools', { ipAddressPools: ['p', 'p'] }, 'spec.ipAddressPools[1]', /duplicate definition of IPAddressPool "p"/],
    ['interfaces', { interfaces: ['eth0', 'eth1', 'eth0'] }, 'spec.interfaces[2]', /duplicate definition of interface "eth0"/],
    ['nodeSelectors', { nodeSelectors: [{ matchLabels: { a: '1' } }, { matchLabels: { a: '1' } }] }, 'spec.nodeSelectors[1]', /duplicate definition of selector/],
    ['ipAddressPoolSelectors', { ipAddressPoolSelectors: [{}, {}] }, 'spec.ipAddressPoolSelectors[1]', /duplicate definition of selector/],
    ['serviceSelectors', { serviceSelectors: [{ matchExpressions: [{ key: 'a', operator: 'In', values: ['1', '2'] }] }, { matchExpressions: [{ key: 'a', operator: 'In', values: ['2', '1'] }] }] }, 'spec.serviceSelectors[1]', /duplicate definition of selector/],
    ['preferredNodeSelectors weight', { preferredNodeSelectors: [{ weight: 0, preference: {} }] }, 'spec.preferredNodeSelectors[0].weight', /1-100 range/],
    ['preferredNodeSelectors duplicates', { preferredNodeSelectors: [{ weight: 5, preference: { matchLabels: { a: 'b' } } }, { weight: 5, preference: { matchLabels: { a: 'b' } } }] }, 'spec.preferredNodeSelectors[1]', /duplicate/],
  ])('rejects duplicate/invalid %s', (_t, spec, field, message) => {
    expectOneError(resources({ pools: [v4pool], l2Advertisements: [l2('x', spec)] }), { kind: 'L2Advertisement', name: 'x', field, message });
  });

  it('keeps interfaces and preferred node selectors', () => {
    const config = ok(resources({ pools: [v4pool], l2Advertisements: [l2('x', { interfaces: ['eth0'], preferredNodeSelectors: [{ weight: 50, preference: { matchLabels: { zone: 'a' } } }] })] }));
    expect(config.l2Advertisements[0]?.interfaces).toEqual(['eth0']);
    expect(config.l2Advertisements[0]?.preferredNodeSelectors).toEqual([{ weight: 50, preference: { matchLabels: { zone: 'a' }, matchExpressions: [] } }]);
  });
});

describe('BGPAdvertisement rules', () => {
  const ad = (spec: Record<string, unknown>, poolList = [v4pool]) => resources({ pools: poolList, bgpAdvertisements: [bgpAd('ad', spec)] });

  it.each([
    [{ aggregationLength: 0 }, 'spec.aggregationLength', /invalid value 0: must be a whole number in the 1-32 range/],
    [{ aggregationLength: 33 }, 'spec.aggregationLength', /invalid value 33/],
    [{ aggregationLengthV6: 129 }, 'spec.aggregationLengthV6', /0-128 range/],
    [{ localPref: -1 }, 'spec.localPref', /0-4294967295/],
    [{ localPref: 4294967296 }, 'spec.localPref', /0-4294967295/],
    [{ peers: ['a', 'a'] }, 'spec.peers[1]', /duplicate definition of peer "a"/],
    [{ communities: ['1:1', '1:1'] }, 'spec.communities[1]', /duplicate definition of community "1:1"/],
  ])('rejects %j', (spec, field, message) => {
    expectOneError(ad(spec), { kind: 'BGPAdvertisement', name: 'ad', field, message });
  });

  it.each([
    ['65536:1', /invalid community "65536:1"/],
    ['1:65536', /invalid community/],
    ['1:2:3', /invalid community "1:2:3"/],
    ['abc:1', /invalid community/],
    ['large:1:2', /invalid large community/],
    ['large:4294967296:1:1', /invalid large community/],
    ['large:a:b:c', /invalid large community/],
  ])('rejects malformed community %s permanently', (value, message) => {
    const e = expectOneError(ad({ communities: [value] }), { kind: 'BGPAdvertisement', name: 'ad', field: 'spec.communities[0]', message });
    expect(e.message).toMatch(/"A:B".*"large:A:B:C"/);
  });

  it('accepts the largest community values', () => {
    const config = ok(ad({ communities: ['65535:65535', 'large:4294967295:4294967295:0'] }));
    expect(config.bgpAdvertisements[0]?.communities).toEqual([
      { kind: 'standard', value: 0xffffffff },
      { kind: 'large', global: 4294967295, local1: 4294967295, local2: 0 },
    ]);
  });

  it('reports an unknown community alias as transient', () => {
    expectOneError(ad({ communities: ['no-advertise'] }), { kind: 'BGPAdvertisement', name: 'ad', field: 'spec.communities[0]', message: /alias "no-advertise" is not defined.*Community/, transient: true });
  });

  it('rejects an aggregation wider than a pool entry, per family', () => {
    expectOneError(ad({ aggregationLength: 16 }, [pool('p', { addresses: ['10.0.0.0/24'] })]), {
      kind: 'BGPAdvertisement', name: 'ad', field: 'spec.aggregationLength',
      message: /aggregationLength 16 is shorter than prefix \/24 of address entry "10.0.0.0\/24" in IPAddressPool "p".*at least 24/,
    });
    expectOneError(ad({ aggregationLengthV6: 64 }, [pool('p', { addresses: ['2001:db8::/120'] })]), {
      kind: 'BGPAdvertisement', name: 'ad', field: 'spec.aggregationLengthV6', message: /aggregationLengthV6 64 is shorter than prefix \/120/,
    });
    // A range's widest CIDR decides (MetalLB): 10.0.0.0-10.0.0.5 = /30 + /31, so /30 is allowed, /29 not.
    ok(ad({ aggregationLength: 30 }, [pool('p', { addresses: ['10.0.0.0-10.0.0.5'] })]));
    expectOneError(ad({ aggregationLength: 29 }, [pool('p', { addresses: ['10.0.0.0-10.0.0.5'] })]), { kind: 'BGPAdvertisement', name: 'ad', field: 'spec.aggregationLength', message: /prefix \/30/ });
    // Only the pools the advertisement selects count.
    ok(resources({ pools: [pool('p', { addresses: ['10.0.0.0/24'] }), pool('q', { addresses: ['10.1.0.0/16'] })], bgpAdvertisements: [bgpAd('ad', { aggregationLength: 16, ipAddressPools: ['q'] })] }));
    // An aggregate equal to the pool prefix is fine; v4 lengths do not apply to v6 entries.
    ok(ad({ aggregationLength: 24, aggregationLengthV6: 128 }, [pool('p', { addresses: ['10.0.0.0/24', '2001:db8::/64'] })]));
  });

  it('rejects serviceSelectors together with non-default aggregation', () => {
    expectOneError(ad({ aggregationLength: 24, serviceSelectors: [{ matchLabels: { a: 'b' } }] }), {
      kind: 'BGPAdvertisement', name: 'ad', field: 'spec.serviceSelectors', message: /cannot be combined with aggregation.*32\/128/,
    });
    expectOneError(ad({ aggregationLengthV6: 64, serviceSelectors: [{ matchLabels: { a: 'b' } }] }), { kind: 'BGPAdvertisement', name: 'ad', field: 'spec.serviceSelectors', message: /aggregationLengthV6 64/ });
    ok(ad({ aggregationLength: 32, aggregationLengthV6: 128, serviceSelectors: [{ matchLabels: { a: 'b' } }] }));
  });

  describe('LOCAL_PREF conflict rule', () => {
    const dual = pool('p', { addresses: ['10.0.0.0/24', '2001:db8::/64'] });
    const two = (a: Record<string, unknown>, b: Record<string, unknown>, poolList = [v4pool], nodes?: ConfigResources['nodes']) =>
      resources({ pools: poolList, bgpAdvertisements: [bgpAd('a', a), bgpAd('b', b)], ...(nodes ? { nodes } : {}) });

    it('rejects two ads of the same pool with different localPref', () => {
      expectOneError(two({ localPref: 100 }, { localPref: 200 }), {
        kind: 'BGPAdvertisement', name: 'b', field: 'spec.localPref', message: /localPref 200 conflicts with localPref 100 of BGPAdvertisement "a".*IPAddressPool "p"/,
      });
      expectOneError(two({ localPref: 100 }, {}), { kind: 'BGPAdvertisement', name: 'b', field: 'spec.localPref', message: /localPref 0 conflicts with localPref 100/ });
    });

    it('allows equal localPref, or ads on different pools', () => {
      ok(two({ localPref: 100 }, { localPref: 100 }));
      ok(resources({ pools: [v4pool, pool('q', { addresses: ['10.9.0.0/24'] })], bgpAdvertisements: [bgpAd('a', { localPref: 1, ipAddressPools: ['p'] }), bgpAd('b', { localPref: 2, ipAddressPools: ['q'] })] }));
    });

    it('(i) allows different aggregation lengths for every family of the pool', () => {
      ok(two({ localPref: 100, aggregationLength: 32 }, { aggregationLength: 24 }));
      // Dual-stack pool: v6 lengths are equal, so the updates still collide.
      expectOneError(two({ localPref: 100, aggregationLength: 32 }, { aggregationLength: 24 }, [dual]), { kind: 'BGPAdvertisement', name: 'b', field: 'spec.localPref', message: /conflicts/ });
      ok(two({ localPref: 100, aggregationLength: 32 }, { aggregationLength: 24, aggregationLengthV6: 64 }, [dual]));
    });

    it('(ii) allows disjoint non-empty peer lists', () => {
      ok(two({ localPref: 100, peers: ['r1'] }, { localPref: 200, peers: ['r2'] }));
      expectOneError(two({ localPref: 100, peers: ['r1'] }, { localPref: 200 }), { kind: 'BGPAdvertisement', name: 'b', field: 'spec.localPref', message: /conflicts/ });
      expectOneError(two({ localPref: 100, peers: ['r1', 'r2'] }, { localPref: 200, peers: ['r2'] }), { kind: 'BGPAdvertisement', name: 'b', field: 'spec.localPref', message: /conflicts/ });
    });

    it('(iii) allows disjoint node sets, when nodes are known', () => {
      const nodes = [{ name: 'n1', labels: { rack: 'a' } }, { name: 'n2', labels: { rack: 'b' } }];
      const a = { localPref: 100, nodeSelectors: [{ matchLabels: { rack: 'a' } }] };
      const b = { localPref: 200, nodeSelectors: [{ matchLabels: { rack: 'b' } }] };
      ok(two(a, b, [v4pool], nodes));
      expectOneError(two(a, { localPref: 200 }, [v4pool], nodes), { kind: 'BGPAdvertisement', name: 'b', field: 'spec.localPref', message: /conflicts/ });
      // Without a node list disjointness cannot be shown.
      expectOneError(two(a, b), { kind: 'BGPAdvertisement', name: 'b', field: 'spec.localPref', message: /conflicts/ });
    });

    it('does not apply to ads with serviceSelectors', () => {
      ok(two({ localPref: 100, serviceSelectors: [{ matchLabels: { a: 'b' } }] }, { localPref: 200 }));
    });
  });
});

describe('BGPPeer rules', () => {
  const one = (spec: Record<string, unknown>, extra: Partial<ConfigResources> = {}) => resources({ bgpPeers: [peer('r', spec)], ...extra });
  const base = { myASN: 64500, peerASN: 64501, peerAddress: '10.0.0.1' };

  it.each([
    [{ ...base, myASN: 0 }, 'spec.myASN', /missing local ASN/],
    [{ peerASN: 1, peerAddress: '10.0.0.1' }, 'spec.myASN', /missing local ASN/],
    [{ ...base, myASN: 4294967296 }, 'spec.myASN', /0-4294967295/],
    [{ myASN: 1, peerAddress: '10.0.0.1' }, 'spec.peerASN', /missing peer ASN/],
    [{ myASN: 1, peerASN: 0, peerAddress: '10.0.0.1' }, 'spec.peerASN', /missing peer ASN/],
    [{ ...base, dynamicASN: 'external' }, 'spec.dynamicASN', /both peerASN and dynamicASN/],
    [{ myASN: 1, dynamicASN: 'sideways', peerAddress: '10.0.0.1' }, 'spec.dynamicASN', /invalid dynamicASN "sideways"; use "internal".*"external"/],
    [{ myASN: 1, peerASN: 2 }, 'spec.peerAddress', /missing peer address/],
    [{ ...base, interface: 'eth0' }, 'spec.interface', /both peerAddress and interface/],
    [{ ...base, peerAddress: '10.0.0.300' }, 'spec.peerAddress', /"10.0.0.300" is not a valid IP address/],
    [{ ...base, peerAddress: '10.0.0.0/24' }, 'spec.peerAddress', /not a valid IP/],
    [{ ...base, sourceAddress: 'eth0' }, 'spec.sourceAddress', /"eth0" is not a valid IP address/],
    [{ ...base, routerID: 'x' }, 'spec.routerID', /not a valid IP/],
    [{ ...base, routerID: '2001:db8::1' }, 'spec.routerID', /IPv6 address.*32-bit/],
    [{ ...base, peerASN: 64500, ebgpMultiHop: true }, 'spec.ebgpMultiHop', /iBGP peer/],
    [{ myASN: 1, dynamicASN: 'internal', peerAddress: '10.0.0.1', ebgpMultiHop: true }, 'spec.ebgpMultiHop', /iBGP/],
    [{ ...base, peerPort: 0 }, 'spec.peerPort', /1-16384/],
    [{ ...base, peerPort: 16385 }, 'spec.peerPort', /1-16384/],
    [{ ...base, holdTime: '90' }, 'spec.holdTime', /invalid duration "90".*unit is required/],
    [{ ...base, holdTime: '2s' }, 'spec.holdTime', /2s after rounding.*0 \(no keepalives\) or at least 3s/],
    [{ ...base, keepaliveTime: '500ms' }, 'spec.keepaliveTime', /3 x keepalive = 1s.*at least 3s/],
    [{ ...base, holdTime: '30s', keepaliveTime: '40s' }, 'spec.keepaliveTime', /longer than holdTime "30s"/],
    [{ ...base, holdTime: '-5s' }, 'spec.holdTime', /negative/],
    [{ ...base, connectTime: '1.5s' }, 'spec.connectTime', /whole seconds between 1s and 65535s/],
    [{ ...base, password: 'a', passwordSecret: { name: 's' } }, 'spec.passwordSecret', /both password and passwordSecret/],
    [{ ...base, nodeSelectors: [{ matchLabels: { a: 'b' } }, { matchLabels: { a: 'b' } }] }, 'spec.nodeSelectors[1]', /duplicate definition of selector/],
    [{ ...base, nodeSelectors: [{ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['b'] }] }] }, 'spec.nodeSelectors[0].matchExpressions[0].values', /takes no values/],
  ])('rejects %j', (spec, field, message) => {
    expectOneError(one(spec), { kind: 'BGPPeer', name: 'r', field, message });
  });

  it.each([
    [{}, 90, 30],
    [{ holdTime: '90s' }, 90, 30],
    [{ holdTime: '1m30s' }, 90, 30],
    [{ holdTime: '9s' }, 9, 3],
    [{ holdTime: '3.5s' }, 3, 1],
    [{ holdTime: '0s' }, 0, 0],
    [{ holdTime: '0' }, 0, 0],
    [{ keepaliveTime: '20s' }, 60, 20],
    [{ keepaliveTime: '1m' }, 180, 60],
    [{ holdTime: '4m', keepaliveTime: '10s' }, 240, 10],
    [{ holdTime: '30s', keepaliveTime: '30s' }, 30, 30],
  ])('hold/keepalive %j => %d/%d seconds', (timers, hold, keepalive) => {
    const config = ok(one({ ...base, ...timers }));
    expect(config.peers[0]?.holdTime).toBe(hold);
    expect(config.peers[0]?.keepaliveTime).toBe(keepalive);
  });

  it('accepts v1beta1 peers, with peerPort 0 meaning the default port', () => {
    const config = ok(resources({ bgpPeers: [peer('old', { ...base, peerPort: 0, nodeSelectors: [{ matchLabels: { a: 'b' } }] }, 'metallb.io/v1beta1')] }));
    expect(config.peers[0]).toMatchObject({ name: 'old', peerPort: 179, nodeSelectors: [{ matchLabels: { a: 'b' }, matchExpressions: [] }] });
  });

  describe('passwordSecret', () => {
    const secret = (data: Record<string, string> | undefined, type = 'kubernetes.io/basic-auth') => ({ name: 's', namespace: NS, type, ...(data ? { data } : {}) });
    const withSecret = { ...base, passwordSecret: { name: 's', namespace: NS } };

    it('reads the password from a basic-auth Secret', () => {
      const config = ok(one(withSecret, { secrets: [secret({ password: Buffer.from('s3cret').toString('base64') })] }));
      expect(config.peers[0]).toMatchObject({ password: 's3cret', passwordSecret: { name: 's', namespace: NS } });
    });

    it('defaults the Secret namespace to the peer namespace', () => {
      const config = ok(one({ ...base, passwordSecret: { name: 's' } }, { secrets: [secret({ password: Buffer.from('pw').toString('base64') })] }));
      expect(config.peers[0]?.password).toBe('pw');
    });

    it('reports a missing Secret as transient', () => {
      expectOneError(one(withSecret, { secrets: [] }), { kind: 'BGPPeer', name: 'r', field: 'spec.passwordSecret.name', message: /Secret "metallb-system\/s" does not exist/, transient: true });
      expectOneError(one(withSecret, { secrets: [{ ...secret({ password: 'eA==' }), namespace: 'other' }] }), { kind: 'BGPPeer', name: 'r', field: 'spec.passwordSecret.name', message: /does not exist/, transient: true });
    });

    it('rejects a Secret of the wrong type or without the password key', () => {
      expectOneError(one(withSecret, { secrets: [secret({ password: 'eA==' }, 'Opaque')] }), { kind: 'BGPPeer', name: 'r', field: 'spec.passwordSecret', message: /type "Opaque".*kubernetes.io\/basic-auth/ });
      expectOneError(one(withSecret, { secrets: [secret({ username: 'eA==' })] }), { kind: 'BGPPeer', name: 'r', field: 'spec.passwordSecret', message: /no "password" key/ });
    });

    it('warns when no Secrets were given to resolve it', () => {
      const out = parseConfig(one(withSecret));
      expect(out.ok).toBe(true);
      expect(out.warnings).toEqual([expect.objectContaining({ field: 'spec.passwordSecret', message: expect.stringMatching(/not resolved/) })]);
    });
  });

  it('reports an unknown BFD profile as transient, a known one is fine', () => {
    expectOneError(one({ ...base, bfdProfile: 'nope' }), { kind: 'BGPPeer', name: 'r', field: 'spec.bfdProfile', message: /BFDProfile "nope" does not exist/, transient: true });
    ok(one({ ...base, bfdProfile: 'b' }, { bfdProfiles: [bfd('b')] }));
  });

  it('does not report a broken BFD profile as missing too', () => {
    expectOneError(one({ ...base, bfdProfile: 'b' }, { bfdProfiles: [bfd('b', { detectMultiplier: 1 })] }), { kind: 'BFDProfile', name: 'b', field: 'spec.detectMultiplier', message: /2-255/ });
  });

  it('warns, without rejecting, for fields the native speaker does not implement yet', () => {
    const out = parseConfig(
      resources({
        bgpPeers: [
          peer('dyn', { myASN: 1, dynamicASN: 'external', interface: 'eth0' }),
          peer('misc', { ...base, vrf: 'red', localASN: 65000, enableGracefulRestart: true, connectTime: '10s', disableMP: true }),
        ],
      }),
    );
    expect(out.ok).toBe(true);
    expect(out.warnings.map((w) => `${w.name} ${w.field}`).sort()).toEqual([
      'dyn spec.dynamicASN', 'dyn spec.interface',
      'misc spec.connectTime', 'misc spec.disableMP', 'misc spec.localASN', 'misc spec.vrf',
    ]);
    if (out.ok) {
      expect(out.config.peers[0]).toMatchObject({ dynamicASN: 'external', interface: 'eth0' });
      expect(out.config.peers[1]).toMatchObject({ vrf: 'red', localASN: 65000, enableGracefulRestart: true, connectTime: 10 });
    }
  });

  it('does not apply MetalLB native-mode rejections (BFD, keepalive, large communities, IPv6 pools)', () => {
    const config = ok(
      resources({
        pools: [pool('v6', { addresses: ['2001:db8::/120'] })],
        bgpAdvertisements: [bgpAd('ad', { communities: ['large:1:2:3'] })],
        bgpPeers: [peer('r', { ...base, keepaliveTime: '10s', bfdProfile: 'b' })],
        bfdProfiles: [bfd('b')],
      }),
    );
    expect(config.peers[0]?.bfdProfile).toBe('b');
  });
});

describe('BFDProfile rules', () => {
  it.each([
    ['receiveInterval', 9, /10-60000/],
    ['receiveInterval', 60001, /10-60000/],
    ['transmitInterval', 5, /10-60000/],
    ['detectMultiplier', 1, /2-255/],
    ['detectMultiplier', 256, /2-255/],
    ['echoInterval', 60001, /10-60000/],
    ['minimumTtl', 0, /1-254/],
    ['minimumTtl', 255, /1-254/],
    ['receiveInterval', 1.5, /whole number/],
  ])('rejects %s = %d', (field, value, message) => {
    expectOneError(resources({ bfdProfiles: [bfd('b', { [field]: value })] }), { kind: 'BFDProfile', name: 'b', field: `spec.${field}`, message });
  });

  it('rejects duplicate profile names', () => {
    expectOneError(resources({ bfdProfiles: [bfd('b'), bfd('b')] }), { kind: 'BFDProfile', name: 'b', field: 'metadata.name', message: /duplicate BFDProfile name "b"/ });
  });

  it('rejects echo mode on a peer that receives an IPv6 pool', () => {
    const res = (peers: string[]) =>
      resources({
        pools: [pool('v4', { addresses: ['10.0.0.0/24'] }), pool('v6', { addresses: ['2001:db8::/120'] })],
        bgpAdvertisements: [bgpAd('ad6', { ipAddressPools: ['v6'], peers })],
        bgpPeers: [peer('r1', { ...{ myASN: 1, peerASN: 2, peerAddress: '10.0.0.1' }, bfdProfile: 'echo' }), peer('r2', { myASN: 1, peerASN: 2, peerAddress: '10.0.0.2', bfdProfile: 'echo' })],
        bfdProfiles: [bfd('echo', { echoMode: true })],
      });
    expectOneError(res(['r1']), { kind: 'BGPPeer', name: 'r1', field: 'spec.bfdProfile', message: /echoMode enabled.*IPv6.*IPAddressPool "v6".*BGPAdvertisement "ad6"/ });
    expect(errors(res([])).map((e) => e.name)).toEqual(['r1', 'r2']);
  });
});

describe('Community rules', () => {
  it('rejects duplicate aliases across objects', () => {
    expectOneError(resources({ communities: [community('a', [{ name: 'x', value: '1:1' }]), community('b', [{ name: 'x', value: '1:2' }])] }), {
      kind: 'Community', name: 'b', field: 'spec.communities[0].name', message: /duplicate definition of community alias "x".*Community "a"/,
    });
  });

  it('rejects bad values and bad alias names', () => {
    expectOneError(resources({ communities: [community('a', [{ name: 'x', value: '70000:1' }])] }), { kind: 'Community', name: 'a', field: 'spec.communities[0].value', message: /invalid community "70000:1"/ });
    expectOneError(resources({ communities: [community('a', [{ name: 'x', value: 'no-export' }])] }), { kind: 'Community', name: 'a', field: 'spec.communities[0].value', message: /invalid community/ });
    expectOneError(resources({ communities: [community('a', [{ name: 'a:b', value: '1:1' }])] }), { kind: 'Community', name: 'a', field: 'spec.communities[0].name', message: /contain no ":"/ });
  });

  it('does not also report an alias with a bad value as undefined', () => {
    const errs = errors(resources({ pools: [v4pool], communities: [community('a', [{ name: 'x', value: 'large:1' }])], bgpAdvertisements: [bgpAd('ad', { communities: ['x'] })] }));
    expect(errs.map((e) => e.kind)).toEqual(['Community']);
  });
});
