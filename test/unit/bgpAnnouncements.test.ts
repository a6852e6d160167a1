// BGP announcement semantics (spec 1.3, 1.4, 4.1, 4.9): one behaviour per test.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BGPAdvertisement, BGPPeer, Community, Config, L2Advertisement, LabelSelector, Pool } from '../../src/config/model.js';
import { cidrContains, formatCidr, parseAddressEntry, parseCidr, parseIp } from '../../src/net/address.js';
import type { ServiceSnapshot } from '../../src/speaker/announcements.js';
import { EXCLUDE_LB_LABEL, type EndpointFacts, type NodeFacts } from '../../src/speaker/election.js';
import { advertisedPrefix, BGP_REASONS, bgpAnnouncementsFor, type BgpClusterSnapshot } from '../../src/speaker/bgpAnnouncements.js';

// Builders: a Config made by hand (no parser), nodes, services.
const sel = (matchLabels: Record<string, string>): LabelSelector => ({ matchLabels, matchExpressions: [] });
const std = (high: number, low: number): Community => ({ kind: 'standard', value: high * 65536 + low });
const large = (global: number, local1: number, local2: number): Community => ({ kind: 'large', global, local1, local2 });

function pool(name: string, ...addresses: string[]): Pool {
  const cidrs = addresses.flatMap((a) => {
    const r = parseAddressEntry(a);
    if (!r.ok) throw new Error(r.reason);
    return r.cidrs;
  });
  return { name, labels: {}, cidrs, addresses, autoAssign: true, avoidBuggyIPs: false };
}

function bgpAd(name: string, over: Partial<BGPAdvertisement> = {}): BGPAdvertisement {
  return { name, pools: ['pool'], aggregationLength: 32, aggregationLengthV6: 128, communities: [], nodeSelectors: [], peers: [], serviceSelectors: [], ...over };
}

function l2Ad(name: string, pools: string[]): L2Advertisement {
  return { name, pools, nodeSelectors: [], interfaces: [], serviceSelectors: [], preferredNodeSelectors: [] };
}

function peer(name: string, over: Partial<BGPPeer> = {}): BGPPeer {
  return { name, myASN: 64500, peerASN: 64501, peerAddress: '198.51.100.1', peerPort: 179, holdTime: 90, keepaliveTime: 30, nodeSelectors: [], enableGracefulRestart: false, ebgpMultiHop: false, dualStackAddressFamily: false, ...over };
}

function node(name: string, labels: Record<string, string> = {}, networkUnavailable = false): NodeFacts {
  return { name, labels: { 'kubernetes.io/hostname': name, ...labels }, networkUnavailable };
}

function svc(key: string, ingressIps: string[], over: Partial<ServiceSnapshot> = {}): ServiceSnapshot {
  const [namespace = '', name = ''] = key.split('/');
  const endpoints: EndpointFacts[] = [{ nodeName: 'node-a', serving: true }];
  return { key, namespace, name, labels: {}, ingressIps, externalTrafficPolicyLocal: false, sharesIp: false, endpoints, ...over };
}

function config(over: { pools?: Pool[]; bgpAdvertisements?: BGPAdvertisement[]; peers?: BGPPeer[]; l2Advertisements?: L2Advertisement[] } = {}): Config {
  const pools = over.pools ?? [pool('pool', '192.0.2.0/24', '2001:db8::/64')];
  return {
    pools: new Map(pools.map((p) => [p.name, p])),
    l2Advertisements: over.l2Advertisements ?? [],
    bgpAdvertisements: over.bgpAdvertisements ?? [bgpAd('ad')],
    peers: over.peers ?? [peer('p1')],
    bfdProfiles: new Map(),
    communities: new Map(),
  };
}

function snapshot(over: Partial<BgpClusterSnapshot> = {}): BgpClusterSnapshot {
  return { config: config(), services: [], nodes: [node('node-a'), node('node-b')], ignoreExcludeLabel: false, ...over };
}

const decisionOf = (r: ReturnType<typeof bgpAnnouncementsFor>, key: string) => r.decisions.find((d) => d.service === key);
const ribOf = (r: ReturnType<typeof bgpAnnouncementsFor>, peerName: string) => [...(r.ribByPeer.get(peerName) ?? new Map())];

