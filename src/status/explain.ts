// Pure: why a Service has (or has not) got an external IP, and who announces it, from what the
// API server holds (Services, Events, metallb.io objects, EndpointSlices, Nodes). `ironlb status`
// collects the inputs (collect.ts) and prints this.
import type { Config } from '../config/model.js';
import { anySelectorMatches } from '../config/labelSelector.js';
import { poolOfIp } from '../speaker/announcements.js';
import { EXCLUDE_LB_LABEL, type EndpointFacts, type NodeFacts } from '../speaker/election.js';

export interface ServiceInput {
  readonly key: string; // ns/name
  readonly type: string;
  readonly loadBalancerClass?: string;
  readonly ingressIps: readonly string[];
  readonly externalTrafficPolicyLocal: boolean;
  readonly labels: Readonly<Record<string, string>>;
  /** metallb.io/ip-allocated-from-pool */
  readonly allocatedFromPool?: string;
}

export interface EventInput {
  /** ns/name of the Service it is about. */
  readonly service: string;
  readonly type: 'Normal' | 'Warning' | string;
  readonly reason: string;
  readonly message: string;
  /** ms since the epoch (eventTime or last series time). */
  readonly at: number;
}

export interface AnnouncerInput {
  readonly service: string;
  readonly node: string;
  readonly protocol: 'layer2' | 'bgp';
  readonly interfaces?: readonly string[];
  readonly peers?: readonly string[];
}

export interface PoolCondition {
  readonly pool: string;
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
}

export interface StatusInputs {
  readonly services: readonly ServiceInput[];
  readonly events: readonly EventInput[];
  /** The parsed configuration, or why it could not be parsed. */
  readonly config: { readonly ok: true; readonly config: Config } | { readonly ok: false; readonly errors: readonly string[] };
  readonly controllerState?: { readonly result: string; readonly errorSummary?: string };
  readonly poolConditions: readonly PoolCondition[];
  /** Free addresses per pool from its status (the controller writes availableIPv4/availableIPv6). */
  readonly poolAvailable?: ReadonlyMap<string, number>;
  readonly announcers: readonly AnnouncerInput[];
  readonly endpoints: ReadonlyMap<string, readonly EndpointFacts[]>;
  readonly nodes: readonly (NodeFacts & { readonly ready: boolean })[];
  /** The controller's --lb-class, if any. */
  readonly lbClass?: string;
}

export type ServiceState = 'ok' | 'problem' | 'pending' | 'ignored';

export interface ServiceReport {
  readonly service: string;
  readonly state: ServiceState;
  readonly ips: readonly string[];
  readonly pool?: string;
  readonly announcers: readonly { readonly node: string; readonly protocol: 'layer2' | 'bgp'; readonly interfaces?: readonly string[]; readonly peers?: readonly string[] }[];
  /** Plain words: what is wrong (or notable) and what to do. */
  readonly reason?: string;
  /** The controller's or speaker's own message behind the reason. */
  readonly detail?: string;
}

const ALLOCATION_REASONS = new Set(['AllocationFailed', 'LoadBalancerFailed', 'AdditionalAssignFailed']);

/** Plain words for the allocator's messages (src/allocator/allocator.ts). */
export function classifyAllocationError(message: string): string {
  if (/no IPAddressPool with autoAssign that admits/.test(message)) return 'no pool matches: no IPAddressPool with autoAssign admits this Service (namespace/service selectors), or all of them are full';
  if (/no available IPs in pool/.test(message)) return 'pool exhausted: every address of the pool is in use; add addresses or free one';
  if (/is not allowed in config/.test(message)) return 'the requested IP is not in any IPAddressPool (or not in the requested pool)';
  if (/does not exist|unknown pool|no such pool/i.test(message)) return 'the requested IPAddressPool does not exist';
  if (/already in use|sharing key|allow-shared-ip/.test(message)) return 'sharing conflict: the IP is used by another Service that cannot share it (allow-shared-ip keys, ports or backends differ)';
  if (/invalid requested loadbalancer IPs/.test(message)) return 'the requested IPs in the Service are invalid';
  return 'the controller could not allocate an IP';
}

export function explainServices(inputs: StatusInputs): ServiceReport[] {
  const latestWarning = new Map<string, EventInput>();
  for (const e of inputs.events) {
    if (e.type !== 'Warning' || !ALLOCATION_REASONS.has(e.reason)) continue;
    const prev = latestWarning.get(e.service);
    if (!prev || e.at >= prev.at) latestWarning.set(e.service, e);
  }
  const announcersOf = new Map<string, AnnouncerInput[]>();
  for (const a of inputs.announcers) announcersOf.set(a.service, [...(announcersOf.get(a.service) ?? []), a]);
  return inputs.services
    .filter((s) => s.type === 'LoadBalancer')
    .map((s) => explainOne(s, inputs, latestWarning.get(s.key), announcersOf.get(s.key) ?? []))
    .sort((a, b) => a.service.localeCompare(b.service));
}

