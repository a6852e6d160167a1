// The kube-proxy stand-in's decisions, pure: which endpoints a LoadBalancer Service's external
// IP and port lead to on one node, and the nftables table that implements it. Mirrors
// kube-proxy's nftables mode where it matters to a load balancer:
// - ready endpoints, else (ProxyTerminatingEndpoints) serving+terminating ones;
// - externalTrafficPolicy Local: only this node's endpoints, client address kept; none -> drop;
// - Cluster: every endpoint, random choice (numgen), masquerade when the endpoint is remote;
// - no endpoint at all: reject, so a client fails fast instead of timing out.
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { ipFamily, type Family } from '../net/address.js';

export const PROXY_TABLE = 'ironlb-proxy';
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface ProxyEndpoint {
  readonly address: string;
  readonly port: number;
  readonly node?: string;
}

/** One external IP + port of one Service, as this node forwards it. */
export interface ProxyServicePort {
  /** namespace/name */
  readonly service: string;
  readonly family: Family;
  readonly ip: string;
  readonly protocol: 'tcp' | 'udp' | 'sctp';
  readonly port: number;
  readonly localOnly: boolean;
  readonly endpoints: readonly ProxyEndpoint[];
  /** True when the Service has usable endpoints somewhere, even if none is local. */
  readonly endpointsElsewhere: boolean;
}

interface Candidate extends ProxyEndpoint {
  ready: boolean;
  servingTerminating: boolean;
}

function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** What `nodeName` forwards for every LoadBalancer Service with an external IP; sorted, so equal input gives equal output. */
export function proxyServicePorts(nodeName: string, services: readonly V1Service[], slices: readonly V1EndpointSlice[]): ProxyServicePort[] {
  const slicesByService = new Map<string, V1EndpointSlice[]>();
  for (const s of slices) {
    const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (!svc) continue;
    const key = `${s.metadata?.namespace ?? ''}/${svc}`;
    slicesByService.set(key, [...(slicesByService.get(key) ?? []), s]);
  }
  const out: ProxyServicePort[] = [];
  for (const svc of services) {
    if (svc.spec?.type !== 'LoadBalancer') continue;
    const key = `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
    const localOnly = svc.spec.externalTrafficPolicy === 'Local';
    const ips = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter((ip) => ipFamily(ip) !== undefined);
    for (const sp of svc.spec.ports ?? []) {
      const protocol = (sp.protocol ?? 'TCP').toLowerCase();
      if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'sctp') continue;
      for (const ip of [...new Set(ips)]) {
        const family = ipFamily(ip) as Family;
        const candidates: Candidate[] = [];
        for (const slice of slicesByService.get(key) ?? []) {
          if (slice.addressType !== (family === 4 ? 'IPv4' : 'IPv6')) continue;
          // EndpointSlice ports carry the Service port's name; the number is the resolved targetPort.
          const target = (slice.ports ?? []).find((p) => (p.name ?? '') === (sp.name ?? '') && (p.protocol ?? 'TCP').toLowerCase() === protocol);
          if (!target?.port) continue;
          for (const ep of slice.endpoints ?? []) {
            const address = ep.addresses?.[0];
            if (!address || ipFamily(address) !== family) continue;
            // API semantics: a nil ready/serving means true.
            const ready = ep.conditions?.ready ?? true;
            const serving = ep.conditions?.serving ?? ready;
            const terminating = ep.conditions?.terminating ?? false;
            candidates.push({ address, port: target.port, node: ep.nodeName, ready: ready && !terminating, servingTerminating: serving && terminating });
          }
        }
        const usable = candidates.filter((c) => c.ready || c.servingTerminating);
        const scope = localOnly ? usable.filter((c) => c.node === nodeName) : usable;
        const chosen = scope.some((c) => c.ready) ? scope.filter((c) => c.ready) : scope;
        const unique = new Map(chosen.map((c) => [`${c.address}|${c.port}`, { address: c.address, port: c.port, ...(c.node ? { node: c.node } : {}) }]));
        out.push({
          service: key, family, ip, protocol, port: sp.port, localOnly,
          endpoints: [...unique.values()].sort((a, b) => byText(a.address, b.address) || a.port - b.port),
          endpointsElsewhere: usable.length > 0,
        });
      }
    }
  }
  return out.sort((a, b) => byText(a.service, b.service) || byText(a.ip, b.ip) || a.port - b.port || byText(a.protocol, b.protocol));
}

function comment(text: string): string {
  // nft comments: at most 128 bytes, no double quotes.
  return `comment "${text.replace(/"/g, "'").slice(0, 120)}"`;
}

