// The L2 announcer rule (spec 4.3 steps 1-7), one behaviour per test. Expected orders come from
// `echo -n "<node>#<ip>" | sha256sum`, computed outside this code.
import { describe, expect, it } from 'vitest';
import type { L2Advertisement, LabelSelector } from '../../src/config/model.js';
import {
  EXCLUDE_LB_LABEL,
  electionHash,
  l2AnnouncerFor,
  l2ShouldAnnounce,
  type L2ElectionInput,
  type NodeFacts,
} from '../../src/speaker/election.js';

const sel = (matchLabels: Record<string, string>): LabelSelector => ({ matchLabels, matchExpressions: [] });

function ad(over: Partial<L2Advertisement> = {}): L2Advertisement {
  return { name: 'ad', pools: ['pool'], nodeSelectors: [], interfaces: [], serviceSelectors: [], preferredNodeSelectors: [], ...over };
}

function node(name: string, labels: Record<string, string> = {}, networkUnavailable = false): NodeFacts {
  return { name, labels: { 'kubernetes.io/hostname': name, ...labels }, networkUnavailable };
}

const NODES = ['node-a', 'node-b', 'node-c', 'node-d'].map((n) => node(n));

function input(over: Partial<L2ElectionInput> = {}): L2ElectionInput {
  return {
    ingressIp: '192.0.2.10',
    externalTrafficPolicyLocal: false,
    sharesIp: false,
    serviceLabels: {},
    advertisements: [ad()],
    nodes: NODES,
    aliveNodes: new Set(NODES.map((n) => n.name)),
    endpoints: [{ nodeName: 'node-a', serving: true }],
    ...over,
  };
}

