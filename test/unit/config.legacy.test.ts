import { describe, expect, it } from 'vitest';
import { legacyToResources } from '../../src/config/legacy.js';
import type { Config, ConfigError } from '../../src/config/model.js';
import { parseConfig } from '../../src/config/parse.js';
import type { ConfigResources } from '../../src/config/resources.js';
import { configMapFixture, fixtureText } from '../fixtures/config/objects.js';

function convert(configYaml: string, namespace = 'metallb-system'): ConfigResources {
  const out = legacyToResources(configYaml, namespace);
  if (!out.ok) throw new Error(out.errors.map((e) => `${e.field}: ${e.message}`).join('\n'));
  return out.resources;
}

function convertAndParse(configYaml: string): Config {
  const parsed = parseConfig(convert(configYaml));
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => `${e.kind} ${e.name} ${e.field}: ${e.message}`).join('\n'));
  return parsed.config;
}

function legacyErrors(configYaml: string): ConfigError[] {
  const out = legacyToResources(configYaml, 'metallb-system');
  if (out.ok) throw new Error('expected the legacy config to be rejected');
  return out.errors;
}

describe('seed ConfigMaps', () => {
  it('seed 001: layer2 pool with a range converts to a pool and an L2Advertisement', () => {
    const { config, namespace } = configMapFixture('seed-001-legacy-layer2-configmap.yaml');
    const res = convert(config, namespace);
    expect(res.pools).toEqual([
      { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'default', namespace: 'metallb-system' }, spec: { addresses: ['192.168.1.240-192.168.1.250'] } },
    ]);
    expect(res.l2Advertisements).toEqual([
      { apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata: { name: 'l2advertisement1', namespace: 'metallb-system' }, spec: { ipAddressPools: ['default'] } },
    ]);
    expect(res.bgpAdvertisements).toEqual([]);
    expect(res.bgpPeers).toEqual([]);
    const parsed = convertAndParse(config);
    const pool = parsed.pools.get('default');
    expect(pool?.cidrs.reduce((n, c) => n + (c.last - c.first + 1n), 0n)).toBe(11n);
    expect(parsed.l2Advertisements[0]?.pools).toEqual(['default']);
  });

  it('seed 003: layer2 example', () => {
    const { config } = configMapFixture('seed-003-legacy-layer2-configmap.yaml');
    const parsed = convertAndParse(config);
    expect(parsed.pools.get('default')?.addresses).toEqual(['10.10.8.200-10.10.8.205']);
    expect(parsed.l2Advertisements.map((a) => a.name)).toEqual(['l2advertisement1']);
  });

  it('seed 003: basic BGP example gets peer1, the pool and one default advertisement', () => {
    const { config } = configMapFixture('seed-003-legacy-bgp-configmap.yaml');
    const res = convert(config);
    expect(res.bgpPeers).toEqual([
      { apiVersion: 'metallb.io/v1beta2', kind: 'BGPPeer', metadata: { name: 'peer1', namespace: 'metallb-system' }, spec: { myASN: 64500, peerASN: 64501, peerAddress: '10.0.0.1', holdTime: '1m30s' } },
    ]);
    expect(res.bgpAdvertisements).toEqual([
      { apiVersion: 'metallb.io/v1beta1', kind: 'BGPAdvertisement', metadata: { name: 'bgpadvertisement1', namespace: 'metallb-system' }, spec: { ipAddressPools: ['default'] } },
    ]);
    const parsed = convertAndParse(config);
    expect(parsed.peers[0]).toMatchObject({ name: 'peer1', myASN: 64500, peerASN: 64501, peerAddress: '10.0.0.1', peerPort: 179, holdTime: 90, keepaliveTime: 30 });
    expect(parsed.bgpAdvertisements[0]).toMatchObject({ pools: ['default'], aggregationLength: 32, aggregationLengthV6: 128, communities: [], peers: [] });
    expect(parsed.bgpAdvertisements[0]?.localPref).toBeUndefined();
  });

  it('seed 003: two advertisements (/32 localpref 100 no-advertise, /24) and the community alias convert and parse', () => {
    const { config } = configMapFixture('seed-003-legacy-bgp-aggregation-configmap.yaml');
    const res = convert(config);
    expect(res.bgpAdvertisements.map((a) => a as { metadata: { name: string }; spec: unknown })).toEqual([
      expect.objectContaining({ metadata: expect.objectContaining({ name: 'bgpadvertisement1' }), spec: { aggregationLength: 32, localPref: 100, communities: ['no-advertise'], ipAddressPools: ['default'] } }),
      expect.objectContaining({ metadata: expect.objectContaining({ name: 'bgpadvertisement2' }), spec: { aggregationLength: 24, ipAddressPools: ['default'] } }),
    ]);
    expect(res.communities).toEqual([
      { apiVersion: 'metallb.io/v1beta1', kind: 'Community', metadata: { name: 'communities', namespace: 'metallb-system' }, spec: { communities: [{ name: 'no-advertise', value: '65535:65282' }] } },
    ]);
    const parsed = convertAndParse(config);
    const noAdvertise = { kind: 'standard', value: 65535 * 65536 + 65282 };
    expect(parsed.bgpAdvertisements).toEqual([
      { name: 'bgpadvertisement1', pools: ['default'], aggregationLength: 32, aggregationLengthV6: 128, localPref: 100, communities: [noAdvertise], nodeSelectors: [], peers: [], serviceSelectors: [] },
      { name: 'bgpadvertisement2', pools: ['default'], aggregationLength: 24, aggregationLengthV6: 128, communities: [], nodeSelectors: [], peers: [], serviceSelectors: [] },
    ]);
    expect(parsed.communities.get('no-advertise')).toEqual(noAdvertise);
  });

  it('seed 003: peer node-selectors become v1beta2 label selectors', () => {
    const parsed = convertAndParse(fixtureText('seed-003-legacy-peer-node-selectors.config.yaml'));
    expect(parsed.peers[0]?.nodeSelectors).toEqual([
      { matchLabels: { rack: 'frontend' }, matchExpressions: [{ key: 'network-speed', operator: 'NotIn', values: ['slow'] }] },
      { matchLabels: {}, matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['hostA', 'hostB'] }] },
    ]);
  });
});

