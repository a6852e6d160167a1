import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { resourcesFromYaml, resourcesToYaml } from '../../src/config/convert.js';
import { legacyToResources } from '../../src/config/legacy.js';
import { parseConfig } from '../../src/config/parse.js';
import type { ConfigResources } from '../../src/config/resources.js';
import { selectorKey } from '../../src/config/labelSelector.js';
import { toLabelSelector } from '../../src/config/schemas.js';
import { formatCidr, formatIp } from '../../src/net/address.js';
import { bgpAd, community, configMapFixture, fixtureText, l2, peer, pool, resources } from '../fixtures/config/objects.js';

function fromYaml(text: string): ConfigResources {
  const out = resourcesFromYaml(text);
  if (!out.ok) throw new Error(out.errors.map((e) => e.message).join('\n'));
  return out.resources;
}

describe('seed 002 manifests', () => {
  it('parse verbatim: the underlay pool and its L2Advertisement', () => {
    const out = parseConfig(fromYaml(fixtureText('seed-002-underlay-pool.yaml')));
    expect(out.ok).toBe(true);
    if (!out.ok) return;
    expect(out.warnings).toEqual([]);
    const p = out.config.pools.get('underlay-pool');
    expect(p?.addresses).toEqual(['10.180.204.250-10.180.204.254']);
    expect(p?.cidrs.map(formatCidr)).toEqual(['10.180.204.250/31', '10.180.204.252/31', '10.180.204.254/32']);
    expect(p?.cidrs.flatMap((c) => [formatIp(c.family, c.first), formatIp(c.family, c.last)])).toEqual([
      '10.180.204.250', '10.180.204.251', '10.180.204.252', '10.180.204.253', '10.180.204.254', '10.180.204.254',
    ]);
    expect(p?.autoAssign).toBe(true);
    expect(out.config.l2Advertisements).toEqual([
      { name: 'l2-advert', pools: ['underlay-pool'], nodeSelectors: [], interfaces: [], serviceSelectors: [], preferredNodeSelectors: [] },
    ]);
  });
});

describe('resourcesToYaml', () => {
  it('prints the legacy conversion in configmaptocrs order with sorted keys', () => {
    const { config } = configMapFixture('seed-003-legacy-bgp-aggregation-configmap.yaml');
    const out = legacyToResources(config, 'metallb-system');
    if (!out.ok) throw new Error('conversion failed');
    const text = resourcesToYaml(out.resources);
    expect(text).toBe(`apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata:
  name: peer1
  namespace: metallb-system
spec:
  holdTime: 1m30s
  myASN: 64500
  peerASN: 64501
  peerAddress: 10.0.0.1
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: default
  namespace: metallb-system
spec:
  addresses:
    - 198.51.100.0/24
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata:
  name: bgpadvertisement1
  namespace: metallb-system
spec:
  aggregationLength: 32
  communities:
    - no-advertise
  ipAddressPools:
    - default
  localPref: 100
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata:
  name: bgpadvertisement2
  namespace: metallb-system
spec:
  aggregationLength: 24
  ipAddressPools:
    - default
---
apiVersion: metallb.io/v1beta1
kind: Community
metadata:
  name: communities
  namespace: metallb-system
spec:
  communities:
    - name: no-advertise
      value: 65535:65282
`);
    // And it reads back into the same resources.
    expect(fromYaml(text)).toEqual(out.resources);
  });

  it('drops status and server-set metadata, keeps labels', () => {
    const raw = {
      ...pool('p', { addresses: ['10.0.0.0/24'] }, { zone: 'a' }),
      status: { assignedIPv4: 1 },
    };
    (raw.metadata as Record<string, unknown>).uid = 'x';
    (raw.metadata as Record<string, unknown>).resourceVersion = '7';
    const doc = parse(resourcesToYaml(resources({ pools: [raw] }))) as Record<string, unknown>;
    expect(doc).toEqual({ apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'p', namespace: 'metallb-system', labels: { zone: 'a' } }, spec: { addresses: ['10.0.0.0/24'] } });
  });

  it('is stable: the same resources give the same text whatever the key order', () => {
    const a = peer('r', { myASN: 1, peerASN: 2, peerAddress: '10.0.0.1' });
    const b = { spec: { peerAddress: '10.0.0.1', peerASN: 2, myASN: 1 }, metadata: { namespace: 'metallb-system', name: 'r' }, kind: 'BGPPeer', apiVersion: 'metallb.io/v1beta2' };
    expect(resourcesToYaml(resources({ bgpPeers: [b] }))).toBe(resourcesToYaml(resources({ bgpPeers: [a] })));
  });
});