function explainOne(svc: ServiceInput, inputs: StatusInputs, warning: EventInput | undefined, found: readonly AnnouncerInput[]): ServiceReport {
  const announcers = found
    .map((a) => ({ node: a.node, protocol: a.protocol, ...(a.interfaces?.length ? { interfaces: a.interfaces } : {}), ...(a.peers ? { peers: a.peers } : {}) }))
    .sort((a, b) => a.protocol.localeCompare(b.protocol) || a.node.localeCompare(b.node));
  const base = { service: svc.key, ips: svc.ingressIps, announcers, ...(svc.allocatedFromPool ? { pool: svc.allocatedFromPool } : {}) };
  if ((svc.loadBalancerClass ?? '') !== (inputs.lbClass ?? '')) {
    const theirs = svc.loadBalancerClass ? `spec.loadBalancerClass is "${svc.loadBalancerClass}"` : 'the Service has no spec.loadBalancerClass';
    const ours = inputs.lbClass ? `ironlb runs with --lb-class ${inputs.lbClass}` : 'ironlb handles only Services without a class';
    return { ...base, state: 'ignored', reason: `not handled by ironlb: ${theirs}, ${ours}` };
  }
  const config = inputs.config.ok ? inputs.config.config : undefined;

  if (svc.ingressIps.length === 0) {
    if (inputs.controllerState?.result === 'Invalid') {
      return { ...base, state: 'problem', reason: 'the configuration is invalid, so the controller keeps the last valid one; fix the objects named below', ...(inputs.controllerState.errorSummary ? { detail: inputs.controllerState.errorSummary } : {}) };
    }
    if (warning) {
      const underlay = underlayProblems(inputs.poolConditions);
      return { ...base, state: 'problem', reason: autoAssignReason(warning.message, config, inputs.poolAvailable) ?? classifyAllocationError(warning.message) + (underlay ? `; ${underlay}` : ''), detail: warning.message };
    }
    if (config && config.pools.size === 0) return { ...base, state: 'problem', reason: 'no IPAddressPool exists: create one (see docs/configuration.md)' };
    return { ...base, state: 'pending', reason: 'no IP yet and no error from the controller: is the ironlb controller running?' };
  }

  const pool = config ? poolOfIp(config, svc.ingressIps[0]!) : undefined;
  const withPool = { ...base, ...(pool && !base.pool ? { pool: pool.name } : {}) };
  if (config && !pool) return { ...withPool, state: 'problem', reason: `${svc.ingressIps.join(', ')} is in no IPAddressPool: no speaker announces it (was its pool removed or changed?)` };

  const l2 = announcers.filter((a) => a.protocol === 'layer2');
  if (l2.length > 1) return { ...withPool, state: 'problem', reason: `${l2.length} nodes announce it on layer 2 (${l2.map((a) => a.node).join(', ')}): their speakers disagree on who is alive; check the speakers' gossip (port 7946, memberlist Secret)` };
  if (announcers.length > 0) return { ...withPool, state: 'ok' };

  const endpoints = inputs.endpoints.get(svc.key) ?? [];
  if (!endpoints.some((e) => e.serving)) return { ...withPool, state: 'problem', reason: 'no ready endpoint: no ready pod backs this Service, so no node announces its IP' };
  if (!config || !pool) return { ...withPool, state: 'pending', reason: 'not announced yet' };
  const l2Ads = config.l2Advertisements.filter((a) => a.pools.includes(pool.name));
  const bgpAds = config.bgpAdvertisements.filter((a) => a.pools.includes(pool.name));
  if (l2Ads.length === 0 && bgpAds.length === 0) {
    return { ...withPool, state: 'problem', reason: `pool "${pool.name}" has no L2Advertisement or BGPAdvertisement: nothing announces its IPs; create one that selects the pool` };
  }
  const eligible = inputs.nodes.filter((n) => n.ready && !n.networkUnavailable && n.labels[EXCLUDE_LB_LABEL] === undefined
    && [...l2Ads, ...bgpAds].some((a) => anySelectorMatches(a.nodeSelectors, n.labels) && anySelectorMatches(a.serviceSelectors, svc.labels)));
  if (eligible.length === 0) {
    return { ...withPool, state: 'problem', reason: 'no eligible node: no Ready node without NetworkUnavailable or the exclude-from-external-load-balancers label matches the advertisements\' nodeSelectors/serviceSelectors' };
  }
  if (svc.externalTrafficPolicyLocal) {
    const local = new Set(endpoints.filter((e) => e.serving && e.nodeName).map((e) => e.nodeName));
    if (!eligible.some((n) => local.has(n.name))) {
      return { ...withPool, state: 'problem', reason: `externalTrafficPolicy Local: the ready pods run on ${[...local].join(', ') || 'no node'}, none of which is eligible to announce (${eligible.map((n) => n.name).join(', ')})` };
    }
  }
  if (l2Ads.length === 0 && bgpAds.length > 0) {
    return { ...withPool, state: 'problem', reason: 'BGP: no speaker reports a session carrying it: check that a BGPPeer selects the eligible nodes and that the sessions are up (metallb_bgp_session_up)' };
  }
  return { ...withPool, state: 'problem', reason: 'eligible nodes exist but no speaker announces it: are the speakers running on them?' };
}

/** The allocator's auto-assign failure covers "all full" and "none admits it": tell them apart by the pools' free counts. */
function autoAssignReason(message: string, config: Config | undefined, available: ReadonlyMap<string, number> | undefined): string | undefined {
  if (!config || !/no IPAddressPool with autoAssign that admits/.test(message)) return undefined;
  const auto = [...config.pools.values()].filter((p) => p.autoAssign);
  if (auto.length === 0) return 'no pool matches: no IPAddressPool has autoAssign enabled; request a pool with the metallb.io/address-pool annotation or enable autoAssign';
  if (available && auto.every((p) => available.get(p.name) === 0)) {
    return `pool exhausted: every autoAssign pool (${auto.map((p) => p.name).join(', ')}) is full; add addresses or free one`;
  }
  return undefined;
}

function underlayProblems(conditions: readonly PoolCondition[]): string {
  const bad = conditions.filter((c) => c.type === 'UnderlayValid' && c.status === 'False');
  return bad.map((c) => `pool "${c.pool}" breaks a Kube-OVN rule (${c.reason ?? 'UnderlayValid=False'}): ${c.message ?? ''}`.trim()).join('; ');
}
