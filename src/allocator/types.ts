// What the allocator needs to know about a Service, already extracted from the Kubernetes
// object (see src/controller/serviceFacts.ts). The allocator never sees a V1Service.
import type { Family } from '../net/address.js';

export type IpFamilyPolicy = 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';

export interface ServicePort {
  readonly protocol: string; // TCP | UDP | SCTP
  readonly port: number;
}

export interface ServiceFacts {
  /** "namespace/name" */
  readonly key: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Labels of the Service's Namespace (for serviceAllocation.namespaceSelectors). */
  readonly namespaceLabels: Readonly<Record<string, string>>;
  /** Families of spec.clusterIPs (fallback spec.clusterIP), in order; [] when there is none. */
  readonly clusterIpFamilies: readonly Family[];
  readonly ipFamilyPolicy: IpFamilyPolicy;
  /** spec.ipFamilies[0] === IPv6 makes 6 the primary family for the PreferDualStack fallback. */
  readonly primaryFamily: Family;
  /** metallb.io/allow-shared-ip; "" = no sharing. */
  readonly sharingKey: string;
  /** "" for externalTrafficPolicy Cluster; canonical selector text for Local. */
  readonly backendKey: string;
  readonly ports: readonly ServicePort[];
}

export interface PoolCounters {
  readonly assignedIPv4: bigint;
  readonly assignedIPv6: bigint;
  readonly availableIPv4: bigint;
  readonly availableIPv6: bigint;
}

export type AllocationResult =
  | { readonly ok: true; readonly pool: string; readonly ips: readonly string[] }
  | { readonly ok: false; readonly error: string };
