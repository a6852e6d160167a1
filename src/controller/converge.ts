// The controller's decision for one Service (MetalLB `convergeBalancer`, spec §3.3): given the
// Service object and the allocator, decide the ingress IPs, the ip-allocated-from-pool annotation
// and the events. The allocator is updated as a side effect (it is the in-memory state); nothing
// here talks to the API server — the caller writes the outcome if it differs from the object.
import type { V1Service } from '@kubernetes/client-node';
import type { Allocator } from '../allocator/allocator.js';
import type { AllocationResult, ServiceFacts } from '../allocator/types.js';
import { canonicalIp as canonicalText } from '../net/address.js';
import {
  ANNOTATION_ALLOCATED_FROM_POOL,
  LEGACY_ANNOTATION_ALLOCATED_FROM_POOL,
  currentSpellingOf,
  legacyPrefixedKeys,
  readAnnotation,
} from './annotations.js';
import {
  ingressIpsOf,
  ipFamilyPolicyOf,
  ipListFamily,
  quoteList,
  readClusterIps,
  requestedIps,
  serviceFacts,
  serviceKey,
  stackFamilyName,
  type StackFamily,
} from './serviceFacts.js';

export interface ConvergeContext {
  allocator: Allocator;
  /** false when the config has no IPAddressPool at all: every Service loses its IPs (MetalLB). */
  poolsConfigured: boolean;
  /** Labels of the Service's Namespace (for serviceAllocation.namespaceSelectors). */
  namespaceLabels: Record<string, string>;
}

export interface ServiceEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface ConvergeOutcome {
  /** desired status.loadBalancer.ingress IPs (hostname entries of the current status are ignored/dropped) */
  ingressIps: string[];
  /** desired metallb.io/ip-allocated-from-pool value; undefined = annotation must be absent */
  allocatedFromPool?: string;
  events: ServiceEvent[];
  /** true when an IP was released or the allocation key changed: the caller must reprocess all services (3.4) */
  reprocessAll: boolean;
  /**
   * Why the Service has no (or not the wanted) IP, for the log; undefined when converged.
   * MetalLB returns an error (no retry) in these cases; a later event or full pass retries.
   */
  failure?: string;
}

/** Event reasons, as MetalLB spells them (clients and alerts match on them). */
export const EVENT_REASONS = {
  ipAllocated: 'IPAllocated',
  allocationFailed: 'AllocationFailed',
  clearAssignment: 'ClearAssignment',
  loadBalancerFailed: 'LoadBalancerFailed',
  additionalAssignFailed: 'AdditionalAssignFailed',
  deprecatedAnnotation: 'deprecatedAnnotation',
  notEnoughClusterIps: 'not enough clusterips',
  noLbIpsFamily: 'nolbIPsIPFamily',
  noClusterIpsFamily: 'noclusterIPsIPFamily',
  internalError: 'InternalError',
} as const;

const normal = (reason: string, message: string): ServiceEvent => ({ type: 'Normal', reason, message });
const warning = (reason: string, message: string): ServiceEvent => ({ type: 'Warning', reason, message });

/** What convergence decided before the bookkeeping common to every path. */
interface Decision {
  ips: string[];
  events: ServiceEvent[];
  failure?: string;
  /** Leave status and annotation exactly as they are on the object (MetalLB's early error returns). */
  keepObject?: boolean;
}

/**
 * Converges one Service (spec §3.3 steps 1–8). Updates the allocator and returns what the
 * Service's status and annotation should be, the events to record, and whether every Service
 * must be reprocessed.
 */