describe('per-service pipeline reasons (4.1): not a BGP Service at all', () => {
  it.each([
    ['noIPAllocated', []],
    ['invalidIP', ['192.0.2.300']],
    ['ipNotAllowed', ['203.0.113.5']],
    ['ipNotAllowed', ['192.0.2.10', '203.0.113.5']],
  ])('%s for ingress %j', (reason, ips) => {
    const r = bgpAnnouncementsFor('node-a', snapshot({ services: [svc('ns/s', ips)] }));
    expect(r.decisions).toEqual([{ service: 'ns/s', bgp: false, reason }]);
    expect(ribOf(r, 'p1')).toEqual([]);
  });

  it('IPs spread over two pools => ipNotAllowed', () => {
    const cfg = config({ pools: [pool('pool', '192.0.2.0/24'), pool('other', '2001:db8::/64')] });
    const r = bgpAnnouncementsFor('node-a', snapshot({ config: cfg, services: [svc('ns/s', ['192.0.2.10', '2001:db8::10'])] }));
    expect(r.decisions).toEqual([{ service: 'ns/s', bgp: false, reason: 'ipNotAllowed' }]);
  });
});

describe('4.9 reasons', () => {
  it('a pool with no BGPAdvertisement at all: notOwner with bgp=false (a layer-2-only Service)', () => {
    const cfg = config({ pools: [pool('pool', '192.0.2.0/24'), pool('l2', '198.51.100.0/24')], l2Advertisements: [l2Ad('l2', ['l2'])] });
    const r = bgpAnnouncementsFor('node-a', snapshot({ config: cfg, services: [svc('ns/l2', ['198.51.100.7']), svc('ns/bgp', ['192.0.2.7'])] }));
    expect(decisionOf(r, 'ns/l2')).toEqual({ service: 'ns/l2', bgp: false, pool: 'l2', reason: 'notOwner' });
    expect(decisionOf(r, 'ns/bgp')?.bgp).toBe(true);
    expect(decisionOf(r, 'ns/bgp')?.advertise).toBeDefined();
  });

  it('notOwner with bgp=true when no BGP ad of the pool covers this node; other nodes still advertise', () => {
    const cfg = config({ bgpAdvertisements: [bgpAd('ad', { nodeSelectors: [sel({ 'kubernetes.io/hostname': 'node-b' })] })] });
    const snap = snapshot({ config: cfg, services: [svc('ns/s', ['192.0.2.10'])] });
    expect(bgpAnnouncementsFor('node-a', snap).decisions).toEqual([{ service: 'ns/s', bgp: true, pool: 'pool', reason: 'notOwner' }]);
    expect(bgpAnnouncementsFor('node-b', snap).decisions[0]?.advertise?.prefixes).toEqual(['192.0.2.10/32']);
  });

  it('an ad of another pool covering the node does not make it an owner', () => {
    const cfg = config({
      pools: [pool('pool', '192.0.2.0/24'), pool('other', '198.51.100.0/24')],
      bgpAdvertisements: [bgpAd('mine', { pools: ['other'] }), bgpAd('theirs', { nodeSelectors: [sel({ zone: 'b' })] })],
    });
    const r = bgpAnnouncementsFor('node-a', snapshot({ config: cfg, services: [svc('ns/s', ['192.0.2.10'])] }));
    expect(r.decisions[0]?.reason).toBe('notOwner');
  });

  it('unknown node: no sessions, and a BGP Service is notOwner', () => {
    const r = bgpAnnouncementsFor('ghost', snapshot({ services: [svc('ns/s', ['192.0.2.10'])] }));
    expect(r.peers).toEqual([]);
    expect(r.ribByPeer.size).toBe(0);
    expect(r.decisions).toEqual([{ service: 'ns/s', bgp: true, pool: 'pool', reason: 'notOwner' }]);
  });

  it('noMatchingAdvertisement when the ads covering the node do not select the Service', () => {
    const cfg = config({
      bgpAdvertisements: [
        bgpAd('web', { serviceSelectors: [sel({ app: 'web' })] }),
        // Selects the Service but not this node: dropped by the speaker, does not help.
        bgpAd('elsewhere', { serviceSelectors: [sel({ app: 'db' })], nodeSelectors: [sel({ zone: 'b' })] }),
      ],
    });
    const snap = snapshot({ config: cfg, services: [svc('ns/db', ['192.0.2.10'], { labels: { app: 'db' } }), svc('ns/web', ['192.0.2.11'], { labels: { app: 'web' } })] });
    const r = bgpAnnouncementsFor('node-a', snap);
    expect(decisionOf(r, 'ns/db')).toEqual({ service: 'ns/db', bgp: true, pool: 'pool', reason: 'noMatchingAdvertisement' });
    expect(decisionOf(r, 'ns/web')?.advertise?.prefixes).toEqual(['192.0.2.11/32']);
  });

  describe('conflictingAdvertisements (per-service LOCAL_PREF check)', () => {
    const web = { labels: { app: 'web' } };
    const run = (ads: BGPAdvertisement[], peers = [peer('p1'), peer('p2')]) =>
      bgpAnnouncementsFor('node-a', snapshot({ config: config({ bgpAdvertisements: ads, peers }), services: [svc('ns/web', ['192.0.2.10'], web)] })).decisions[0];

    it('two matching selector ads with different localPref for the same prefix conflict', () => {
      const d = run([bgpAd('a', { serviceSelectors: [sel({ app: 'web' })], localPref: 100 }), bgpAd('b', { serviceSelectors: [sel({ tier: 'x' }), sel({ app: 'web' })], localPref: 200 })]);
      expect(d).toEqual({ service: 'ns/web', bgp: true, pool: 'pool', reason: 'conflictingAdvertisements' });
    });

    it('unset localPref counts as 0: 0-vs-unset agree, 100-vs-unset conflict', () => {
      expect(run([bgpAd('a', { serviceSelectors: [sel({ app: 'web' })] }), bgpAd('b', { localPref: 100 })])?.reason).toBe('conflictingAdvertisements');
      expect(run([bgpAd('a', { serviceSelectors: [sel({ app: 'web' })] }), bgpAd('b')])?.advertise).toBeDefined();
    });

    it('no conflict: same localPref, disjoint named peers, different prefixes, or an ad that does not match', () => {
      const a = bgpAd('a', { serviceSelectors: [sel({ app: 'web' })], localPref: 100 });
      expect(run([a, bgpAd('b', { serviceSelectors: [sel({ app: 'web' })], localPref: 100, communities: [std(1, 1)] })])?.advertise).toBeDefined();
      expect(run([{ ...a, peers: ['p1'] }, bgpAd('b', { peers: ['p2'], localPref: 200 })])?.advertise?.peers).toEqual(['p1', 'p2']);
      expect(run([a, bgpAd('agg', { aggregationLength: 24, localPref: 200 })])?.advertise?.prefixes).toEqual(['192.0.2.0/24', '192.0.2.10/32']);
      expect(run([a, bgpAd('b', { serviceSelectors: [sel({ app: 'db' })], localPref: 200 })])?.advertise).toBeDefined();
      expect(run([a, bgpAd('b', { localPref: 200, nodeSelectors: [sel({ zone: 'b' })] })])?.advertise).toBeDefined();
    });

    it('overlapping peers (one list empty = all peers, or a shared name) conflict', () => {
      const a = bgpAd('a', { serviceSelectors: [sel({ app: 'web' })], localPref: 100, peers: ['p1'] });
      expect(run([a, bgpAd('b', { localPref: 200 })])?.reason).toBe('conflictingAdvertisements');
      expect(run([a, bgpAd('b', { localPref: 200, peers: ['p2', 'p1'] })])?.reason).toBe('conflictingAdvertisements');
    });

    it('a conflict on the v6 IP of a dual-stack Service withdraws the whole Service', () => {
      const ads = [bgpAd('a', { localPref: 100, aggregationLength: 24, aggregationLengthV6: 64 }), bgpAd('b', { localPref: 200, aggregationLength: 32, aggregationLengthV6: 64 })];
      const d = bgpAnnouncementsFor('node-a', snapshot({ config: config({ bgpAdvertisements: ads }), services: [svc('ns/ds', ['192.0.2.10', '2001:db8::10'])] })).decisions[0];
      expect(d?.reason).toBe('conflictingAdvertisements');
      const v4only = bgpAnnouncementsFor('node-a', snapshot({ config: config({ bgpAdvertisements: ads }), services: [svc('ns/v4', ['192.0.2.10'])] })).decisions[0];
      expect(v4only?.advertise?.prefixes).toEqual(['192.0.2.0/24', '192.0.2.10/32']);
    });
  });

  it('nodeNetworkUnavailable: the session stays, the Service is withdrawn', () => {
    const r = bgpAnnouncementsFor('node-a', snapshot({ nodes: [node('node-a', {}, true)], services: [svc('ns/s', ['192.0.2.10'])] }));
    expect(r.decisions[0]?.reason).toBe('nodeNetworkUnavailable');
    expect(r.peers.map((p) => p.name)).toEqual(['p1']);
    expect(ribOf(r, 'p1')).toEqual([]);
  });

  it('nodeLabeledExcludeBalancers unless ignoreExcludeLabel', () => {
    const snap = snapshot({ nodes: [node('node-a', { [EXCLUDE_LB_LABEL]: '' })], services: [svc('ns/s', ['192.0.2.10'])] });
    expect(bgpAnnouncementsFor('node-a', snap).decisions[0]?.reason).toBe('nodeLabeledExcludeBalancers');
    expect(bgpAnnouncementsFor('node-a', { ...snap, ignoreExcludeLabel: true }).decisions[0]?.advertise?.prefixes).toEqual(['192.0.2.10/32']);
  });

  it('ETP Local: only nodes with a local serving endpoint advertise (noLocalEndpoints elsewhere)', () => {
    const local = svc('ns/s', ['192.0.2.10'], { externalTrafficPolicyLocal: true, endpoints: [{ nodeName: 'node-a', serving: true }, { nodeName: 'node-b', serving: false }] });
    const snap = snapshot({ services: [local] });
    expect(bgpAnnouncementsFor('node-a', snap).decisions[0]?.advertise).toEqual({ prefixes: ['192.0.2.10/32'], peers: ['p1'] });
    expect(bgpAnnouncementsFor('node-b', snap).decisions[0]?.reason).toBe('noLocalEndpoints');
    // ETP Cluster: every eligible node advertises while any backend serves.
    const cluster = { ...local, externalTrafficPolicyLocal: false };
    expect(bgpAnnouncementsFor('node-b', snapshot({ services: [cluster] })).decisions[0]?.advertise?.prefixes).toEqual(['192.0.2.10/32']);
  });

  it('noEndpoints when nothing serves anywhere (an endpoint without a node counts for Cluster)', () => {
    const snap = (endpoints: { nodeName?: string; serving: boolean }[]) => snapshot({ services: [svc('ns/s', ['192.0.2.10'], { endpoints })] });
    expect(bgpAnnouncementsFor('node-a', snap([])).decisions[0]?.reason).toBe('noEndpoints');
    expect(bgpAnnouncementsFor('node-a', snap([{ nodeName: 'node-b', serving: false }])).decisions[0]?.reason).toBe('noEndpoints');
    expect(bgpAnnouncementsFor('node-a', snap([{ serving: true }])).decisions[0]?.advertise).toBeDefined();
  });

  // Every failure present, then the earliest removed one by one: the reported reason walks 4.9's order.
  it.each(BGP_REASONS.map((reason, i) => [reason, i] as const))('order: with failures %s.. present, the first is reported', (reason, first) => {
    const on = (r: string) => BGP_REASONS.indexOf(r as (typeof BGP_REASONS)[number]) >= first;
    const selectors = { nodeSelectors: [sel({ zone: on('notOwner') ? 'b' : 'a' })], serviceSelectors: [sel({ app: on('noMatchingAdvertisement') ? 'db' : 'web' })] };
    const ads = [bgpAd('a', { localPref: 100, ...selectors }), ...(on('conflictingAdvertisements') ? [bgpAd('b', { localPref: 200, ...selectors })] : [])];
    const self: NodeFacts = node('node-a', { zone: 'a', ...(on('nodeLabeledExcludeBalancers') ? { [EXCLUDE_LB_LABEL]: 'true' } : {}) }, on('nodeNetworkUnavailable'));
    const endpoints = on('noEndpoints') ? [] : on('noLocalEndpoints') ? [{ nodeName: 'node-b', serving: true }] : [{ nodeName: 'node-a', serving: true }];
    const service = svc('ns/web', ['192.0.2.10'], { labels: { app: 'web' }, externalTrafficPolicyLocal: on('noLocalEndpoints'), endpoints });
    const snap: BgpClusterSnapshot = snapshot({ config: config({ bgpAdvertisements: ads }), nodes: [self, node('node-b')], services: [service] });
    expect(bgpAnnouncementsFor('node-a', snap).decisions[0]?.reason).toBe(reason);
    // The pipeline comes before all of them.
    expect(bgpAnnouncementsFor('node-a', { ...snap, services: [{ ...service, ingressIps: [] }] }).decisions[0]?.reason).toBe('noIPAllocated');
  });

  it('with no failure at all the Service is advertised', () => {
    const ads = [bgpAd('a', { localPref: 100, nodeSelectors: [sel({ zone: 'a' })], serviceSelectors: [sel({ app: 'web' })] })];
    const service = svc('ns/web', ['192.0.2.10'], { labels: { app: 'web' }, externalTrafficPolicyLocal: true });
    const r = bgpAnnouncementsFor('node-a', snapshot({ config: config({ bgpAdvertisements: ads }), nodes: [node('node-a', { zone: 'a' })], services: [service] }));
    expect(r.decisions).toEqual([{ service: 'ns/web', bgp: true, pool: 'pool', advertise: { prefixes: ['192.0.2.10/32'], peers: ['p1'] } }]);
  });
});

