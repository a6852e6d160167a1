// The kubeovn.io/v1 objects (Subnet, Vlan, ProviderNetwork, IP) and the kube-ovn-controller
// flags, reduced to the facts the underlay checks read (spec kube-ovn-underlay.md 1.1, 1.2, 2.2).
// Input is the raw JSON from the API server; nothing here trusts its shape.
import type { LabelSelector } from '../config/model.js';
import type { Cidr, Family } from '../net/address.js';
import { parseIp } from '../net/address.js';
import { effectiveGateways, parseCidrBlock } from './excludeIps.js';

export interface SubnetFacts {
  readonly name: string;
  readonly cidrBlock: string;
  /** One CIDR per family; {} when cidrBlock is empty or invalid. */
  readonly cidrs: Partial<Record<Family, Cidr>>;
  readonly protocol: string;
  readonly vlan: string;
  readonly enableExternalLBAddress: boolean;
  /** undefined = inherits --enable-lb. */
  readonly enableLb: boolean | undefined;
  readonly logicalGateway: boolean;
  /** The Validated condition is True. */
  readonly validated: boolean;
  readonly gateways: readonly { family: Family; value: bigint }[];
  readonly excludeIps: readonly string[];
  readonly vips: readonly string[];
  readonly u2oInterconnectionIP: string;
  readonly mcastQuerierIP: string;
  /** spec.provider (the IPAM provider, `ovn` by default; not the provider network). */
  readonly provider: string;
  /** status.conditions as given (the node-side resolver reads Validated/Ready). */
  readonly conditions: readonly { readonly type: string; readonly status: string }[];
}

export interface VlanFacts {
  readonly name: string;
  readonly id: number;
  readonly provider: string;
}

export interface ProviderNetworkFacts {
  readonly name: string;
  readonly exchangeLinkName: boolean;
  /** status.vlans: the Vlans Kube-OVN bound to this provider network. */
  readonly statusVlans: readonly string[];
  /** spec.defaultInterface / customInterfaces / excludeNodes / nodeSelector: which NIC each node bridges (kube-ovn-underlay.md 1.2, 3.1). */
  readonly defaultInterface: string;
  readonly customInterfaces: readonly { readonly interface: string; readonly nodes: readonly string[] }[];
  readonly excludeNodes: readonly string[];
  readonly nodeSelector?: LabelSelector;
  readonly status: { readonly ready?: boolean; readonly readyNodes: readonly string[]; readonly notReadyNodes: readonly string[]; readonly vlans: readonly string[] };
}

export interface KubeOvnIpFacts {
  readonly name: string;
  readonly podNamespace: string;
  readonly podName: string;
  readonly addresses: readonly { family: Family; value: bigint; text: string }[];
}