describe('l2AnnouncerFor', () => {
  it('orders candidates by sha256(node#ip) ascending (sha256sum: d=1e.., c=39.., b=6e.., a=d4..)', () => {
    expect(electionHash('node-a', '192.0.2.10').toString('hex')).toBe('d4b84135501a6622f43f01422f65d768d1a4637914be8add4e31f107336b8068');
    expect(l2AnnouncerFor(input())).toEqual({ announcer: 'node-d', candidates: ['node-d', 'node-c', 'node-b', 'node-a'] });
  });

  it('hashes the canonical IPv6 text (b=21.., a=55.., c=d3.., d=f3..)', () => {
    const r = l2AnnouncerFor(input({ ingressIp: '2001:DB8:0::10' }));
    expect(r).toEqual({ announcer: 'node-b', candidates: ['node-b', 'node-a', 'node-c', 'node-d'] });
  });

  it('step 1: no serving endpoint anywhere => notOwner, also for Cluster', () => {
    expect(l2AnnouncerFor(input({ endpoints: [] }))).toEqual({ announcer: undefined, reason: 'notOwner' });
    expect(l2AnnouncerFor(input({ endpoints: [{ nodeName: 'node-a', serving: false }] }))).toEqual({ announcer: undefined, reason: 'notOwner' });
    // A serving endpoint without a node still counts for Cluster.
    expect(l2AnnouncerFor(input({ endpoints: [{ serving: true }] })).announcer).toBe('node-d');
  });

  it('step 2: ads whose serviceSelectors do not match the Service are ignored', () => {
    const ads = [ad({ name: 'only-web', serviceSelectors: [sel({ app: 'web' })], nodeSelectors: [sel({ 'kubernetes.io/hostname': 'node-a' })] }), ad({ name: 'all', nodeSelectors: [sel({ 'kubernetes.io/hostname': 'node-b' })] })];
    expect(l2AnnouncerFor(input({ advertisements: ads, serviceLabels: { app: 'db' } }))).toEqual({ announcer: 'node-b', candidates: ['node-b'] });
    expect(l2AnnouncerFor(input({ advertisements: ads, serviceLabels: { app: 'web' } }))).toEqual({ announcer: 'node-b', candidates: ['node-b', 'node-a'] });
    expect(l2AnnouncerFor(input({ advertisements: [ads[0]!], serviceLabels: { app: 'db' } }))).toEqual({ announcer: undefined, reason: 'noMatchingAdvertisement' });
  });

  it('step 3: a shared IP with any matching ad that has serviceSelectors => sharedIPWithServiceSelector', () => {
    const ads = [ad({ serviceSelectors: [sel({ app: 'web' })] }), ad({ name: 'plain' })];
    expect(l2AnnouncerFor(input({ advertisements: ads, serviceLabels: { app: 'web' }, sharesIp: true }))).toEqual({ announcer: undefined, reason: 'sharedIPWithServiceSelector' });
    // The selector ad does not match this Service, so it is not among its ads: announced via "plain".
    expect(l2AnnouncerFor(input({ advertisements: ads, serviceLabels: { app: 'db' }, sharesIp: true })).announcer).toBe('node-d');
    expect(l2AnnouncerFor(input({ advertisements: ads, serviceLabels: { app: 'web' }, sharesIp: false })).announcer).toBe('node-d');
  });

  it('steps 4-5: only nodes selected by some ad; none selected => noMatchingAdvertisement', () => {
    const ads = [ad({ nodeSelectors: [sel({ zone: 'x' })] }), ad({ nodeSelectors: [sel({ 'kubernetes.io/hostname': 'node-a' })] })];
    const nodes = [node('node-a'), node('node-b', { zone: 'x' }), node('node-c'), node('node-d')];
    expect(l2AnnouncerFor(input({ advertisements: ads, nodes }))).toEqual({ announcer: 'node-b', candidates: ['node-b', 'node-a'] });
    expect(l2AnnouncerFor(input({ advertisements: [ad({ nodeSelectors: [sel({ zone: 'y' })] })], nodes }))).toEqual({ announcer: undefined, reason: 'noMatchingAdvertisement' });
  });

  it('step 5: dead speakers, NetworkUnavailable and the exclude label drop candidates', () => {
    const nodes = [node('node-a'), node('node-b'), node('node-c', {}, true), node('node-d', { [EXCLUDE_LB_LABEL]: '' })];
    expect(l2AnnouncerFor(input({ nodes }))).toEqual({ announcer: 'node-b', candidates: ['node-b', 'node-a'] });
    expect(l2AnnouncerFor(input({ nodes, ignoreExcludeLabel: true }))).toEqual({ announcer: 'node-d', candidates: ['node-d', 'node-b', 'node-a'] });
    expect(l2AnnouncerFor(input({ aliveNodes: new Set(['node-a', 'node-c']) }))).toEqual({ announcer: 'node-c', candidates: ['node-c', 'node-a'] });
    // Alive members without a Node object are never candidates.
    expect(l2AnnouncerFor(input({ nodes: [node('node-a')], aliveNodes: new Set(['node-a', 'node-d']) }))).toEqual({ announcer: 'node-a', candidates: ['node-a'] });
    expect(l2AnnouncerFor(input({ aliveNodes: new Set() }))).toEqual({ announcer: undefined, reason: 'notOwner' });
  });

  it('step 6: Local elects only nodes with a serving local endpoint', () => {
    const endpoints = [{ nodeName: 'node-a', serving: true }, { nodeName: 'node-b', serving: true }, { nodeName: 'node-d', serving: false }];
    expect(l2AnnouncerFor(input({ externalTrafficPolicyLocal: true, endpoints }))).toEqual({ announcer: 'node-b', candidates: ['node-b', 'node-a'] });
    expect(l2AnnouncerFor(input({ externalTrafficPolicyLocal: true, endpoints: [{ nodeName: 'node-a', serving: true }], aliveNodes: new Set(['node-b', 'node-c']) }))).toEqual({ announcer: undefined, reason: 'notOwner' });
    expect(l2AnnouncerFor(input({ externalTrafficPolicyLocal: true, endpoints: [{ serving: true }] }))).toEqual({ announcer: undefined, reason: 'notOwner' });
  });

  it('step 7: preferred weights are summed across ads and sort before the hash', () => {
    const ads = [
      ad({ preferredNodeSelectors: [{ weight: 10, preference: sel({ tier: 'edge' }) }, { weight: 5, preference: sel({ rack: 'r1' }) }] }),
      ad({ name: 'second', preferredNodeSelectors: [{ weight: 12, preference: sel({ rack: 'r2' }) }] }),
    ];
    const nodes = [node('node-a', { tier: 'edge', rack: 'r1' }), node('node-b', { rack: 'r2' }), node('node-c', { tier: 'edge' }), node('node-d')];
    // a: 10+5 = 15, b: 12, c: 10, d: 0.
    expect(l2AnnouncerFor(input({ advertisements: ads, nodes }))).toEqual({ announcer: 'node-a', candidates: ['node-a', 'node-b', 'node-c', 'node-d'] });
    // Equal weights fall back to the hash order (d before c).
    const tied = [node('node-a'), node('node-b'), node('node-c', { tier: 'edge' }), node('node-d', { tier: 'edge' })];
    expect(l2AnnouncerFor(input({ advertisements: ads, nodes: tied })).candidates).toEqual(['node-d', 'node-c', 'node-b', 'node-a']);
  });

  it('a preference of an ad that does not select the node adds nothing', () => {
    const ads = [
      ad({ nodeSelectors: [sel({ 'kubernetes.io/hostname': 'node-a' })], preferredNodeSelectors: [{ weight: 50, preference: sel({ tier: 'edge' }) }] }),
      ad({ name: 'rest' }),
    ];
    const nodes = [node('node-a'), node('node-b', { tier: 'edge' }), node('node-c'), node('node-d')];
    expect(l2AnnouncerFor(input({ advertisements: ads, nodes })).announcer).toBe('node-d');
  });
});

describe('l2ShouldAnnounce (per node, as MetalLB logs it)', () => {
  it('gives "" to the announcer, notOwner to other candidates, noMatchingAdvertisement to uncovered nodes', () => {
    const ads = [ad({ nodeSelectors: [sel({ zone: 'x' })] })];
    const nodes = [node('node-a', { zone: 'x' }), node('node-b', { zone: 'x' }), node('node-c'), node('node-d')];
    const i = input({ advertisements: ads, nodes });
    expect(l2ShouldAnnounce('node-b', i)).toBe('');
    expect(l2ShouldAnnounce('node-a', i)).toBe('notOwner');
    expect(l2ShouldAnnounce('node-c', i)).toBe('noMatchingAdvertisement');
    expect(l2ShouldAnnounce('node-z', i)).toBe('noMatchingAdvertisement');
    expect(l2ShouldAnnounce('node-b', { ...i, endpoints: [] })).toBe('notOwner');
  });
});