describe('prefixes and aggregation', () => {
  it('v4: two Services in one /24 aggregate to one prefix', () => {
    const cfg = config({ bgpAdvertisements: [bgpAd('agg', { aggregationLength: 24 })] });
    const r = bgpAnnouncementsFor('node-a', snapshot({ config: cfg, services: [svc('ns/b', ['192.0.2.200']), svc('ns/a', ['192.0.2.10'])] }));
    expect(ribOf(r, 'p1')).toEqual([['192.0.2.0/24', { communities: [] }]]);
    expect(r.decisions.map((d) => [d.service, d.advertise?.prefixes])).toEqual([
      ['ns/a', ['192.0.2.0/24']],
      ['ns/b', ['192.0.2.0/24']],
    ]);
  });

  it('v4 masks to a non-octet length (/26)', () => {
    expect(advertisedPrefix('192.0.2.130', bgpAd('x', { aggregationLength: 26 }))).toBe('192.0.2.128/26');
    expect(advertisedPrefix('192.0.2.127', bgpAd('x', { aggregationLength: 26 }))).toBe('192.0.2.64/26');
  });

  it('v6: masks to aggregationLengthV6 and prints canonical text', () => {
    expect(advertisedPrefix('2001:DB8:0:0:1::10', bgpAd('x', { aggregationLengthV6: 64 }))).toBe('2001:db8::/64');
    expect(advertisedPrefix('2001:db8:0:0:0:0:0:10', bgpAd('x'))).toBe('2001:db8::10/128');
    expect(advertisedPrefix('2001:db8::ff', bgpAd('x', { aggregationLengthV6: 124 }))).toBe('2001:db8::f0/124');
  });

  it('an aggregation length outside the family names the ad and the field', () => {
    expect(() => advertisedPrefix('192.0.2.1', bgpAd('wide', { aggregationLength: 33 }))).toThrow(/BGPAdvertisement "wide": spec.aggregationLength 33/);
    expect(() => advertisedPrefix('2001:db8::1', bgpAd('wide6', { aggregationLengthV6: 129 }))).toThrow(/spec.aggregationLengthV6 129/);
  });

  it('dual stack: both IPs advertised, each with its family length', () => {
    const cfg = config({ bgpAdvertisements: [bgpAd('agg', { aggregationLength: 24, aggregationLengthV6: 64 })] });
    const r = bgpAnnouncementsFor('node-a', snapshot({ config: cfg, services: [svc('ns/ds', ['2001:db8::10', '192.0.2.10'])] }));
    expect(r.decisions[0]?.advertise).toEqual({ prefixes: ['192.0.2.0/24', '2001:db8::/64'], peers: ['p1'] });
    expect([...r.ribByPeer.get('p1')!.keys()]).toEqual(['192.0.2.0/24', '2001:db8::/64']);
  });

  it('one IP and two ads with different lengths gives two prefixes (one route per IP and ad)', () => {
    const cfg = config({ bgpAdvertisements: [bgpAd('host', { localPref: 50 }), bgpAd('agg', { aggregationLength: 24, communities: [std(65000, 24)] })] });
    const r = bgpAnnouncementsFor('node-a', snapshot({ config: cfg, services: [svc('ns/s', ['192.0.2.10'])] }));
    expect(ribOf(r, 'p1')).toEqual([
      ['192.0.2.0/24', { communities: [std(65000, 24)] }],
      ['192.0.2.10/32', { localPref: 50, communities: [] }],
    ]);
  });
});

