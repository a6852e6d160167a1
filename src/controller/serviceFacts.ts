// What the controller reads from a Service (MetalLB `controller/service.go`, `k8salloc`): the
// allocator's view (ServiceFacts), the requested IPs, the current ingress IPs and the class filter.
// Pure functions over plain V1Service objects.
import type { V1Service } from '@kubernetes/client-node';
import type { IpFamilyPolicy, ServiceFacts, ServicePort } from '../allocator/types.js';
import { canonicalIp, formatIp, parseIp, type Family } from '../net/address.js';
import { readAnnotation } from './annotations.js';

/** The IP family of a list of 1 or 2 IPs, as MetalLB's `ipfamily` package sees it. */
export type StackFamily = Family | 'dual';

export type IpListFamily = { ok: true; family: StackFamily } | { ok: false; error: string };

/** Go's %q of a string list: ["a" "b"], the form MetalLB puts IP lists in messages. */
export function quoteList(items: readonly string[]): string {
  return `[${items.map((i) => JSON.stringify(i)).join(' ')}]`;
}

export function stackFamilyName(f: StackFamily): string {
  return f === 'dual' ? 'dual-stack' : `IPv${f}`;
}

/** 1 IP => its family; 2 IPs of different families => dual; anything else is an error. */
export function ipListFamily(ips: readonly string[]): IpListFamily {
  const parsed = ips.map((ip) => parseIp(ip));
  const bad = ips.find((_, i) => parsed[i] === undefined);
  if (bad !== undefined) return { ok: false, error: `invalid address ${JSON.stringify(bad)} in ${quoteList(ips)}` };
  const [a, b] = parsed;
  if (ips.length === 1 && a) return { ok: true, family: a.family };
  if (ips.length === 2 && a && b) {
    if (a.family === b.family) return { ok: false, error: `same address family ${quoteList(ips)}` };
    return { ok: true, family: 'dual' };
  }
  return { ok: false, error: `invalid ips length ${ips.length} ${quoteList(ips)}` };
}

/** Canonical text (Go net.IP.String form) of an IP known to parse. */
function canonical(ip: string): string {
  return canonicalIp(ip) ?? ip;
}

/** "namespace/name", MetalLB's service key. A missing namespace is the default namespace. */
export function serviceKey(svc: V1Service): string {
  return `${svc.metadata?.namespace || 'default'}/${svc.metadata?.name ?? ''}`;
}

export type ClusterIpRead =
  | { readonly kind: 'none' }
  | { readonly kind: 'ok'; readonly ips: readonly string[]; readonly families: readonly Family[]; readonly family: StackFamily }
  | { readonly kind: 'invalid'; readonly ips: readonly string[]; readonly error: string };

/**
 * The Service's cluster IPs. MetalLB derives the service family from `spec.clusterIPs` (fallback
 * `spec.clusterIP`), not from `spec.ipFamilies`. "None" (headless) and "" mean no cluster IP.
 */
export function readClusterIps(svc: V1Service): ClusterIpRead {
  const spec = svc.spec ?? {};
  const listed = spec.clusterIPs && spec.clusterIPs.length > 0 ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
  const ips = listed.filter((ip) => ip !== '' && ip !== 'None');
  if (ips.length === 0) return { kind: 'none' };
  const fam = ipListFamily(ips);
  if (!fam.ok) {
    return {
      kind: 'invalid',
      ips,
      error: `spec.clusterIPs ${quoteList(ips)}: ${fam.error}; expected one cluster IP, or two of different families`,
    };
  }
  const families = ips.map((ip) => parseIp(ip)!.family);
  return { kind: 'ok', ips: ips.map(canonical), families, family: fam.family };
}

const POLICIES: readonly IpFamilyPolicy[] = ['SingleStack', 'PreferDualStack', 'RequireDualStack'];

/** spec.ipFamilyPolicy; nil (or unknown) means SingleStack, as in MetalLB. */
export function ipFamilyPolicyOf(svc: V1Service): IpFamilyPolicy {
  const p = svc.spec?.ipFamilyPolicy;
  return POLICIES.find((x) => x === p) ?? 'SingleStack';
}

/**
 * MetalLB's backend key: "" for externalTrafficPolicy Cluster; for Local the selector as
 * "k=v,k2=v2" sorted by key (k8s labels.Set.String()). Two Local services share an IP only when
 * this text is equal.
 */