describe('legacy conversion layout (spec section 8)', () => {
  const full = `
peers:
- peer-address: 10.0.0.1
  peer-asn: 64512
  my-asn: 64512
  peer-port: 1179
  source-address: 10.0.0.2
  hold-time: 120s
  keepalive-time: 30s
  router-id: 1.2.3.4
  password: "yourPassword"
  bfd-profile: Fast_BFD
- peer-address: 10.0.0.9
  peer-asn: 64600
  my-asn: 64512
  ebgp-multihop: true
  hold-time: 1500ms
address-pools:
- name: 01-BGP_Pool
  protocol: bgp
  addresses:
  - 198.51.100.0/24
  avoid-buggy-ips: true
  auto-assign: false
  bgp-advertisements:
  - aggregation-length: 32
    aggregation-length-v6: 64
    localpref: 100
    communities: [64512:1, no-export]
- name: plain-bgp
  protocol: bgp
  addresses: [203.0.113.0/28]
- name: l2-a
  protocol: layer2
  addresses: [192.168.1.0/28]
- name: l2-b
  protocol: layer2
  addresses: [192.168.2.0/28]
bgp-communities:
  zz-last: 1:1
  no-export: 65535:65281
bfd-profiles:
- name: Fast_BFD
  receive-interval: 280
  transmit-interval: 270
  detect-multiplier: 5
  echo-interval: 62
  echo-mode: false
  passive-mode: true
  minimum-ttl: 254
`;

  it('names objects peerN, bgpadvertisementN, l2advertisementN, communities and normalises names', () => {
    const out = legacyToResources(full, 'lb');
    expect(out.ok).toBe(true);
    if (!out.ok) return;
    const names = (list: unknown[]) => list.map((o) => (o as { metadata: { name: string; namespace: string } }).metadata);
    expect(names(out.resources.bgpPeers)).toEqual([{ name: 'peer1', namespace: 'lb' }, { name: 'peer2', namespace: 'lb' }]);
    expect(names(out.resources.pools).map((m) => m.name)).toEqual(['bgp-pool', 'plain-bgp', 'l2-a', 'l2-b']);
    expect(names(out.resources.bgpAdvertisements).map((m) => m.name)).toEqual(['bgpadvertisement1', 'bgpadvertisement2']);
    expect(names(out.resources.l2Advertisements).map((m) => m.name)).toEqual(['l2advertisement1', 'l2advertisement2']);
    expect(names(out.resources.bfdProfiles).map((m) => m.name)).toEqual(['fast-bfd']);
    expect(names(out.resources.communities)).toEqual([{ name: 'communities', namespace: 'lb' }]);
    expect(out.warnings.map((w) => w.field)).toEqual(['peers[0].bfd-profile', 'address-pools[0].name']);
    expect(out.warnings[1]?.message).toMatch(/"01-BGP_Pool".*becomes "bgp-pool"/);

    const spec = (list: unknown[], i: number) => (list[i] as { spec: Record<string, unknown> }).spec;
    expect(spec(out.resources.bgpPeers, 0)).toEqual({
      myASN: 64512, peerASN: 64512, peerAddress: '10.0.0.1', sourceAddress: '10.0.0.2', peerPort: 1179, holdTime: '2m0s', keepaliveTime: '30s', routerID: '1.2.3.4', password: 'yourPassword', bfdProfile: 'fast-bfd',
    });
    expect(spec(out.resources.bgpPeers, 1)).toEqual({ myASN: 64512, peerASN: 64600, peerAddress: '10.0.0.9', holdTime: '1s', ebgpMultiHop: true });
    expect(spec(out.resources.pools, 0)).toEqual({ addresses: ['198.51.100.0/24'], autoAssign: false, avoidBuggyIPs: true });
    expect(spec(out.resources.bgpAdvertisements, 0)).toEqual({ aggregationLength: 32, aggregationLengthV6: 64, localPref: 100, communities: ['64512:1', 'no-export'], ipAddressPools: ['bgp-pool'] });
    expect(spec(out.resources.bgpAdvertisements, 1)).toEqual({ ipAddressPools: ['plain-bgp'] });
    expect(spec(out.resources.l2Advertisements, 1)).toEqual({ ipAddressPools: ['l2-b'] });
    expect(spec(out.resources.communities, 0)).toEqual({ communities: [{ name: 'no-export', value: '65535:65281' }, { name: 'zz-last', value: '1:1' }] });
    expect(spec(out.resources.bfdProfiles, 0)).toEqual({ receiveInterval: 280, transmitInterval: 270, detectMultiplier: 5, echoInterval: 62, echoMode: false, passiveMode: true, minimumTtl: 254 });
  });

  it('hands the produced objects to parseConfig, which applies the CR rules (1500ms hold time)', () => {
    const out = legacyToResources(full, 'lb');
    if (!out.ok) throw new Error('conversion failed');
    const parsed = parseConfig(out.resources);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.errors).toEqual([expect.objectContaining({ kind: 'BGPPeer', name: 'peer2', field: 'spec.holdTime', message: expect.stringMatching(/at least 3s/) })]);
  });

  it('parses to the expected Config once valid', () => {
    const config = convertAndParse(full.replace('hold-time: 1500ms', 'hold-time: 3s'));
    expect(config.peers.map((p) => [p.name, p.holdTime, p.keepaliveTime, p.bfdProfile])).toEqual([
      ['peer1', 120, 30, 'fast-bfd'],
      ['peer2', 3, 1, undefined],
    ]);
    expect(config.pools.get('bgp-pool')).toMatchObject({ autoAssign: false, avoidBuggyIPs: true });
    expect(config.bfdProfiles.get('fast-bfd')).toMatchObject({ receiveInterval: 280, detectMultiplier: 5, passiveMode: true });
  });
});