describe('peers and sessions', () => {
  it('sessions are the peers whose nodeSelectors match the node, sorted by name; relabelling changes them', () => {
    const cfg = config({ peers: [peer('zeta'), peer('rack-b', { nodeSelectors: [sel({ rack: 'b' })] }), peer('alpha')] });
    expect(bgpAnnouncementsFor('node-a', snapshot({ config: cfg, nodes: [node('node-a', { rack: 'a' })] })).peers.map((p) => p.name)).toEqual(['alpha', 'zeta']);
    const moved = bgpAnnouncementsFor('node-a', snapshot({ config: cfg, nodes: [node('node-a', { rack: 'b' })] }));
    expect(moved.peers.map((p) => p.name)).toEqual(['alpha', 'rack-b', 'zeta']);
    expect([...moved.ribByPeer.keys()]).toEqual(['alpha', 'rack-b', 'zeta']);
  });

  it('an ad with a peer list goes only to those sessions; the Service status lists the carrying sessions', () => {
    const cfg = config({
      peers: [peer('p1'), peer('p2'), peer('p3', { nodeSelectors: [sel({ zone: 'b' })] })],
      bgpAdvertisements: [bgpAd('to-p2', { peers: ['p2', 'p3'] })],
    });
    const r = bgpAnnouncementsFor('node-a', snapshot({ config: cfg, services: [svc('ns/s', ['192.0.2.10'])] }));
    expect(ribOf(r, 'p1')).toEqual([]);
    expect(ribOf(r, 'p2')).toEqual([['192.0.2.10/32', { communities: [] }]]);
    expect(r.ribByPeer.has('p3')).toBe(false); // no session from this node
    expect(r.decisions[0]?.advertise).toEqual({ prefixes: ['192.0.2.10/32'], peers: ['p2'] });
  });

  it('advertised with no session carrying it: advertise.peers is empty', () => {
    const cfg = config({ peers: [peer('p1')], bgpAdvertisements: [bgpAd('nowhere', { peers: ['absent'] })] });
    const r = bgpAnnouncementsFor('node-a', snapshot({ config: cfg, services: [svc('ns/s', ['192.0.2.10'])] }));
    expect(r.decisions[0]?.advertise).toEqual({ prefixes: ['192.0.2.10/32'], peers: [] });
    expect(ribOf(r, 'p1')).toEqual([]);
  });

  it('ads whose nodeSelectors do not match the node are ignored', () => {
    const cfg = config({ bgpAdvertisements: [bgpAd('zone-b', { nodeSelectors: [sel({ zone: 'b' })], localPref: 999, communities: [std(1, 2)] }), bgpAd('all', { localPref: 10 })] });
    const snap = snapshot({ config: cfg, nodes: [node('node-a', { zone: 'a' }), node('node-b', { zone: 'b' })], services: [svc('ns/s', ['192.0.2.10'])] });
    expect(ribOf(bgpAnnouncementsFor('node-a', snap), 'p1')).toEqual([['192.0.2.10/32', { localPref: 10, communities: [] }]]);
    // On node-b both apply with different localPref for the same prefix (a config the parser rejects):
    // the per-service check withdraws the Service.
    expect(bgpAnnouncementsFor('node-b', snap).decisions[0]?.reason).toBe('conflictingAdvertisements');
  });
});

