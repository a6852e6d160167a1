// Pure: from the cluster snapshot, which IPs this node announces on layer 2, and why not for
// the others (MetalLB 4.1 per-service pipeline + 4.3 election). No I/O.
import type { Config, L2Advertisement, Pool } from '../config/model.js';
import { anySelectorMatches } from '../config/labelSelector.js';
import { cidrContains, parseIp } from '../net/address.js';
import type { ResolveWarning } from '../vlan/resolve.js';
import { l2AnnouncerFor, type EndpointFacts, type NodeFacts } from './election.js';

export interface ServiceSnapshot {
  readonly key: string; // ns/name
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ingressIps: readonly string[];
  readonly externalTrafficPolicyLocal: boolean;
  readonly sharesIp: boolean;
  readonly endpoints: readonly EndpointFacts[];
}

/** Kube-OVN underlay facts the election needs (src/speaker/underlay.ts builds them). */
export interface UnderlayFacts {
  /** The candidate underlay Subnet holding `ip`, and the node label that marks its provider network ready. */
  subnetOf(ip: string): { readonly subnet: string; readonly readyLabel: string } | undefined;
  /** This node's announce interface for the Subnet (its VLAN port), or why there is none. */
  interfaceFor(subnet: string):
    /** warnings: the interface answers, with caveats (LocalnetPortMissing, NoIPv6LinkLocal; spec 6.3). */
    | { readonly ok: true; readonly name: string; readonly warnings?: readonly ResolveWarning[] }
    | { readonly ok: false; readonly reason: string; readonly message: string };
}

export interface ClusterSnapshot {
  readonly config: Config;
  readonly services: readonly ServiceSnapshot[];
  readonly nodes: readonly NodeFacts[];
  readonly aliveNodes: ReadonlySet<string>;
  readonly ignoreExcludeLabel: boolean;
  /** Absent: no Kube-OVN underlay (MetalLB's behaviour for every Service). */
  readonly underlay?: UnderlayFacts;
}

/** Where to answer for one IP: every eligible interface, or the named ones only. */
export type InterfaceChoice = 'all' | readonly string[];

export interface ServiceDecision {
  readonly service: string;
  /** Set when this node announces the Service's IPs. */
  readonly announce?: { readonly ips: readonly string[]; readonly interfaces: InterfaceChoice };
  /** Why this node does not announce (MetalLB's reason strings), when it does not. */
  readonly reason?: string;
  readonly announcer?: string;
  /** Set for an IP in a Kube-OVN underlay Subnet. */
  readonly underlay?: {
    readonly subnet: string;
    /** The Service says Cluster; underlay VIPs are elected among endpoint nodes anyway (spec 6.3). */
    readonly clusterTreatedAsLocal: boolean;
    /** This node won but has no interface to answer on: nobody answers until it has one. */
    readonly interfaceProblem?: { readonly reason: string; readonly message: string };
  };
}

export interface NodeAnnouncements {
  /** IP -> interfaces; IPs shared by several Services appear once (union of interfaces). */
  readonly byIp: ReadonlyMap<string, InterfaceChoice>;
  readonly decisions: readonly ServiceDecision[];
}

export function poolOfIp(config: Config, ip: string): Pool | undefined {
  const parsed = parseIp(ip);
  if (!parsed) return undefined;
  for (const pool of config.pools.values()) {
    if (pool.cidrs.some((c) => cidrContains(c, parsed.family, parsed.value))) return pool;
  }
  return undefined;
}

export function announcementsFor(nodeName: string, snap: ClusterSnapshot): NodeAnnouncements {
  const byIp = new Map<string, InterfaceChoice>();
  const decisions: ServiceDecision[] = [];
  const self = snap.nodes.find((n) => n.name === nodeName);
  for (const svc of snap.services) {
    const decide = (d: Omit<ServiceDecision, 'service'>) => decisions.push({ service: svc.key, ...d });
    if (svc.ingressIps.length === 0) {
      decide({ reason: 'noIPAllocated' });
      continue;
    }
    if (svc.ingressIps.some((ip) => !parseIp(ip))) {
      decide({ reason: 'invalidIP' });
      continue;
    }
    const pool = poolOfIp(snap.config, svc.ingressIps[0]!);
    if (!pool || svc.ingressIps.some((ip) => poolOfIp(snap.config, ip)?.name !== pool.name)) {
      decide({ reason: 'ipNotAllowed' });
      continue;
    }
    const ads = snap.config.l2Advertisements.filter((a) => a.pools.includes(pool.name));
    // Underlay VIP: only nodes whose provider network is ready, and only nodes with a ready local
    // endpoint whatever the policy says (Kube-OVN installs the VIP flow only where the pod is).
    const underlay = snap.underlay?.subnetOf(svc.ingressIps[0]!);
    const underlayNote = underlay ? { subnet: underlay.subnet, clusterTreatedAsLocal: !svc.externalTrafficPolicyLocal } : undefined;
    const result = l2AnnouncerFor({
      ingressIp: svc.ingressIps[0]!,
      externalTrafficPolicyLocal: underlay ? true : svc.externalTrafficPolicyLocal,
      sharesIp: svc.sharesIp,
      serviceLabels: svc.labels,
      advertisements: ads,
      nodes: underlay ? snap.nodes.filter((n) => n.labels[underlay.readyLabel] === 'true') : snap.nodes,
      aliveNodes: snap.aliveNodes,
      endpoints: svc.endpoints,
      ignoreExcludeLabel: snap.ignoreExcludeLabel,
    });
    if (result.announcer !== nodeName) {
      decide({ reason: result.announcer ? 'notOwner' : result.reason, announcer: result.announcer, ...(underlayNote ? { underlay: underlayNote } : {}) });
      continue;
    }
    let interfaces: InterfaceChoice;
    if (underlay && snap.underlay) {
      // The VLAN port replaces the advertisement's interface list: ARP must leave on that VLAN.
      const itf = snap.underlay.interfaceFor(underlay.subnet);
      if (!itf.ok) {
        decide({ reason: 'noAnnounceInterface', announcer: nodeName, underlay: { ...underlayNote!, interfaceProblem: { reason: itf.reason, message: itf.message } } });
        continue;
      }
      interfaces = [itf.name];
    } else {
      interfaces = interfacesOf(self ? adsCoveringNode(ads, svc.labels, self.labels) : []);
    }
    for (const ip of svc.ingressIps) byIp.set(ip, mergeInterfaces(byIp.get(ip), interfaces));
    decide({ announce: { ips: svc.ingressIps, interfaces }, announcer: nodeName, ...(underlayNote ? { underlay: underlayNote } : {}) });
  }
  return { byIp, decisions };
}

function adsCoveringNode(ads: readonly L2Advertisement[], serviceLabels: Readonly<Record<string, string>>, nodeLabels: Readonly<Record<string, string>>): L2Advertisement[] {
  return ads.filter((a) => anySelectorMatches(a.nodeSelectors, nodeLabels) && anySelectorMatches(a.serviceSelectors, serviceLabels));
}

/** MetalLB: all interfaces if any covering ad leaves `interfaces` empty, else the union. */
function interfacesOf(ads: readonly L2Advertisement[]): InterfaceChoice {
  if (ads.length === 0 || ads.some((a) => a.interfaces.length === 0)) return 'all';
  return [...new Set(ads.flatMap((a) => a.interfaces))].sort();
}

function mergeInterfaces(a: InterfaceChoice | undefined, b: InterfaceChoice): InterfaceChoice {
  if (a === undefined) return b;
  if (a === 'all' || b === 'all') return 'all';
  return [...new Set([...a, ...b])].sort();
}
