import { seededRandom } from '../../src/speaker/membership/simulatedCluster.js';
// Builders shared by the allocator tests (not a test file itself).
import type { LabelSelector, Pool, ServiceAllocation } from '../../src/config/model.js';
import { parseAddressEntry, type Family } from '../../src/net/address.js';
import type { ServiceFacts, ServicePort } from '../../src/allocator/types.js';

export function pool(
  name: string,
  addresses: string[],
  opts: { autoAssign?: boolean; avoidBuggyIPs?: boolean; serviceAllocation?: Partial<ServiceAllocation> } = {},
): Pool {
  const cidrs = addresses.flatMap((a) => {
    const r = parseAddressEntry(a);
    if (!r.ok) throw new Error(r.reason);
    return r.cidrs;
  });
  const sa = opts.serviceAllocation;
  return {
    name,
    labels: {},
    cidrs,
    addresses,
    autoAssign: opts.autoAssign ?? true,
    avoidBuggyIPs: opts.avoidBuggyIPs ?? false,
    ...(sa
      ? {
          serviceAllocation: {
            priority: sa.priority ?? 0,
            namespaces: sa.namespaces ?? [],
            namespaceSelectors: sa.namespaceSelectors ?? [],
            serviceSelectors: sa.serviceSelectors ?? [],
          },
        }
      : {}),
  };
}

export function pools(...list: Pool[]): Map<string, Pool> {
  return new Map(list.map((p) => [p.name, p]));
}

export function labels(matchLabels: Record<string, string>): LabelSelector {
  return { matchLabels, matchExpressions: [] };
}

export function svc(key: string, over: Partial<Omit<ServiceFacts, 'key'>> & { families?: Family[] } = {}): ServiceFacts {
  const namespace = key.split('/')[0] ?? 'default';
  const { families, ...rest } = over;
  return {
    key,
    namespace,
    labels: {},
    namespaceLabels: {},
    clusterIpFamilies: families ?? [4],
    ipFamilyPolicy: 'SingleStack',
    primaryFamily: 4,
    sharingKey: '',
    backendKey: '',
    ports: [],
    ...rest,
  };
}

export function tcp(...ports: number[]): ServicePort[] {
  return ports.map((port) => ({ protocol: 'TCP', port }));
}

export function udp(...ports: number[]): ServicePort[] {
  return ports.map((port) => ({ protocol: 'UDP', port }));
}


export { seededRandom };

export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  const r = seededRandom(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