describe('route attributes and merging', () => {
  it('LOCAL_PREF and communities (standard + large) of the ad are carried; unset LOCAL_PREF is absent', () => {
    const cfg = config({ bgpAdvertisements: [bgpAd('ad', { localPref: 150, communities: [large(64500, 1, 2), std(65000, 100)] })] });
    const r = bgpAnnouncementsFor('node-a', snapshot({ config: cfg, services: [svc('ns/s', ['192.0.2.10'])] }));
    expect(ribOf(r, 'p1')).toEqual([['192.0.2.10/32', { localPref: 150, communities: [std(65000, 100), large(64500, 1, 2)] }]]);
    const plain = bgpAnnouncementsFor('node-a', snapshot({ services: [svc('ns/s', ['192.0.2.10'])] }));
    expect(plain.ribByPeer.get('p1')?.get('192.0.2.10/32')).toEqual({ communities: [] });
    expect('localPref' in plain.ribByPeer.get('p1')!.get('192.0.2.10/32')!).toBe(false);
  });

  it('same prefix from two ads of one Service: union of communities, deduplicated and sorted', () => {
    const cfg = config({
      bgpAdvertisements: [
        bgpAd('a', { localPref: 100, communities: [std(65000, 2), large(1, 2, 3)] }),
        bgpAd('b', { localPref: 100, communities: [std(65000, 1), std(65000, 2), large(1, 2, 1)] }),
      ],
    });
    const r = bgpAnnouncementsFor('node-a', snapshot({ config: cfg, services: [svc('ns/s', ['192.0.2.10'])] }));
    expect(ribOf(r, 'p1')).toEqual([['192.0.2.10/32', { localPref: 100, communities: [std(65000, 1), std(65000, 2), large(1, 2, 1), large(1, 2, 3)] }]]);
  });

  it('the union is per session: an ad limited to p2 adds its communities on p2 only', () => {
    const cfg = config({ peers: [peer('p1'), peer('p2')], bgpAdvertisements: [bgpAd('all', { communities: [std(1, 1)] }), bgpAd('p2', { peers: ['p2'], communities: [large(2, 2, 2)] })] });
    const r = bgpAnnouncementsFor('node-a', snapshot({ config: cfg, services: [svc('ns/s', ['192.0.2.10'])] }));
    expect(ribOf(r, 'p1')).toEqual([['192.0.2.10/32', { communities: [std(1, 1)] }]]);
    expect(ribOf(r, 'p2')).toEqual([['192.0.2.10/32', { communities: [std(1, 1), large(2, 2, 2)] }]]);
  });

  it('Services sharing an IP through different selector ads: one route, union of communities, highest LOCAL_PREF', () => {
    const cfg = config({
      bgpAdvertisements: [
        bgpAd('web', { serviceSelectors: [sel({ app: 'web' })], localPref: 100, communities: [std(65000, 80)] }),
        bgpAd('dns', { serviceSelectors: [sel({ app: 'dns' })], localPref: 200, communities: [std(65000, 53)] }),
      ],
    });
    const services = [svc('ns/web', ['192.0.2.10'], { labels: { app: 'web' }, sharesIp: true }), svc('ns/dns', ['192.0.2.10'], { labels: { app: 'dns' }, sharesIp: true })];
    const r = bgpAnnouncementsFor('node-a', snapshot({ config: cfg, services }));
    expect(ribOf(r, 'p1')).toEqual([['192.0.2.10/32', { localPref: 200, communities: [std(65000, 53), std(65000, 80)] }]]);
    expect(r.decisions.map((d) => d.service)).toEqual(['ns/dns', 'ns/web']);
    expect(r.decisions.every((d) => d.advertise?.peers.join() === 'p1')).toBe(true);
  });

  it('a withdrawn Service contributes nothing to the merged route', () => {
    const cfg = config({ bgpAdvertisements: [bgpAd('agg', { aggregationLength: 24, communities: [std(9, 9)] })] });
    const services = [svc('ns/up', ['192.0.2.10']), svc('ns/down', ['192.0.2.11'], { endpoints: [] })];
    const r = bgpAnnouncementsFor('node-a', snapshot({ config: cfg, services }));
    expect(ribOf(r, 'p1')).toEqual([['192.0.2.0/24', { communities: [std(9, 9)] }]]);
    const onlyDown = bgpAnnouncementsFor('node-a', snapshot({ config: cfg, services: [services[1]!] }));
    expect(ribOf(onlyDown, 'p1')).toEqual([]);
  });
});