export function backendKeyOf(svc: V1Service): string {
  if (svc.spec?.externalTrafficPolicy !== 'Local') return '';
  const selector = svc.spec.selector ?? {};
  return Object.keys(selector)
    .sort()
    .map((k) => `${k}=${selector[k]}`)
    .join(',');
}

export function sharingKeyOf(svc: V1Service): string {
  return readAnnotation(svc.metadata?.annotations, 'allowSharedIp').value ?? '';
}

export function portsOf(svc: V1Service): ServicePort[] {
  return (svc.spec?.ports ?? []).map((p) => ({ protocol: p.protocol ?? 'TCP', port: p.port }));
}

/** Everything the allocator needs to know about a Service. */
export function serviceFacts(svc: V1Service, namespaceLabels: Record<string, string>): ServiceFacts {
  const cluster = readClusterIps(svc);
  return {
    key: serviceKey(svc),
    namespace: svc.metadata?.namespace || 'default',
    labels: { ...(svc.metadata?.labels ?? {}) },
    namespaceLabels: { ...namespaceLabels },
    clusterIpFamilies: cluster.kind === 'ok' ? cluster.families : [],
    ipFamilyPolicy: ipFamilyPolicyOf(svc),
    // MetalLB: v6 is primary only when spec.ipFamilies[0] says so.
    primaryFamily: svc.spec?.ipFamilies?.[0] === 'IPv6' ? 6 : 4,
    sharingKey: sharingKeyOf(svc),
    backendKey: backendKeyOf(svc),
    ports: portsOf(svc),
  };
}

/** The IPs in status.loadBalancer.ingress, in order; hostname-only entries are ignored. */
export function ingressIpsOf(svc: V1Service): string[] {
  return (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter((ip) => ip !== '');
}

export type RequestedIps =
  | {
      readonly ok: true;
      /** Canonical IPs in the order given; [] when nothing is requested. */
      readonly ips: readonly string[];
      /** undefined when nothing is requested. */
      readonly family: StackFamily | undefined;
      /** Where the request came from, for messages: the annotation key or "spec.loadBalancerIP". */
      readonly field: string | undefined;
    }
  | { readonly ok: false; readonly error: string };

/**
 * The IPs the user asked for: the `metallb.io/loadBalancerIPs` annotation (comma list, trimmed,
 * 1 IP or 2 of different families) or `spec.loadBalancerIP`; both at once is an error (MetalLB).
 */
export function requestedIps(svc: V1Service): RequestedIps {
  const annotation = readAnnotation(svc.metadata?.annotations, 'loadBalancerIPs');
  const listText = annotation.value ?? '';
  const specIp = svc.spec?.loadBalancerIP ?? '';
  const key = annotation.key ?? 'metallb.io/loadBalancerIPs';

  if (listText === '' && specIp === '') return { ok: true, ips: [], family: undefined, field: undefined };
  if (listText !== '' && specIp !== '') {
    return {
      ok: false,
      error: `service can not have both ${key} and svc.Spec.LoadBalancerIP; remove spec.loadBalancerIP (deprecated) and keep only the annotation`,
    };
  }

  if (listText !== '') {
    const items = listText.split(',').map((s) => s.trim());
    const bad = items.find((s) => parseIp(s) === undefined);
    if (bad !== undefined) {
      return {
        ok: false,
        error: `invalid ${key}: ${JSON.stringify(listText)}: ${JSON.stringify(bad)} is not an IP address; write one IP, or an IPv4 and an IPv6 address separated by a comma`,
      };
    }
    const fam = ipListFamily(items);
    if (!fam.ok) {
      return {
        ok: false,
        error: `invalid ${key}: ${JSON.stringify(listText)}: ${fam.error}; write one IP, or an IPv4 and an IPv6 address separated by a comma`,
      };
    }
    return { ok: true, ips: items.map(canonical), family: fam.family, field: key };
  }

  const ip = parseIp(specIp);
  if (!ip) {
    return { ok: false, error: `invalid spec.loadBalancerIP ${JSON.stringify(specIp)}: not an IP address` };
  }
  return { ok: true, ips: [formatIp(ip.family, ip.value)], family: ip.family, field: 'spec.loadBalancerIP' };
}

/**
 * MetalLB's class filter: started with `--lb-class=X` it handles only services whose
 * spec.loadBalancerClass is exactly X; without the flag only services with no class.
 * (Deletions are always handled; that is the caller's business.)
 */
export function isHandledByUs(svc: V1Service, lbClass?: string): boolean {
  const svcClass = svc.spec?.loadBalancerClass ?? '';
  return svcClass === (lbClass ?? '');
}
