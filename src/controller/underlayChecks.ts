// The controller's use of the Kube-OVN underlay rules (src/underlay): one report per pool, the
// blocked addresses handed to the allocator, the pool condition UnderlayValid, and which findings
// are new since the last evaluation (those get a Warning Event on the pool). Pure.
import type { BlockedAddresses } from '../allocator/allocator.js';
import type { Pool } from '../config/model.js';
import type { KubernetesObject } from '@kubernetes/client-node';
import {
  kubeOvnControllerFlags,
  kubeOvnIpFacts,
  providerNetworkFacts,
  subnetFacts,
  vlanFacts,
} from '../underlay/kubeOvnObjects.js';
import { checkPool, type PoolUnderlayReport, type UnderlayInventory } from '../underlay/rules.js';

export const UNDERLAY_CONDITION = 'UnderlayValid';
const CONDITION_MESSAGE_LIMIT = 32_000;

export interface KubeOvnObjects {
  readonly subnets: readonly KubernetesObject[];
  readonly vlans: readonly KubernetesObject[];
  readonly providerNetworks: readonly KubernetesObject[];
  readonly ips: readonly KubernetesObject[];
  readonly nodeLabels: readonly Readonly<Record<string, string>>[];
  readonly controllerDeployment?: unknown;
}

export function underlayInventory(objs: KubeOvnObjects): UnderlayInventory {
  const inv: UnderlayInventory = {
    subnets: objs.subnets.map(subnetFacts),
    vlans: new Map(objs.vlans.map(vlanFacts).map((v) => [v.name, v])),
    providerNetworks: new Map(objs.providerNetworks.map(providerNetworkFacts).map((p) => [p.name, p])),
    ips: objs.ips.map(kubeOvnIpFacts),
    nodeLabels: objs.nodeLabels,
  };
  const flags = objs.controllerDeployment === undefined ? undefined : kubeOvnControllerFlags(objs.controllerDeployment);
  return flags ? { ...inv, controllerFlags: flags } : inv;
}

export function underlayReports(pools: ReadonlyMap<string, Pool>, inv: UnderlayInventory): Map<string, PoolUnderlayReport> {
  const out = new Map<string, PoolUnderlayReport>();
  for (const [name, pool] of pools) out.set(name, checkPool({ name, cidrs: pool.cidrs }, inv));
  return out;
}

/** The allocator's view of a report: blocked ranges, each naming its rule and message. */
export function blockedForAllocator(report: PoolUnderlayReport): BlockedAddresses[] {
  return report.blocked.map((b) => ({ family: b.family, first: b.first, last: b.last, why: `${b.rule} ${b.reason}: ${b.message}` }));
}

export interface UnderlayCondition {
  readonly type: typeof UNDERLAY_CONDITION;
  readonly status: 'True' | 'False';
  readonly reason: string;
  readonly message: string;
}

/** UnderlayValid: False with the first finding's reason and every message, or True. */
export function underlayCondition(report: PoolUnderlayReport): UnderlayCondition {
  const first = report.findings[0];
  if (!first) return { type: UNDERLAY_CONDITION, status: 'True', reason: 'UnderlayChecksPassed', message: 'the pool passes the Kube-OVN underlay checks U1-U7' };
  const message = report.findings.map((f) => f.message).join('; ');
  return { type: UNDERLAY_CONDITION, status: 'False', reason: first.reason, message: message.slice(0, CONDITION_MESSAGE_LIMIT) };
}

/** Findings of `next` that `previous` did not have (same reason and message). */
export function newFindings(previous: PoolUnderlayReport | undefined, next: PoolUnderlayReport): PoolUnderlayReport['findings'] {
  const seen = new Set((previous?.findings ?? []).map((f) => `${f.reason}\n${f.message}`));
  return next.findings.filter((f) => !seen.has(`${f.reason}\n${f.message}`));
}

/** Text that changes exactly when the blocked addresses change (to decide on a full pass). */
export function blockedFingerprint(reports: ReadonlyMap<string, PoolUnderlayReport> | undefined): string {
  if (!reports) return '';
  return JSON.stringify([...reports].map(([name, r]) => [name, r.blocked.map((b) => `${b.family}:${b.first}-${b.last}:${b.rule}`)]));
}