export function convergeService(svc: V1Service, ctx: ConvergeContext): ConvergeOutcome {
  const { allocator } = ctx;
  const key = serviceKey(svc);
  const before = allocator.allocationOf(key);
  const beforeKey = allocationKeys(allocator).get(key);

  const decision = decide(svc, key, ctx);

  let ingressIps = decision.ips;
  let allocatedFromPool: string | undefined;
  const events = decision.events;
  let failure = decision.failure;
  if (decision.keepObject) {
    ingressIps = ingressIpsOf(svc);
    allocatedFromPool = svc.metadata?.annotations?.[ANNOTATION_ALLOCATED_FROM_POOL];
  } else if (ingressIps.length > 0) {
    allocatedFromPool = allocator.allocationOf(key)?.pool;
    if (allocatedFromPool === undefined) {
      // Cannot happen if the allocator keeps its word; never publish an IP nobody owns.
      allocator.unassign(key);
      events.push(warning(EVENT_REASONS.internalError, `allocated ${quoteList(ingressIps)} for "${key}" but the allocator holds no pool for it; please report this bug`));
      failure = 'internal error: allocation without pool';
      ingressIps = [];
    }
  }

  const after = allocator.allocationOf(key);
  const afterKey = after ? allocationKeyOf(serviceFacts(svc, ctx.namespaceLabels)) : undefined;
  rememberAllocationKey(allocator, key, afterKey);

  // MetalLB §3.4: a released IP (still inside some pool) may let a pending Service in; so may a
  // changed sharing/backend key. Either way every Service is converged again.
  const released = (before?.ips ?? []).filter((ip) => !(after?.ips ?? []).includes(ip));
  const releasedUsable = released.some((ip) => allocator.poolOwning([ip]) !== undefined);
  const keyChanged = before !== undefined && after !== undefined && beforeKey !== undefined && beforeKey !== afterKey;

  const outcome: ConvergeOutcome = { ingressIps, allocatedFromPool, events, reprocessAll: releasedUsable || keyChanged };
  if (failure !== undefined) outcome.failure = failure;

  // MetalLB warns about legacy-prefixed annotations only when it writes the Service, so that a
  // steady Service does not produce an event on every pass.
  const write = serviceNeedsWrite(svc, outcome);
  if (write.status || write.annotations) {
    for (const legacy of legacyPrefixedKeys(svc.metadata?.annotations)) {
      events.push(
        warning(EVENT_REASONS.deprecatedAnnotation, `Service uses deprecated annotation ${legacy}; rename it to ${currentSpellingOf(legacy)}`),
      );
    }
  }
  return outcome;
}

