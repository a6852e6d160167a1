// Which node announces a layer-2 IP: MetalLB's stateless election (spec 4.3). Every speaker
// runs this over the same inputs and gets the same answer, so no coordination is needed; a
// split membership view can still give zero or two announcers (MetalLB #740/#741, by design).
import { hash } from 'node:crypto';
import { anySelectorMatches, selectorMatches } from '../config/labelSelector.js';
import type { L2Advertisement } from '../config/model.js';
import { canonicalIp } from '../net/address.js';

/** Node label that removes a node from L2 candidates unless the speaker ignores it (--ignore-exclude-lb). */
export const EXCLUDE_LB_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';

export interface NodeFacts {
  name: string;
  labels: Record<string, string>;
  /** Node condition NetworkUnavailable=True. */
  networkUnavailable: boolean;
}

/** One endpoint from the Service's EndpointSlices; serving = ready nil/true, or serving true (MetalLB epslices). */
export interface EndpointFacts {
  nodeName?: string;
  serving: boolean;
}

/** MetalLB's layer-2 withdraw reasons (the strings appear in logs and metrics). */
export type L2Reason = 'notOwner' | 'noMatchingAdvertisement' | 'sharedIPWithServiceSelector';

// The optional `undefined` members let callers read `result.reason` / `result.candidates` without narrowing first.
export type ElectionResult =
  | { announcer: string; candidates: string[]; reason?: undefined }
  | { announcer: undefined; reason: L2Reason; candidates?: undefined };

export interface L2ElectionInput {
  /** status.loadBalancer.ingress[0].ip: dual-stack services elect on their first IP. */
  ingressIp: string;
  externalTrafficPolicyLocal: boolean;
  /** The Service carries metallb.io/allow-shared-ip (any value). */
  sharesIp: boolean;
  serviceLabels: Record<string, string>;
  /** The L2Advertisements attached to the pool the IP belongs to. */
  advertisements: readonly L2Advertisement[];
  /** Every Node the speaker knows (labels and NetworkUnavailable). Members without a Node are not candidates. */
  nodes: readonly NodeFacts[];
  /** Nodes whose speaker is alive (membership), or all Ready nodes when membership is disabled. */
  aliveNodes: ReadonlySet<string>;
  endpoints: readonly EndpointFacts[];
  /** --ignore-exclude-lb: keep nodes labelled exclude-from-external-load-balancers. */
  ignoreExcludeLabel?: boolean;
}

/**
 * The node that announces `ingressIp`, or why nobody does. Candidates come out in election order
 * (summed preferred weight descending, then sha256(node + "#" + ip) ascending); the announcer is
 * the first.
 */
export function l2AnnouncerFor(input: L2ElectionInput): ElectionResult {
  const step = adsAndGlobalReason(input);
  if ('reason' in step) return { announcer: undefined, reason: step.reason };
  const ads = step.ads;
  if (!input.nodes.some((n) => ads.some((ad) => adSelectsNode(ad, n)))) {
    return { announcer: undefined, reason: 'noMatchingAdvertisement' };
  }

  // Local: only nodes hosting a serving endpoint (4.3 step 6).
  const withLocalEndpoint = input.externalTrafficPolicyLocal
    ? new Set(input.endpoints.filter((e) => e.serving && e.nodeName !== undefined).map((e) => e.nodeName as string))
    : undefined;

  const ip = canonicalIp(input.ingressIp) ?? input.ingressIp;
  const names: string[] = [];
  const weights: number[] = [];
  const seen = new Set<string>();
  for (const node of input.nodes) {
    if (seen.has(node.name)) continue; // one vote per name even if the caller lists a node twice
    seen.add(node.name);
    if (!input.aliveNodes.has(node.name)) continue;
    if (node.networkUnavailable) continue;
    if (!input.ignoreExcludeLabel && Object.prototype.hasOwnProperty.call(node.labels, EXCLUDE_LB_LABEL)) continue;
    if (withLocalEndpoint && !withLocalEndpoint.has(node.name)) continue;
    const selecting = ads.filter((ad) => adSelectsNode(ad, node));
    if (selecting.length === 0) continue;
    names.push(node.name);
    weights.push(preferredWeight(selecting, node));
  }
  if (names.length === 0) return { announcer: undefined, reason: 'notOwner' };
  const candidates = rankedCandidates(ip, names, weights);
  return { announcer: candidates[0] as string, candidates: [...candidates] };
}

