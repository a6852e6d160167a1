// Pure: which BGP sessions this node holds, which routes it sends on each, and why a Service is
// not advertised from here (MetalLB 4.1 per-service pipeline + 4.9 bgpController.ShouldAnnounce).
// No I/O. memberlist plays no part: in BGP mode every eligible node advertises.
import { anySelectorMatches } from '../config/labelSelector.js';
import type { BGPAdvertisement, BGPPeer, Community, Config, Pool } from '../config/model.js';
import { cidrOf, familyBits, formatCidr, parseCidr, parseIp, type Family } from '../net/address.js';
import { poolOfIp, type ServiceSnapshot } from './announcements.js';
import type { Prefix } from './bgp/codec/nlri.js';
import type { AdvertisedRoute, DesiredRib } from './bgp/ribOut.js';
import { EXCLUDE_LB_LABEL, type NodeFacts } from './election.js';

export interface BgpClusterSnapshot {
  readonly config: Config;
  readonly services: readonly ServiceSnapshot[];
  readonly nodes: readonly NodeFacts[];
  /** --ignore-exclude-lb: advertise from nodes labelled exclude-from-external-load-balancers too. */
  readonly ignoreExcludeLabel: boolean;
}

/** Reasons of the per-service pipeline (4.1): the Service is withdrawn in every protocol. */
export type ServicePipelineReason = 'noIPAllocated' | 'invalidIP' | 'ipNotAllowed';

/** MetalLB's BGP withdraw reasons, in the order they are checked (4.9). */
export const BGP_REASONS = [
  'notOwner',
  'noMatchingAdvertisement',
  'conflictingAdvertisements',
  'nodeNetworkUnavailable',
  'nodeLabeledExcludeBalancers',
  'noLocalEndpoints',
  'noEndpoints',
] as const;
export type BgpReason = (typeof BGP_REASONS)[number];

export interface BgpServiceDecision {
  /** ns/name. */
  readonly service: string;
  /**
   * The Service's pool has at least one BGPAdvertisement (on any node). False = not a BGP Service at
   * all (pipeline failure, or a layer-2-only pool): its `reason` is informational and no
   * ServiceBGPStatus belongs to it. True with a `reason` = a BGP Service withdrawn from this node.
   */
  readonly bgp: boolean;
  /** The pool holding the Service's IPs, once the pipeline found one. */
  readonly pool?: string;
  /** Set when this node advertises the Service. */
  readonly advertise?: {
    /** Every prefix the matching advertisements make of the Service's IPs, sorted, whether or not a session carries it. */
    readonly prefixes: readonly Prefix[];
    /** Sorted names of this node's peers whose session carries a prefix of the Service (ServiceBGPStatus.status.peers). */
    readonly peers: readonly string[];
  };
  /** Why this node does not advertise, when it does not. */
  readonly reason?: ServicePipelineReason | BgpReason;
}

export interface NodeBgpAnnouncements {
  /** BGPPeers whose nodeSelectors match this node (the sessions it must hold), sorted by name. */
  readonly peers: readonly BGPPeer[];
  /** Peer name -> desired routes, one entry per selected peer (an empty map when nothing goes to it). */
  readonly ribByPeer: ReadonlyMap<string, DesiredRib>;
  /** One per Service, sorted by Service key. */
  readonly decisions: readonly BgpServiceDecision[];
}

/**
 * The per-service pipeline of 4.1, shared by both protocols: no ingress IP, an unparsable one, or
 * IPs outside every pool (or spread over several pools) withdraw the Service everywhere.
 */
export function poolOfService(config: Config, svc: ServiceSnapshot): { pool: Pool } | { reason: ServicePipelineReason } {
  if (svc.ingressIps.length === 0) return { reason: 'noIPAllocated' };
  if (svc.ingressIps.some((ip) => !parseIp(ip))) return { reason: 'invalidIP' };
  const pool = poolOfIp(config, svc.ingressIps[0]!);
  if (!pool || svc.ingressIps.some((ip) => poolOfIp(config, ip)?.name !== pool.name)) return { reason: 'ipNotAllowed' };
  return { pool };
}