describe('properties', () => {
  const NODE_NAMES = ['n0', 'n1', 'n2', 'n3'];
  const PEER_NAMES = ['p0', 'p1', 'p2', 'p3'];
  const COMMUNITIES = [std(65000, 1), std(65000, 2), large(64500, 1, 1), large(64500, 0, 7)];
  const POOLS = [pool('v4', '192.0.2.0/24'), pool('v6', '2001:db8::/120'), pool('ds', '198.51.100.0/24', '2001:db8:1::/120'), pool('l2only', '203.0.113.0/24')];
  const zoneSel = fc.constantFrom<LabelSelector[]>([], [sel({ zone: 'a' })], [sel({ zone: 'b' })], [sel({ zone: 'a' }), sel({ zone: 'b' })]);

  const adArb = fc.record({
    pools: fc.subarray(['v4', 'v6', 'ds'], { minLength: 1 }),
    aggregationLength: fc.integer({ min: 24, max: 32 }),
    aggregationLengthV6: fc.integer({ min: 120, max: 128 }),
    localPref: fc.constantFrom(undefined, 100, 200),
    communities: fc.subarray(COMMUNITIES),
    nodeSelectors: zoneSel,
    peers: fc.subarray(PEER_NAMES, { maxLength: 2 }),
    serviceSelectors: fc.constantFrom<LabelSelector[]>([], [sel({ app: 'web' })], [sel({ app: 'db' })]),
  });
  const ipOf = (poolName: string, off: number): string[] => {
    switch (poolName) {
      case 'v4': return [`192.0.2.${off}`];
      case 'v6': return [`2001:db8::${off.toString(16)}`];
      case 'ds': return [`198.51.100.${off}`, `2001:db8:1::${off.toString(16)}`];
      case 'l2only': return [`203.0.113.${off}`];
      case 'none': return [];
      default: return ['not-an-ip'];
    }
  };
  const serviceArb = fc.record({
    pool: fc.constantFrom('v4', 'v6', 'ds', 'ds', 'l2only', 'none', 'bad'),
    // Few offsets so that Services share IPs and aggregates.
    offset: fc.constantFrom(1, 2, 10, 77, 200),
    app: fc.constantFrom('web', 'db'),
    local: fc.boolean(),
    endpoints: fc.array(fc.record({ nodeName: fc.constantFrom(undefined, ...NODE_NAMES), serving: fc.boolean() }), { maxLength: 3 }),
  });
  const nodeArb = fc.record({ zone: fc.constantFrom('a', 'b'), excluded: fc.boolean(), unavailable: fc.boolean() });
  const worldArb = fc.record({
    nodes: fc.array(nodeArb, { minLength: 4, maxLength: 4 }),
    nodeCount: fc.integer({ min: 0, max: 4 }),
    peers: fc.array(fc.record({ nodeSelectors: zoneSel }), { minLength: 4, maxLength: 4 }),
    peerCount: fc.integer({ min: 0, max: 4 }),
    ads: fc.array(adArb, { maxLength: 5 }),
    services: fc.array(serviceArb, { maxLength: 6 }),
    ignoreExcludeLabel: fc.boolean(),
    self: fc.constantFrom('n0', 'n1', 'n2', 'n4'),
    seed: fc.integer(),
  });
  type World = typeof worldArb extends fc.Arbitrary<infer T> ? T : never;

  function snapshotOf(w: World): BgpClusterSnapshot {
    const nodes = w.nodes.slice(0, w.nodeCount).map((n, i) =>
      node(NODE_NAMES[i]!, { zone: n.zone, ...(n.excluded ? { [EXCLUDE_LB_LABEL]: '' } : {}) }, n.unavailable),
    );
    return {
      config: config({
        pools: POOLS,
        peers: w.peers.slice(0, w.peerCount).map((p, i) => peer(PEER_NAMES[i]!, { nodeSelectors: p.nodeSelectors })),
        bgpAdvertisements: w.ads.map((a, i) => bgpAd(`ad${i}`, { ...a, ...(a.localPref === undefined ? { localPref: undefined } : {}) })),
        l2Advertisements: [l2Ad('l2', ['l2only'])],
      }),
      services: w.services.map((s, i) => svc(`ns/s${i}`, ipOf(s.pool, s.offset), { labels: { app: s.app }, externalTrafficPolicyLocal: s.local, endpoints: s.endpoints })),
      nodes,
      ignoreExcludeLabel: w.ignoreExcludeLabel,
    };
  }

  // Deterministic Fisher-Yates driven by a small LCG, so fast-check can shrink the seed.
  function shuffled<T>(items: readonly T[], seed: number): T[] {
    const out = [...items];
    let s = seed >>> 0;
    for (let i = out.length - 1; i > 0; i--) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const j = s % (i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  const plain = (r: ReturnType<typeof bgpAnnouncementsFor>) => ({
    peers: r.peers.map((p) => p.name),
    ribs: [...r.ribByPeer].map(([name, rib]) => [name, [...rib]]),
    decisions: r.decisions,
  });

  it('the result does not depend on the order of services, ads, peers, nodes or endpoints', () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const snap = snapshotOf(w);
        const { config: cfg } = snap;
        const reordered: BgpClusterSnapshot = {
          ...snap,
          config: { ...cfg, bgpAdvertisements: shuffled(cfg.bgpAdvertisements, w.seed), peers: shuffled(cfg.peers, w.seed + 1), pools: new Map(shuffled([...cfg.pools], w.seed + 2)) },
          services: shuffled(snap.services, w.seed + 3).map((s, i) => ({ ...s, endpoints: shuffled(s.endpoints, w.seed + i) })),
          nodes: shuffled(snap.nodes, w.seed + 4),
        };
        expect(plain(bgpAnnouncementsFor(w.self, reordered))).toEqual(plain(bgpAnnouncementsFor(w.self, snap)));
      }),
      { numRuns: 300 },
    );
  });

  it('every advertised prefix is canonical and contains an IP of its Service; every IP is covered; sessions agree with decisions', () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const snap = snapshotOf(w);
        const r = bgpAnnouncementsFor(w.self, snap);
        const peerNames = r.peers.map((p) => p.name);
        expect([...r.ribByPeer.keys()]).toEqual(peerNames);
        const carried = new Map<string, Set<string>>(peerNames.map((p) => [p, new Set()]));
        for (const d of r.decisions) {
          expect(d.advertise === undefined).toBe(d.reason !== undefined);
          if (!d.advertise) continue;
          const ips = snap.services.find((s) => s.key === d.service)!.ingressIps.map((ip) => parseIp(ip)!);
          const cidrs = d.advertise.prefixes.map((p) => {
            const c = parseCidr(p)!;
            expect(formatCidr(c)).toBe(p);
            expect(ips.some((ip) => cidrContains(c, ip.family, ip.value))).toBe(true);
            return c;
          });
          for (const ip of ips) expect(cidrs.some((c) => cidrContains(c, ip.family, ip.value))).toBe(true);
          for (const p of d.advertise.peers) {
            expect(peerNames).toContain(p);
            // The session carries at least one of the Service's prefixes.
            expect(d.advertise.prefixes.some((prefix) => r.ribByPeer.get(p)!.has(prefix))).toBe(true);
            for (const prefix of d.advertise.prefixes) if (r.ribByPeer.get(p)!.has(prefix)) carried.get(p)!.add(prefix);
          }
        }
        // Nothing on a session that no advertised Service put there.
        for (const [p, rib] of r.ribByPeer) expect(new Set(rib.keys())).toEqual(carried.get(p));
      }),
      { numRuns: 300 },
    );
  });
});