/** kube-ovn-controller flags that matter (2.2); defaults as in Kube-OVN's config.go. */
export interface KubeOvnControllerFlags {
  readonly enableLb: boolean;
  readonly enableOvnLbPreferLocal: boolean;
  readonly lsCtSkipDstLportIps: boolean;
  readonly skipConntrackDstCidrs: readonly string[];
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const nameOf = (o: Json): string => str(obj(o.metadata).name);

export function subnetFacts(raw: unknown): SubnetFacts {
  const o = obj(raw);
  const spec = obj(o.spec);
  const status = obj(o.status);
  const cidrBlock = str(spec.cidrBlock);
  const cidrs = (cidrBlock && parseCidrBlock(cidrBlock)) || {};
  const conditions = Array.isArray(status.conditions) ? status.conditions.map(obj) : [];
  return {
    name: nameOf(o),
    cidrBlock,
    cidrs,
    protocol: str(spec.protocol),
    vlan: str(spec.vlan),
    enableExternalLBAddress: spec.enableExternalLBAddress === true,
    enableLb: typeof spec.enableLb === 'boolean' ? spec.enableLb : undefined,
    logicalGateway: spec.logicalGateway === true,
    validated: conditions.some((c) => c.type === 'Validated' && c.status === 'True'),
    gateways: effectiveGateways(cidrs, str(spec.gateway)),
    excludeIps: strs(spec.excludeIps),
    vips: strs(spec.vips),
    u2oInterconnectionIP: str(status.u2oInterconnectionIP),
    mcastQuerierIP: str(status.mcastQuerierIP),
    provider: str(spec.provider),
    conditions: conditions.map((c) => ({ type: str(c.type), status: str(c.status) })),
  };
}

export function vlanFacts(raw: unknown): VlanFacts {
  const o = obj(raw);
  const spec = obj(o.spec);
  const id = typeof spec.id === 'number' ? spec.id : typeof spec.vlanId === 'number' ? spec.vlanId : 0;
  return { name: nameOf(o), id, provider: str(spec.provider) };
}

export function providerNetworkFacts(raw: unknown): ProviderNetworkFacts {
  const o = obj(raw);
  const spec = obj(o.spec);
  const status = obj(o.status);
  const selector = obj(spec.nodeSelector);
  return {
    name: nameOf(o),
    exchangeLinkName: spec.exchangeLinkName === true,
    statusVlans: strs(status.vlans),
    defaultInterface: str(spec.defaultInterface),
    customInterfaces: (Array.isArray(spec.customInterfaces) ? spec.customInterfaces.map(obj) : []).map((c) => ({ interface: str(c.interface), nodes: strs(c.nodes) })),
    excludeNodes: strs(spec.excludeNodes),
    ...(spec.nodeSelector !== undefined ? { nodeSelector: labelSelectorOf(selector) } : {}),
    status: {
      ...(typeof status.ready === 'boolean' ? { ready: status.ready } : {}),
      readyNodes: strs(status.readyNodes), notReadyNodes: strs(status.notReadyNodes), vlans: strs(status.vlans),
    },
  };
}

function labelSelectorOf(sel: Json): LabelSelector {
  const labels = obj(sel.matchLabels);
  const matchLabels: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') matchLabels[k] = v;
  const matchExpressions = (Array.isArray(sel.matchExpressions) ? sel.matchExpressions.map(obj) : [])
    .map((e) => ({ key: str(e.key), operator: str(e.operator), values: strs(e.values) }))
    .filter((e): e is { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values: string[] } => ['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(e.operator));
  return { matchLabels, matchExpressions };
}

export function kubeOvnIpFacts(raw: unknown): KubeOvnIpFacts {
  const o = obj(raw);
  const spec = obj(o.spec);
  const seen = new Set<string>();
  const addresses: { family: Family; value: bigint; text: string }[] = [];
  // ipAddress may hold "v4,v6"; v4IpAddress/v6IpAddress repeat the same addresses.
  for (const text of [str(spec.ipAddress), str(spec.v4IpAddress), str(spec.v6IpAddress)].flatMap((t) => t.split(','))) {
    const ip = parseIp(text.trim());
    if (!ip) continue;
    const key = `${ip.family}/${ip.value}`;
    if (seen.has(key)) continue;
    seen.add(key);
    addresses.push({ family: ip.family, value: ip.value, text: text.trim() });
  }
  return { name: nameOf(o), podNamespace: str(spec.namespace), podName: str(spec.podName), addresses };
}

/**
 * The flags of the kube-ovn-controller container of its Deployment, or undefined when the
 * Deployment has no such container. Accepts "--flag=value" and a bare "--flag" (true).
 */
export function kubeOvnControllerFlags(deployment: unknown): KubeOvnControllerFlags | undefined {
  const spec = obj(obj(obj(obj(deployment).spec).template).spec);
  const containers = Array.isArray(spec.containers) ? spec.containers.map(obj) : [];
  const c = containers.find((x) => x.name === 'kube-ovn-controller') ?? (containers.length === 1 ? containers[0] : undefined);
  if (!c) return undefined;
  const values = new Map<string, string>();
  for (const arg of [...strs(c.command), ...strs(c.args)]) {
    const m = /^--?([a-z0-9-]+)(?:=(.*))?$/.exec(arg.trim());
    if (m?.[1]) values.set(m[1], m[2] ?? 'true');
  }
  const bool = (flag: string, dflt: boolean): boolean => {
    const v = values.get(flag);
    return v === undefined ? dflt : v.toLowerCase() === 'true' || v === '1';
  };
  return {
    enableLb: bool('enable-lb', true),
    enableOvnLbPreferLocal: bool('enable-ovn-lb-prefer-local', false),
    lsCtSkipDstLportIps: bool('ls-ct-skip-dst-lport-ips', true),
    skipConntrackDstCidrs: (values.get('skip-conntrack-dst-cidrs') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== ''),
  };
}

/** The node label Kube-OVN sets when a provider network is ready on the node (1.2). */
export function providerReadyLabel(providerNetwork: string): string {
  return `${providerNetwork}.provider-network.kubernetes.io/ready`;
}