function match(p: ProxyServicePort): string {
  return `${p.family === 4 ? 'ip' : 'ip6'} daddr ${p.ip} meta l4proto ${p.protocol} th dport ${p.port}`;
}

function dnatTarget(family: Family, e: ProxyEndpoint): string {
  return family === 4 ? `${e.address}:${e.port}` : `[${e.address}]:${e.port}`;
}

/**
 * The whole `inet ironlb-proxy` table as one `nft -f` script. It begins by deleting the table,
 * so applying it replaces the previous rules in one atomic transaction.
 */
export function renderProxyTable(ports: readonly ProxyServicePort[], lanInterface: string): string {
  const serviceRules: string[] = [];
  const rejectRules: string[] = [];
  const endpointChains: string[] = [];
  for (const p of ports) {
    const what = `${p.service} ${p.ip} ${p.port}/${p.protocol}`;
    if (p.endpoints.length === 0) {
      if (p.localOnly && p.endpointsElsewhere) serviceRules.push(`    ${match(p)} drop ${comment(`${what}: no local endpoint (externalTrafficPolicy Local)`)}`);
      else rejectRules.push(`    ${match(p)} reject ${comment(`${what}: no endpoints`)}`);
      continue;
    }
    const chains = p.endpoints.map((e) => {
      const name = `endpoint-${endpointChains.length}`;
      endpointChains.push(`  chain ${name} {\n    meta l4proto ${p.protocol} dnat ${p.family === 4 ? 'ip' : 'ip6'} to ${dnatTarget(p.family, e)} ${comment(`${what} -> ${e.address} on ${e.node ?? '?'}`)}\n  }`);
      return name;
    });
    const verdict = chains.length === 1 ? `goto ${chains[0]}` : `numgen random mod ${chains.length} vmap { ${chains.map((c, i) => `${i} : goto ${c}`).join(', ')} }`;
    serviceRules.push(`    ${match(p)} ${verdict} ${comment(`${what} ${p.localOnly ? 'Local' : 'Cluster'}`)}`);
  }
  const chain = (name: string, head: string[], body: string[]) => `  chain ${name} {\n${[...head.map((h) => `    ${h}`), ...body].join('\n')}\n  }`;
  return [
    `table inet ${PROXY_TABLE} {}`,
    `delete table inet ${PROXY_TABLE}`,
    `table inet ${PROXY_TABLE} {`,
    chain('prerouting', ['type nat hook prerouting priority dstnat; policy accept;', 'jump services'], []),
    chain('output', ['type nat hook output priority -100; policy accept;', 'jump services'], []),
    // Only connections we DNATed to another node leave through the LAN interface: masquerade
    // them so the reply comes back through us (Cluster policy; the pod sees this node).
    chain('postrouting', ['type nat hook postrouting priority srcnat; policy accept;', `ct status dnat oifname "${lanInterface}" masquerade`], []),
    chain('filter-input', ['type filter hook input priority filter; policy accept;', 'jump no-endpoints'], []),
    chain('filter-forward', ['type filter hook forward priority filter; policy accept;', 'jump no-endpoints'], []),
    chain('filter-output', ['type filter hook output priority filter; policy accept;', 'jump no-endpoints'], []),
    chain('services', [], serviceRules),
    chain('no-endpoints', [], rejectRules),
    ...endpointChains,
    '}',
    '',
  ].join('\n');
}