/**
 * The election order of `names` for `ip`, memoised per IP: the order depends only on the IP and
 * the candidates with their weights, which stay the same from pass to pass while nothing moves;
 * without the memo a pass costs one sha256 per node per Service (1.3 s for 10,000 Services on 100
 * nodes, nearly all of it hashing). A memo entry is used only when the candidate list is equal
 * element by element, so it can never give another answer than computing afresh.
 */
function rankedCandidates(ip: string, names: readonly string[], weights: readonly number[]): readonly string[] {
  const memo = rankingMemo.get(ip);
  if (memo && sameList(memo.names, names) && sameList(memo.weights, weights)) return memo.ranked;
  const ranked = names
    .map((name, i) => ({ name, weight: weights[i] as number, hash: electionHash(name, ip) }))
    .sort((a, b) => b.weight - a.weight || Buffer.compare(a.hash, b.hash) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((r) => r.name);
  // Successive Services mostly have the same candidates: share one copy of the list.
  const shared = lastCandidates && sameList(lastCandidates.names, names) && sameList(lastCandidates.weights, weights) ? lastCandidates : { names: [...names], weights: [...weights] };
  lastCandidates = shared;
  if (rankingMemo.size >= RANKING_MEMO_LIMIT) rankingMemo.clear(); // IPs come and go: start over rather than grow
  rankingMemo.set(ip, { ...shared, ranked });
  return ranked;
}

const RANKING_MEMO_LIMIT = 100_000;
const rankingMemo = new Map<string, { names: readonly string[]; weights: readonly number[]; ranked: readonly string[] }>();
let lastCandidates: { names: readonly string[]; weights: readonly number[] } | undefined;

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * MetalLB's per-node answer (ShouldAnnounce): "" when `node` announces, otherwise the reason it
 * withdraws. Differs from the global result only in step 4: a node no advertisement covers says
 * noMatchingAdvertisement instead of notOwner.
 */
export function l2ShouldAnnounce(node: string, input: L2ElectionInput): '' | L2Reason {
  const step = adsAndGlobalReason(input);
  if ('reason' in step) return step.reason;
  const facts = input.nodes.find((n) => n.name === node) ?? { name: node, labels: {}, networkUnavailable: false };
  if (!step.ads.some((ad) => adSelectsNode(ad, facts))) return 'noMatchingAdvertisement';
  const result = l2AnnouncerFor(input);
  return result.announcer === node ? '' : 'notOwner';
}

/** sha256(nodeName + "#" + ip): the tie-break MetalLB has used since keying by IP (so shared IPs agree). */
export function electionHash(nodeName: string, ip: string): Buffer {
  // One-shot hash: ~1.6x faster than createHash().update().digest(), and a pass hashes every (node, IP).
  return hash('sha256', `${nodeName}#${ip}`, 'buffer');
}

// Steps 1-3 of 4.3, which do not depend on the node.
function adsAndGlobalReason(input: L2ElectionInput): { ads: L2Advertisement[] } | { reason: L2Reason } {
  // 1. No serving endpoint anywhere: nobody announces, whatever the traffic policy.
  if (!input.endpoints.some((e) => e.serving)) return { reason: 'notOwner' };
  // 2. Ads of the pool whose serviceSelectors admit the Service (empty = all).
  const ads = input.advertisements.filter((ad) => anySelectorMatches(ad.serviceSelectors, input.serviceLabels));
  // 3. A shared IP is never announced through ads with serviceSelectors: services sharing an IP
  //    could otherwise disagree on which ads apply.
  if (input.sharesIp && ads.some((ad) => ad.serviceSelectors.length > 0)) return { reason: 'sharedIPWithServiceSelector' };
  if (ads.length === 0) return { reason: 'noMatchingAdvertisement' };
  return { ads };
}

function adSelectsNode(ad: L2Advertisement, node: NodeFacts): boolean {
  return anySelectorMatches(ad.nodeSelectors, node.labels);
}

// preferredNodeSelectors weights of every ad that already selects the node, summed (spec 1.2:
// weights across ads add up; a preference never makes an unselected node eligible).
function preferredWeight(selecting: readonly L2Advertisement[], node: NodeFacts): number {
  let sum = 0;
  for (const ad of selecting) {
    for (const p of ad.preferredNodeSelectors) {
      if (selectorMatches(p.preference, node.labels)) sum += p.weight;
    }
  }
  return sum;
}