function decide(svc: V1Service, key: string, ctx: ConvergeContext): Decision {
  const { allocator } = ctx;
  const events: ServiceEvent[] = [];
  let ips: string[] = [];
  const clear = (): void => {
    allocator.unassign(key);
    ips = [];
  };

  // 1. Not a LoadBalancer (any more): drop everything MetalLB manages, silently.
  if (svc.spec?.type !== 'LoadBalancer') {
    clear();
    return { ips, events };
  }

  // 2. No pools at all: every Service loses its IP (MetalLB clears, it does not keep stale IPs).
  if (!ctx.poolsConfigured) {
    clear();
    return { ips, events, failure: 'no IPAddressPool is configured; create one in the MetalLB namespace' };
  }

  // 3. The service family comes from the cluster IPs; without one nothing can be allocated.
  const cluster = readClusterIps(svc);
  if (cluster.kind === 'none') {
    clear();
    return { ips, events, failure: `"${key}" has no cluster IP (spec.clusterIPs is empty or None), so its IP family is unknown` };
  }
  const policy = ipFamilyPolicyOf(svc);
  if (policy === 'RequireDualStack' && cluster.ips.length < 2) {
    events.push(
      warning(
        EVENT_REASONS.notEnoughClusterIps,
        `Service requires dual stack but not enough clusterips ${quoteList(cluster.ips)}: spec.ipFamilyPolicy RequireDualStack needs an IPv4 and an IPv6 cluster IP; use PreferDualStack or SingleStack, or enable dual-stack in the cluster`,
      ),
    );
    clear();
    return { ips, events, failure: 'RequireDualStack with fewer than 2 cluster IPs' };
  }

  // 4. Current IPs from status; a family that no longer fits the service is dropped.
  const current = ingressIpsOf(svc);
  if (current.length === 0) {
    clear();
  } else {
    const lbFamily = ipListFamily(current);
    if (!lbFamily.ok) {
      events.push(
        warning(
          EVENT_REASONS.noLbIpsFamily,
          `Failed to retrieve LBIPs IPFamily for ${quoteList(current)}: ${lbFamily.error}; status.loadBalancer.ingress must hold one IP or two of different families, so it will be replaced`,
        ),
      );
    }
    if (cluster.kind === 'invalid') {
      // MetalLB stops here without touching the Service.
      events.push(warning(EVENT_REASONS.noClusterIpsFamily, `Failed to retrieve ClusterIPs IPFamily: ${cluster.error}`));
      return { ips, events, failure: cluster.error, keepObject: true };
    }
    if (lbFamily.ok && !familyChanged(lbFamily.family, cluster.family, policy)) {
      ips = current.map(canonicalIp);
    } else {
      clear();
    }
  }

  const facts = serviceFacts(svc, ctx.namespaceLabels);
  const wantedPool = readAnnotation(svc.metadata?.annotations, 'addressPool').value ?? '';

  // 5. Re-validate the current IPs (this is how a restarted controller rebuilds its state), then
  //    drop them if the user now wants another pool or other IPs.
  if (ips.length > 0) {
    const reassigned = allocator.assign(facts, ips);
    if (!reassigned.ok) {
      events.push(
        normal(
          EVENT_REASONS.clearAssignment,
          `current IP for "${key}" not allowed by config, will attempt for new IP assignment: ${reassigned.error}`,
        ),
      );
      clear();
    }
    if (ips.length > 0 && wantedPool !== '' && allocator.allocationOf(key)?.pool !== wantedPool) clear();
    const requested = requestedIps(svc);
    if (!requested.ok) {
      events.push(warning(EVENT_REASONS.loadBalancerFailed, `invalid requested loadbalancer IPs: ${requested.error}`));
      return { ips, events, failure: requested.error };
    }
    // The old IP is released before the new one is tried: an infeasible request leaves no IP.
    if (requested.ips.length > 0 && !sameIpSet(ips, requested.ips)) clear();
  }

  // 6. PreferDualStack holding one family: try to add the other one from the same pool.
  if (ips.length === 1 && policy === 'PreferDualStack' && cluster.kind === 'ok' && cluster.family === 'dual') {
    const added = allocator.allocateAdditionalFamily(facts);
    if (added.ok) {
      const extra = added.ips.find((ip) => ip !== ips[0]) ?? '';
      ips = [...added.ips];
      events.push(normal(EVENT_REASONS.ipAllocated, `Assigned additional IP ${JSON.stringify(extra)}`));
    } else {
      events.push(normal(EVENT_REASONS.additionalAssignFailed, `cannot assign additional IP in PreferDualStack: ${added.error}`));
    }
  }

  // 7. No IP: requested IPs, else the requested pool, else any eligible pool.
  if (ips.length === 0) {
    const allocated = allocateFresh(svc, key, facts, cluster, wantedPool, allocator);
    if (!allocated.ok) {
      events.push(warning(EVENT_REASONS.allocationFailed, `Failed to allocate IP for "${key}": ${allocated.error}`));
      return { ips: [], events, failure: allocated.error };
    }
    ips = [...allocated.ips];
    events.push(normal(EVENT_REASONS.ipAllocated, `Assigned IP ${quoteList(ips)}`));
  }

  // 8. The caller writes status and annotation from the outcome.
  return { ips, events };
}

/**
 * True when the IPs in status no longer fit the service's family. PreferDualStack with dual
 * cluster IPs may hold a single IP (of either family).
 */
function familyChanged(lb: StackFamily, cluster: StackFamily, policy: string): boolean {
  if (lb === cluster) return false;
  return !(cluster === 'dual' && policy === 'PreferDualStack');
}

function allocateFresh(
  svc: V1Service,
  key: string,
  facts: ServiceFacts,
  cluster: ReturnType<typeof readClusterIps>,
  wantedPool: string,
  allocator: Allocator,
): AllocationResult {
  if (cluster.kind !== 'ok') return { ok: false, error: cluster.kind === 'invalid' ? cluster.error : 'no cluster IP' };
  const requested = requestedIps(svc);
  if (!requested.ok) return requested;
  if (requested.ips.length > 0) {
    if (requested.family !== cluster.family) {
      return {
        ok: false,
        error: `requested loadBalancer IP(s) ${quoteList(requested.ips)} does not match the ipFamily of the service (${requested.field} is ${stackFamilyName(requested.family!)}, the cluster IPs are ${stackFamilyName(cluster.family)}); request ${cluster.family === 'dual' ? 'one IPv4 and one IPv6 address in metallb.io/loadBalancerIPs' : `an ${stackFamilyName(cluster.family)} address`}`,
      };
    }
    const assigned = allocator.assign(facts, requested.ips);
    if (!assigned.ok) return assigned;
    if (wantedPool !== '' && assigned.pool !== wantedPool) {
      allocator.unassign(key);
      return {
        ok: false,
        error: `requested loadBalancer IP(s) ${quoteList(requested.ips)} is not compatible with requested address pool ${wantedPool} (they belong to pool ${assigned.pool}); drop one of the two annotations or request an IP of pool ${wantedPool}`,
      };
    }
    return { ok: true, pool: assigned.pool, ips: requested.ips };
  }
  if (wantedPool !== '') return allocator.allocateFromPool(facts, wantedPool);
  return allocator.allocate(facts);
}