/**
 * `ip` masked to the advertisement's aggregation length for its family, as canonical CIDR text.
 * Throws when the length does not fit the family (the config parser rejects such advertisements).
 */
export function advertisedPrefix(ip: string, ad: BGPAdvertisement): Prefix {
  const parsed = parseIp(ip);
  if (!parsed) throw new RangeError(`advertisedPrefix: "${ip}" is not an IP address`);
  const field = parsed.family === 4 ? 'aggregationLength' : 'aggregationLengthV6';
  const length = ad[field];
  if (!Number.isInteger(length) || length < 0 || length > familyBits(parsed.family)) {
    throw new RangeError(`BGPAdvertisement "${ad.name}": spec.${field} ${length} is not a valid IPv${parsed.family} prefix length; use 0-${familyBits(parsed.family)}`);
  }
  return formatCidr(cidrOf(parsed.family, parsed.value, length));
}

/**
 * What node `nodeName` advertises over BGP. Deterministic and independent of the order of services,
 * advertisements, peers and nodes in the snapshot.
 *
 * Merging: when several advertisements (of one Service or of several Services) put the same prefix on
 * the same session, the route carries the union of their communities (what FRR-mode MetalLB sends:
 * one additive route-map entry per community) and the highest LOCAL_PREF among them (a set value
 * beats an unset one). Within one Service, differing LOCAL_PREFs for one prefix and overlapping peers
 * withdraw the Service (`conflictingAdvertisements`); across Services the parser's per-pool rule
 * leaves only rare cases (shared IPs, pools sharing an aggregate), and MetalLB native mode resolves
 * those by whichever Service was processed last, which is order-dependent, hence "highest wins".
 */
export function bgpAnnouncementsFor(nodeName: string, snap: BgpClusterSnapshot): NodeBgpAnnouncements {
  const { config } = snap;
  // Nodes are keyed by name; the first entry wins if the caller lists a name twice.
  const self = snap.nodes.find((n) => n.name === nodeName);
  const peers = self ? config.peers.filter((p) => anySelectorMatches(p.nodeSelectors, self.labels)).sort(byName) : [];
  const routesByPeer = new Map<string, Map<Prefix, RouteBuilder>>(peers.map((p) => [p.name, new Map()]));
  // MetalLB's speaker drops ads whose nodeSelectors do not match its node (4.8); an unknown node has no labels to match.
  const adsOfNode = self ? config.bgpAdvertisements.filter((a) => anySelectorMatches(a.nodeSelectors, self.labels)) : [];

  const decisions: BgpServiceDecision[] = [];
  for (const svc of snap.services) {
    const found = poolOfService(config, svc);
    if ('reason' in found) {
      decisions.push({ service: svc.key, bgp: false, reason: found.reason });
      continue;
    }
    const pool = found.pool.name;
    const bgp = config.bgpAdvertisements.some((a) => a.pools.includes(pool));
    const decide = (reason: BgpReason) => decisions.push({ service: svc.key, bgp, pool, reason });

    const poolAds = adsOfNode.filter((a) => a.pools.includes(pool));
    if (poolAds.length === 0) {
      decide('notOwner');
      continue;
    }
    const ads = poolAds.filter((a) => anySelectorMatches(a.serviceSelectors, svc.labels)).sort(byName);
    if (ads.length === 0) {
      decide('noMatchingAdvertisement');
      continue;
    }
    // One route per (IP, ad), computed once: the conflict check and the RIB use the same list.
    const routes = svc.ingressIps.flatMap((ip) => ads.map((ad) => ({ ad, prefix: advertisedPrefix(ip, ad) })));
    if (hasLocalPrefConflict(routes)) {
      decide('conflictingAdvertisements');
      continue;
    }
    const node = self as NodeFacts; // adsOfNode is empty without it, so notOwner was returned above
    if (node.networkUnavailable) {
      decide('nodeNetworkUnavailable');
      continue;
    }
    if (!snap.ignoreExcludeLabel && Object.prototype.hasOwnProperty.call(node.labels, EXCLUDE_LB_LABEL)) {
      decide('nodeLabeledExcludeBalancers');
      continue;
    }
    // ETP Local: only nodes with a local serving endpoint advertise; Cluster: all while any backend serves.
    if (svc.externalTrafficPolicyLocal && !svc.endpoints.some((e) => e.serving && e.nodeName === nodeName)) {
      decide('noLocalEndpoints');
      continue;
    }
    if (!svc.endpoints.some((e) => e.serving)) {
      decide('noEndpoints');
      continue;
    }

    const carriedBy = new Set<string>();
    for (const { ad, prefix } of routes) {
      for (const peer of peers) {
        if (ad.peers.length > 0 && !ad.peers.includes(peer.name)) continue;
        carriedBy.add(peer.name);
        const rib = routesByPeer.get(peer.name)!;
        let route = rib.get(prefix);
        if (!route) rib.set(prefix, (route = { communities: new Map() }));
        addAdvertisement(route, ad);
      }
    }
    decisions.push({
      service: svc.key,
      bgp,
      pool,
      advertise: { prefixes: sortPrefixes(new Set(routes.map((r) => r.prefix))), peers: [...carriedBy].sort() },
    });
  }

  const ribByPeer = new Map<string, DesiredRib>();
  for (const peer of peers) {
    const built = routesByPeer.get(peer.name)!;
    ribByPeer.set(peer.name, new Map(sortPrefixes(built.keys()).map((p) => [p, finishRoute(built.get(p)!)])));
  }
  decisions.sort((a, b) => compareText(a.service, b.service));
  return { peers, ribByPeer, decisions };
}

