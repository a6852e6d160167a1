// Builders for the underlay tests (not a test file itself): Kube-OVN objects as the API returns them.
import { parseAddressEntry } from '../../src/net/address.js';
import { kubeOvnIpFacts, providerNetworkFacts, subnetFacts, vlanFacts } from '../../src/underlay/kubeOvnObjects.js';
import type { PoolAddresses, UnderlayInventory } from '../../src/underlay/rules.js';

export function subnetObject(name: string, spec: Record<string, unknown>, opts: { validated?: boolean; status?: Record<string, unknown> } = {}) {
  return {
    apiVersion: 'kubeovn.io/v1',
    kind: 'Subnet',
    metadata: { name },
    spec: { provider: 'ovn', vlan: 'vlan341', enableExternalLBAddress: true, ...spec },
    status: { conditions: [{ type: 'Validated', status: (opts.validated ?? true) ? 'True' : 'False' }], ...(opts.status ?? {}) },
  };
}

/** Seed 002's Subnet, corrected: with vlan and excludeIps covering the whole pool. */
export const SEED_SUBNET = subnetObject('underlay-subnet', {
  protocol: 'IPv4',
  cidrBlock: '10.180.204.0/24',
  gateway: '10.180.204.1',
  excludeIps: ['10.180.204.250..10.180.204.254'],
  natOutgoing: false,
});

export function poolOf(name: string, ...addresses: string[]): PoolAddresses {
  return {
    name,
    cidrs: addresses.flatMap((a) => {
      const r = parseAddressEntry(a);
      if (!r.ok) throw new Error(r.reason);
      return r.cidrs;
    }),
  };
}

export function inventory(over: {
  subnets?: unknown[];
  ips?: unknown[];
  vlans?: unknown[];
  providerNetworks?: unknown[];
  nodeLabels?: Record<string, string>[];
  controllerFlags?: UnderlayInventory['controllerFlags'];
} = {}): UnderlayInventory {
  const vlans = (over.vlans ?? [{ metadata: { name: 'vlan341' }, spec: { id: 0, provider: 'provider' } }]).map(vlanFacts);
  const pns = (over.providerNetworks ?? [{ metadata: { name: 'provider' }, spec: { defaultInterface: 'underlay0.341' }, status: { vlans: ['vlan341'] } }]).map(providerNetworkFacts);
  const inv: UnderlayInventory = {
    subnets: (over.subnets ?? [SEED_SUBNET]).map(subnetFacts),
    vlans: new Map(vlans.map((v) => [v.name, v])),
    providerNetworks: new Map(pns.map((p) => [p.name, p])),
    ips: (over.ips ?? []).map(kubeOvnIpFacts),
    nodeLabels: over.nodeLabels ?? [{ 'provider.provider-network.kubernetes.io/ready': 'true' }],
  };
  return over.controllerFlags ? { ...inv, controllerFlags: over.controllerFlags } : inv;
}

export function ipObject(name: string, address: string, pod = 'web-0', ns = 'default') {
  return { metadata: { name }, spec: { podName: pod, namespace: ns, subnet: 'underlay-subnet', ipAddress: address, v4IpAddress: address.includes(':') ? '' : address } };
}