describe('resourcesFromYaml', () => {
  it('sorts documents by kind, unpacks Lists, takes Nodes and Secrets as context, skips other kinds', () => {
    const out = resourcesFromYaml(`
apiVersion: v1
kind: List
items:
- apiVersion: metallb.io/v1beta1
  kind: IPAddressPool
  metadata: {name: a}
  spec: {addresses: [10.0.0.0/24]}
---
apiVersion: v1
kind: Node
metadata: {name: n1, labels: {rack: a}}
---
apiVersion: v1
kind: Secret
metadata: {name: s, namespace: metallb-system}
type: kubernetes.io/basic-auth
data: {password: cHc=}
---
apiVersion: v1
kind: Service
metadata: {name: x}
`);
    expect(out.ok).toBe(true);
    if (!out.ok) return;
    expect(out.resources.pools).toHaveLength(1);
    expect(out.resources.nodes).toEqual([{ name: 'n1', labels: { rack: 'a' } }]);
    expect(out.resources.secrets).toEqual([{ name: 's', namespace: 'metallb-system', type: 'kubernetes.io/basic-auth', data: { password: 'cHc=' } }]);
    expect(out.warnings).toEqual([expect.objectContaining({ kind: 'Service', name: 'x' })]);
  });

  it('rejects the removed AddressPool kind and broken YAML', () => {
    const removed = resourcesFromYaml('apiVersion: metallb.io/v1beta1\nkind: AddressPool\nmetadata: {name: old}\n');
    expect(removed.ok).toBe(false);
    if (!removed.ok) expect(removed.errors[0]?.message).toMatch(/removed in MetalLB v0.14.*IPAddressPool/);
    const broken = resourcesFromYaml('kind: IPAddressPool\nmetadata: {name: [}\n');
    expect(broken.ok).toBe(false);
  });
});

// ---------------------------------------------------------------- property: round trip

const label = fc.stringMatching(/^[a-z]([a-z0-9-]{0,8}[a-z0-9])?$/);
const labels = fc.dictionary(label, fc.oneof(label, fc.constant('')), { maxKeys: 3 });
const selector = fc.record(
  {
    matchLabels: fc.dictionary(label, label, { maxKeys: 2 }),
    matchExpressions: fc.array(
      fc.oneof(
        fc.record({ key: label, operator: fc.constantFrom('In', 'NotIn'), values: fc.uniqueArray(label, { minLength: 1, maxLength: 3 }) }),
        fc.record({ key: label, operator: fc.constantFrom('Exists', 'DoesNotExist') }),
      ),
      { maxLength: 2 },
    ),
  },
  { requiredKeys: [] },
);

/** One address entry inside its own slot (10.<slot>.0.0/16 or 2001:db8:<slot>::/48), so entries never overlap. */
function entryIn(slot: number, kind: number, a: number, b: number, v6: boolean): string {
  if (v6) {
    const prefix = `2001:db8:${slot.toString(16)}::`;
    return kind === 0 ? `${prefix}/${64 + (a % 65)}` : `${prefix}${a.toString(16)}-${prefix}${(a + b).toString(16)}`;
  }
  if (kind === 0) return `10.${slot}.${a % 256}.0/${24 + (b % 9)}`;
  const lo = `10.${slot}.0.${a % 256}`;
  const hi = `10.${slot}.${b % 256}.255`;
  return kind === 1 ? `${lo}-${hi}` : `${lo} - ${hi}`;
}

const poolsArb = fc
  .uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/), { minLength: 1, maxLength: 5 })
  .chain((names) =>
    fc.tuple(
      ...names.map((name) =>
        fc.record({
          name: fc.constant(name),
          entries: fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.nat(300), fc.nat(300), fc.boolean()), { minLength: 1, maxLength: 3 }),
          autoAssign: fc.option(fc.boolean(), { nil: undefined }),
          avoidBuggyIPs: fc.option(fc.boolean(), { nil: undefined }),
          labels,
          serviceAllocation: fc.option(
            fc.record(
              {
                priority: fc.nat(100),
                namespaces: fc.uniqueArray(label, { maxLength: 3 }),
                namespaceSelectors: fc.uniqueArray(selector, { maxLength: 2, selector: (s) => selectorKey(toLabelSelector(s)) }),
              },
              { requiredKeys: [] },
            ),
            { nil: undefined },
          ),
        }),
      ),
    ),
  )
  .map((specs) => {
    let slot = 0;
    return specs.map((p) => {
      const spec: Record<string, unknown> = {
        addresses: p.entries.map(([kind, a, b, v6]) => entryIn(slot++, kind, a, b, v6)),
      };
      if (p.autoAssign !== undefined) spec.autoAssign = p.autoAssign;
      if (p.avoidBuggyIPs !== undefined) spec.avoidBuggyIPs = p.avoidBuggyIPs;
      if (p.serviceAllocation !== undefined) spec.serviceAllocation = p.serviceAllocation;
      return pool(p.name, spec, Object.keys(p.labels).length > 0 ? p.labels : undefined);
    });
  });

describe('round trip through YAML', () => {
  it('random valid pools (with advertisements) survive resourcesToYaml + YAML parse + parseConfig unchanged', () => {
    fc.assert(
      fc.property(poolsArb, fc.boolean(), (pools, withAds) => {
        const input = resources({
          pools,
          ...(withAds
            ? {
                l2Advertisements: [l2('l2', { ipAddressPoolSelectors: [{ matchLabels: {} }] })],
                bgpAdvertisements: [bgpAd('bgp', { communities: ['65535:65282', 'alias'] })],
                communities: [community('c', [{ name: 'alias', value: 'large:1:2:3' }])],
              }
            : {}),
        });
        const direct = parseConfig(input);
        if (!direct.ok) throw new Error(`generator produced an invalid config: ${JSON.stringify(direct.errors)}`);
        const text = resourcesToYaml(input);
        const again = parseConfig(fromYaml(text));
        expect(again.ok).toBe(true);
        if (!again.ok) return;
        expect(again.config).toEqual(direct.config);
        expect([...again.config.pools.keys()]).toEqual([...direct.config.pools.keys()]);
        expect(resourcesToYaml(fromYaml(text))).toBe(text);
      }),
      { numRuns: 150 },
    );
  });
});