/**
 * 4.9 per-service LOCAL_PREF check (MetalLB does it at announce time because serviceSelectors make it
 * impossible at parse time): two matching ads conflict when they make the same prefix of one of the
 * Service's IPs with different LOCAL_PREF (unset = 0) and their peer lists overlap (empty = all peers;
 * like the parser's rule, names count, not the sessions of this node). Node sets always overlap here:
 * every matching ad covers this node.
 */
function hasLocalPrefConflict(routes: readonly { ad: BGPAdvertisement; prefix: Prefix }[]): boolean {
  for (let j = 1; j < routes.length; j++) {
    const b = routes[j]!;
    for (let i = 0; i < j; i++) {
      const a = routes[i]!;
      if (a.prefix !== b.prefix || (a.ad.localPref ?? 0) === (b.ad.localPref ?? 0)) continue;
      if (a.ad.peers.length > 0 && b.ad.peers.length > 0 && !a.ad.peers.some((p) => b.ad.peers.includes(p))) continue;
      return true;
    }
  }
  return false;
}

interface RouteBuilder {
  localPref?: number;
  readonly communities: Map<string, Community>;
}

function addAdvertisement(route: RouteBuilder, ad: BGPAdvertisement): void {
  if (ad.localPref !== undefined && (route.localPref === undefined || ad.localPref > route.localPref)) route.localPref = ad.localPref;
  for (const c of ad.communities) route.communities.set(communityKey(c), c);
}

function finishRoute(route: RouteBuilder): AdvertisedRoute {
  const communities = [...route.communities.values()].sort(compareCommunities);
  return route.localPref === undefined ? { communities } : { localPref: route.localPref, communities };
}

function communityKey(c: Community): string {
  return c.kind === 'standard' ? `s${c.value}` : `l${c.global}:${c.local1}:${c.local2}`;
}

/** Standard communities first (by value), then large ones (by global, local1, local2). */
function compareCommunities(a: Community, b: Community): number {
  if (a.kind === 'standard') return b.kind === 'standard' ? a.value - b.value : -1;
  if (b.kind === 'standard') return 1;
  return a.global - b.global || a.local1 - b.local1 || a.local2 - b.local2;
}

/** IPv4 before IPv6, then by network address, then shorter prefix first. */
function sortPrefixes(prefixes: Iterable<Prefix>): Prefix[] {
  const keyed = [...prefixes].map((p) => {
    const c = parseCidr(p)!;
    return { p, family: c.family as Family, first: c.first, length: c.prefix };
  });
  keyed.sort((a, b) => a.family - b.family || (a.first < b.first ? -1 : a.first > b.first ? 1 : 0) || a.length - b.length);
  return keyed.map((k) => k.p);
}

function byName(a: { name: string }, b: { name: string }): number {
  return compareText(a.name, b.name);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
