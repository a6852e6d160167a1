// The one parsed, validated, immutable configuration that the controller and the speakers run
// on. Both the metallb.io CRs and the legacy ConfigMap are parsed into this shape.
import type { Cidr } from '../net/address.js';

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  readonly values: readonly string[];
}

/** Kubernetes metav1.LabelSelector. An empty selector matches everything. */
export interface LabelSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly matchExpressions: readonly LabelSelectorRequirement[];
}

export interface ServiceAllocation {
  /** Lower number = higher priority; 0 = lowest (MetalLB). */
  readonly priority: number;
  readonly namespaces: readonly string[];
  readonly namespaceSelectors: readonly LabelSelector[];
  readonly serviceSelectors: readonly LabelSelector[];
}

export interface Pool {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** spec.addresses in order, each entry expanded into ascending CIDRs (MetalLB walk order). */
  readonly cidrs: readonly Cidr[];
  /** The spec.addresses text, for messages and conversion. */
  readonly addresses: readonly string[];
  readonly autoAssign: boolean;
  readonly avoidBuggyIPs: boolean;
  readonly serviceAllocation?: ServiceAllocation;
}

export interface L2Advertisement {
  readonly name: string;
  /** Names of the pools this advertisement applies to (already resolved from names + selectors). */
  readonly pools: readonly string[];
  readonly nodeSelectors: readonly LabelSelector[];
  readonly interfaces: readonly string[];
  readonly serviceSelectors: readonly LabelSelector[];
  readonly preferredNodeSelectors: readonly { weight: number; preference: LabelSelector }[];
}

export type Community =
  | { readonly kind: 'standard'; readonly value: number }
  | { readonly kind: 'large'; readonly global: number; readonly local1: number; readonly local2: number };

export interface BGPAdvertisement {
  readonly name: string;
  readonly pools: readonly string[];
  readonly aggregationLength: number;
  readonly aggregationLengthV6: number;
  readonly localPref?: number;
  readonly communities: readonly Community[];
  readonly nodeSelectors: readonly LabelSelector[];
  /** Empty = all peers. */
  readonly peers: readonly string[];
  readonly serviceSelectors: readonly LabelSelector[];
}

export interface BGPPeer {
  readonly name: string;
  readonly myASN: number;
  readonly peerASN?: number;
  readonly dynamicASN?: 'internal' | 'external';
  readonly localASN?: number;
  readonly peerAddress?: string;
  readonly interface?: string;
  readonly sourceAddress?: string;
  readonly peerPort: number;
  /** Seconds. */
  readonly holdTime: number;
  /** Seconds. */
  readonly keepaliveTime: number;
  readonly connectTime?: number;
  readonly routerID?: string;
  readonly nodeSelectors: readonly LabelSelector[];
  readonly password?: string;
  readonly passwordSecret?: { readonly name: string; readonly namespace: string };
  readonly bfdProfile?: string;
  readonly enableGracefulRestart: boolean;
  readonly ebgpMultiHop: boolean;
  readonly vrf?: string;
  readonly dualStackAddressFamily: boolean;
}

export interface BFDProfile {
  readonly name: string;
  readonly receiveInterval: number;
  readonly transmitInterval: number;
  readonly detectMultiplier: number;
  readonly echoInterval: number;
  readonly echoMode: boolean;
  readonly passiveMode: boolean;
  readonly minimumTtl: number;
}

export interface Config {
  readonly pools: ReadonlyMap<string, Pool>;
  readonly l2Advertisements: readonly L2Advertisement[];
  readonly bgpAdvertisements: readonly BGPAdvertisement[];
  readonly peers: readonly BGPPeer[];
  readonly bfdProfiles: ReadonlyMap<string, BFDProfile>;
  /** Community aliases by name. */
  readonly communities: ReadonlyMap<string, Community>;
}

/** A rejected piece of configuration: which object, which field, what is wrong and how to fix it. */
export interface ConfigError {
  readonly kind: string;
  readonly name: string;
  readonly field: string;
  readonly message: string;
  /** Transient errors (a referenced Secret or BFDProfile not there yet) may resolve by themselves. */
  readonly transient?: boolean;
}

export function formatConfigError(e: ConfigError): string {
  return `${e.kind} "${e.name}": ${e.field}: ${e.message}`;
}