/** Canonical form of an IP already known to parse (status and request texts). */
function canonicalIp(text: string): string {
  return canonicalText(text) ?? text;
}

function sameIpSet(a: readonly string[], b: readonly string[]): boolean {
  const x = a.map(canonicalIp).sort();
  const y = b.map(canonicalIp).sort();
  return x.length === y.length && x.every((ip, i) => ip === y[i]);
}

// The allocation key (sharing key + backend key) each Service was last converged with, per
// allocator instance. A changed key can let a pending Service share an IP (MetalLB reprocesses
// all services when `AllocationKey` changes). Kept here because the allocator API does not
// expose the keys it holds; a new Allocator (restart) starts with an empty table.
const lastAllocationKeys = new WeakMap<Allocator, Map<string, string>>();

function allocationKeys(allocator: Allocator): Map<string, string> {
  let m = lastAllocationKeys.get(allocator);
  if (!m) {
    m = new Map();
    lastAllocationKeys.set(allocator, m);
  }
  return m;
}

function rememberAllocationKey(allocator: Allocator, key: string, value: string | undefined): void {
  if (value === undefined) allocationKeys(allocator).delete(key);
  else allocationKeys(allocator).set(key, value);
}

function allocationKeyOf(facts: ServiceFacts): string {
  return JSON.stringify([facts.sharingKey, facts.backendKey]);
}

/** Forgets a deleted Service; reprocess all when it held an IP (a pending Service may fit now). */
export function serviceDeleted(key: string, allocator: Allocator): { reprocessAll: boolean } {
  allocationKeys(allocator).delete(key);
  if (allocator.allocationOf(key) === undefined) return { reprocessAll: false };
  allocator.unassign(key);
  return { reprocessAll: true };
}

/**
 * What the caller has to change on the object to reach the outcome: the status when the ingress
 * IPs differ (hostname entries count as a difference, they are dropped), the annotations when
 * ip-allocated-from-pool differs or its legacy spelling is still present.
 */
export function serviceNeedsWrite(svc: V1Service, outcome: ConvergeOutcome): { status: boolean; annotations: boolean } {
  const ingress = svc.status?.loadBalancer?.ingress ?? [];
  const status = !(
    ingress.length === outcome.ingressIps.length && ingress.every((e, i) => !e.hostname && e.ip === outcome.ingressIps[i])
  );
  const annotations = svc.metadata?.annotations ?? {};
  const annotationsChange =
    annotations[ANNOTATION_ALLOCATED_FROM_POOL] !== outcome.allocatedFromPool ||
    Object.prototype.hasOwnProperty.call(annotations, LEGACY_ANNOTATION_ALLOCATED_FROM_POOL);
  return { status, annotations: annotationsChange };
}

/**
 * Order of a full reprocess (MetalLB §3.6): Services holding 2 ingress IPs first, then 1, then
 * none, so that assigned Services reclaim their IPs before pending ones can take them. A status
 * that is not a valid IP list (3 IPs, garbage) goes last: that Service gets a fresh IP and must
 * not grab one a later Service still holds. Ties are broken by key so every pass is the same.
 */
export function reprocessOrder<S extends V1Service>(services: readonly S[]): S[] {
  const rank = (s: S): number => {
    const ips = ingressIpsOf(s);
    if (!ipListFamily(ips).ok) return 2;
    return ips.length === 2 ? 0 : 1;
  };
  const keyed = services.map((s) => ({ s, rank: rank(s), key: serviceKey(s) }));
  keyed.sort((a, b) => a.rank - b.rank || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map((k) => k.s);
}