describe('legacy-only errors', () => {
  it.each([
    ['address-pools:\n- name: a\n  addresses: [10.0.0.0/24]\n', 'address-pools[0].protocol', /missing the protocol field; set protocol to layer2 or bgp/],
    ['address-pools:\n- name: a\n  protocol: ospf\n  addresses: [10.0.0.0/24]\n', 'address-pools[0].protocol', /unknown protocol "ospf".*use layer2 or bgp/],
    ['address-pools:\n- name: a\n  protocol: arp\n  addresses: [10.0.0.0/24]\n', 'address-pools[0].protocol', /replaced by layer2/],
    ['address-pools:\n- protocol: bgp\n  addresses: [10.0.0.0/24]\n', 'address-pools[0].name', /missing the name field/],
    ['address-pools:\n- name: a\n  protocol: layer2\n  addresses: [10.0.0.0/24]\n  bgp-advertisements:\n  - localpref: 1\n', 'address-pools[0].bgp-advertisements', /protocol layer2 but lists bgp-advertisements/],
    ['peers:\n- peer-address: 10.0.0.1\n  peer-asn: 1\n  my-asn: 2\n  hold-time: soon\n', 'peers[0].hold-time', /invalid duration "soon"/],
    ['peers:\n- peer-address: 10.0.0.1\n  peer-asn: 1\n  my-asn: 2\n  keepalive-time: 10\n', 'peers[0].keepalive-time', /expected a string/],
    ['peers:\n- peer-adress: 10.0.0.1\n', 'peers[0]', /unknown field "peer-adress"/],
    ['address-pools:\n  name: a\n', 'address-pools', /expected a YAML list/],
    ['bfd-profiles:\n- receive-interval: 100\n', 'bfd-profiles[0].name', /missing the name field/],
  ])('%j', (yaml, field, message) => {
    const errs = legacyErrors(yaml);
    expect(errs).toEqual([expect.objectContaining({ kind: 'ConfigMap', name: 'config', field, message: expect.stringMatching(message) })]);
  });

  it('reports YAML syntax errors with their position', () => {
    const errs = legacyErrors('address-pools:\n- name: a\n   protocol: layer2\n');
    expect(errs.length).toBeGreaterThan(0);
    expect(errs[0]?.field).toMatch(/^line \d+, column \d+$/);
    expect(errs[0]?.message).toMatch(/invalid YAML/);
  });

  it('refuses an alias without its anchor, and alias fan-out, instead of throwing', () => {
    // Regression (bench/fuzz config.legacy): the yaml library throws these from toJS(), not in doc.errors.
    const unresolved = legacyErrors('address-pools:\n- name: a\n  protocol: *p\n  addresses: [10.0.0.0/24]\n');
    expect(unresolved).toEqual([expect.objectContaining({ kind: 'ConfigMap', field: '(document)', message: expect.stringMatching(/invalid YAML: .*alias/i) })]);
    let bomb = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < 10; i++) bomb += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
    expect(legacyErrors(`${bomb}peers: *a9\n`)[0]?.message).toMatch(/invalid YAML/);
  });

  it('collects every legacy error', () => {
    const errs = legacyErrors('address-pools:\n- name: a\n  addresses: [10.0.0.0/24]\n- name: b\n  protocol: x\n  addresses: [10.0.1.0/24]\n');
    expect(errs.map((e) => e.field)).toEqual(['address-pools[0].protocol', 'address-pools[1].protocol']);
  });

  it('an empty ConfigMap is an empty configuration', () => {
    expect(convertAndParse('').pools.size).toBe(0);
  });

  it('CR rules apply after conversion: overlaps, bad communities, unknown aliases and BFD profiles', () => {
    const res = convert(`
peers:
- {peer-address: 10.0.0.1, peer-asn: 1, my-asn: 2, bfd-profile: nope}
address-pools:
- {name: a, protocol: layer2, addresses: [10.0.0.0/24]}
- name: b
  protocol: bgp
  addresses: [10.0.0.128/25]
  bgp-advertisements:
  - communities: [unknown-alias, 70000:1]
`);
    const parsed = parseConfig(res);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.errors.map((e) => `${e.kind}/${e.name} ${e.field}${e.transient ? ' (transient)' : ''}`).sort()).toEqual([
      'BGPAdvertisement/bgpadvertisement1 spec.communities[1]',
      'BGPPeer/peer1 spec.bfdProfile (transient)',
      'IPAddressPool/b spec.addresses[0]',
    ]);
  });
});
