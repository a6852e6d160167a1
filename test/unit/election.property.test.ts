// Properties that make the L2 election safe without coordination (spec 4.3 step 7).
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { L2Advertisement, LabelSelector } from '../../src/config/model.js';
import { l2AnnouncerFor, type L2ElectionInput, type NodeFacts } from '../../src/speaker/election.js';

const sel = (matchLabels: Record<string, string>): LabelSelector => ({ matchLabels, matchExpressions: [] });

const nodeName = fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/);
const zone = fc.constantFrom('a', 'b', 'c');
const nodeArb: fc.Arbitrary<NodeFacts> = fc.record({
  name: nodeName,
  labels: fc.record({ zone, tier: fc.constantFrom('edge', 'core') }),
  networkUnavailable: fc.oneof({ arbitrary: fc.constant(false), weight: 5 }, { arbitrary: fc.constant(true), weight: 1 }),
});

const adArb: fc.Arbitrary<L2Advertisement> = fc.record({
  name: fc.constantFrom('ad1', 'ad2', 'ad3'),
  pools: fc.constant(['pool']),
  nodeSelectors: fc.oneof(fc.constant([] as LabelSelector[]), zone.map((z) => [sel({ zone: z })])),
  interfaces: fc.constant([] as string[]),
  serviceSelectors: fc.constant([] as LabelSelector[]),
  preferredNodeSelectors: fc.oneof(
    fc.constant([] as L2Advertisement['preferredNodeSelectors']),
    fc.record({ weight: fc.integer({ min: 1, max: 100 }), preference: fc.constantFrom('edge', 'core').map((t) => sel({ tier: t })) }).map((p) => [p]),
  ),
});

const ipArb = fc.oneof(fc.ipV4(), fc.constantFrom('2001:db8::1', '2001:db8::a:1', 'fd00::5'));

const scenario = fc
  .record({
    ip: ipArb,
    local: fc.boolean(),
    nodes: fc.uniqueArray(nodeArb, { minLength: 1, maxLength: 8, selector: (n) => n.name }),
    ads: fc.array(adArb, { minLength: 1, maxLength: 3 }),
    deadMask: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
    endpointMask: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
  })
  .map(({ ip, local, nodes, ads, deadMask, endpointMask }): L2ElectionInput => ({
    ingressIp: ip,
    externalTrafficPolicyLocal: local,
    sharesIp: false,
    serviceLabels: {},
    advertisements: ads,
    nodes,
    aliveNodes: new Set(nodes.filter((_, i) => !deadMask[i]).map((n) => n.name)),
    endpoints: [{ serving: true, nodeName: 'elsewhere' }, ...nodes.filter((_, i) => endpointMask[i]).map((n) => ({ nodeName: n.name, serving: true }))],
  }));

function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let s = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1664525 + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('l2AnnouncerFor properties', () => {
  it('is stateless: every node, seeing the same facts in any order, elects the same announcer', () => {
    fc.assert(
      fc.property(scenario, fc.integer(), (inp, seed) => {
        const a = l2AnnouncerFor(inp);
        const b = l2AnnouncerFor({ ...inp, nodes: shuffled(inp.nodes, seed), advertisements: shuffled(inp.advertisements, seed + 1), endpoints: shuffled(inp.endpoints, seed + 2), aliveNodes: new Set(shuffled([...inp.aliveNodes], seed + 3)) });
        expect(b).toEqual(a);
      }),
      { numRuns: 400 },
    );
  });

  it('removing a node that is not the announcer never moves the IP', () => {
    fc.assert(
      fc.property(scenario, fc.nat(), (inp, pick) => {
        const before = l2AnnouncerFor(inp);
        const others = inp.nodes.filter((n) => n.name !== before.announcer);
        fc.pre(others.length > 0);
        const victim = others[pick % others.length] as NodeFacts;
        const alive = new Set(inp.aliveNodes);
        alive.delete(victim.name);
        // Removed from membership, and also from the node list.
        expect(l2AnnouncerFor({ ...inp, aliveNodes: alive }).announcer).toBe(before.announcer);
        expect(l2AnnouncerFor({ ...inp, aliveNodes: alive, nodes: inp.nodes.filter((n) => n !== victim) }).announcer).toBe(before.announcer);
      }),
      { numRuns: 400 },
    );
  });

  it('adding a node moves the IP only to that node, and only when it sorts first', () => {
    fc.assert(
      fc.property(scenario, nodeArb, (inp, extra) => {
        fc.pre(!inp.nodes.some((n) => n.name === extra.name));
        const before = l2AnnouncerFor(inp);
        const afterInput = { ...inp, nodes: [...inp.nodes, extra], aliveNodes: new Set([...inp.aliveNodes, extra.name]), endpoints: [...inp.endpoints, { nodeName: extra.name, serving: true }] };
        const after = l2AnnouncerFor(afterInput);
        if (after.announcer !== before.announcer) {
          expect(after.announcer).toBe(extra.name);
          expect(after.announcer !== undefined && after.candidates[0]).toBe(extra.name);
        }
        // The previous ranking is preserved among the old candidates.
        if (before.announcer !== undefined && after.announcer !== undefined) {
          expect(after.candidates.filter((c) => c !== extra.name)).toEqual(before.candidates);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('all services sharing an IP elect the same node', () => {
    fc.assert(
      fc.property(scenario, fc.array(fc.record({ app: fc.constantFrom('web', 'db', 'cache') }), { minLength: 2, maxLength: 4 }), (inp, services) => {
        // Cluster policy: services sharing an IP differ in labels but see the same pool, nodes and members.
        const base = { ...inp, externalTrafficPolicyLocal: false, sharesIp: true };
        const results = services.map((labels) => l2AnnouncerFor({ ...base, serviceLabels: labels }).announcer);
        expect(new Set(results).size).toBe(1);
      }),
      { numRuns: 300 },
    );
  });

  it('the per-IP ranking memo never changes an answer: any sequence of elections equals computing each afresh', () => {
    // Reference: MetalLB's order computed directly (sha256(node#ip) ascending, then name).
    const sha = (name: string, ip: string) => createHash('sha256').update(`${name}#${ip}`).digest('hex');
    fc.assert(
      fc.property(fc.array(scenario, { minLength: 2, maxLength: 12 }), fc.array(fc.nat(11), { minLength: 1, maxLength: 30 }), (inputs, order) => {
        for (const k of order) {
          const input = inputs[k % inputs.length] as L2ElectionInput;
          const got = l2AnnouncerFor(input);
          if (!got.candidates) continue;
          // The generated addresses are canonical already, so they are what the election hashes.
          const ip = input.ingressIp;
          const byHash = [...got.candidates].sort((a, b) => (sha(a, ip) < sha(b, ip) ? -1 : sha(a, ip) > sha(b, ip) ? 1 : a < b ? -1 : 1));
          const weighted = input.advertisements.some((ad) => ad.preferredNodeSelectors.length > 0);
          // Without preferred weights the order is the hash order exactly; with them, the memoised
          // answer must equal the answer for the same nodes listed in another order (a memo miss).
          if (!weighted) expect(got.candidates).toEqual(byHash);
          expect(l2AnnouncerFor({ ...input, nodes: [...input.nodes].reverse() })).toEqual(got);
        }
      }),
      { numRuns: 300 },
    );
  });
});
