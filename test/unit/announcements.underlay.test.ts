// The layer-2 election for Kube-OVN underlay VIPs (spec kube-ovn-underlay.md 6.3): provider network
// ready on the node, ready local endpoint whatever the policy, and the VLAN port as the interface.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { announcementsFor, type ClusterSnapshot, type ServiceSnapshot, type UnderlayFacts } from '../../src/speaker/announcements.js';

const READY = 'provider.provider-network.kubernetes.io/ready';
const parsed = parseConfig({
  pools: [
    { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'underlay', namespace: 'metallb-system' }, spec: { addresses: ['10.180.204.250-10.180.204.254'] } },
    { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'lan', namespace: 'metallb-system' }, spec: { addresses: ['192.0.2.200/29'] } },
  ],
  l2Advertisements: [{ apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata: { name: 'all', namespace: 'metallb-system' }, spec: { interfaces: ['eth0'] } }],
  bgpAdvertisements: [], bgpPeers: [], bfdProfiles: [], communities: [],
});
if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
const config = parsed.config;

const node = (name: string, ready: boolean) => ({ name, labels: { 'kubernetes.io/hostname': name, ...(ready ? { [READY]: 'true' } : {}) }, networkUnavailable: false });
const nodes = [node('n1', true), node('n2', true), node('n3', false)];

function service(name: string, ip: string, podNodes: string[], local = false): ServiceSnapshot {
  return { key: `default/${name}`, namespace: 'default', name, labels: {}, ingressIps: [ip], externalTrafficPolicyLocal: local, sharesIp: false, endpoints: podNodes.map((n) => ({ nodeName: n, serving: true })) };
}

function snap(services: ServiceSnapshot[], facts: (node: string) => UnderlayFacts | undefined) {
  return (nodeName: string) => announcementsFor(nodeName, { config, services, nodes, aliveNodes: new Set(['n1', 'n2', 'n3']), ignoreExcludeLabel: false, ...(facts(nodeName) ? { underlay: facts(nodeName)! } : {}) } as ClusterSnapshot);
}

const withPort = (name: string): UnderlayFacts => ({
  subnetOf: (ip) => (ip.startsWith('10.180.204.') ? { subnet: 'underlay-subnet', readyLabel: READY } : undefined),
  interfaceFor: () => ({ ok: true, name }),
});

describe('underlay election', () => {
  it('a Cluster-policy underlay VIP is announced only from the pod node, on the VLAN port, with a note', () => {
    // Pods on n2 and n3; n3's provider network is not ready: only n2 may announce.
    const run = snap([service('web', '10.180.204.250', ['n2', 'n3'])], () => withPort('kv341-abc'));
    const owners = ['n1', 'n2', 'n3'].filter((n) => run(n).byIp.size > 0);
    expect(owners).toEqual(['n2']);
    const mine = run('n2');
    expect([...mine.byIp]).toEqual([['10.180.204.250', ['kv341-abc']]]);
    expect(mine.decisions[0]).toMatchObject({ announcer: 'n2', underlay: { subnet: 'underlay-subnet', clusterTreatedAsLocal: true } });
    expect(run('n1').decisions[0]).toMatchObject({ reason: 'notOwner', announcer: 'n2' });
  });

  it('without Kube-OVN the same Service would be announced by any node (Cluster), on the advertisement interfaces', () => {
    const run = snap([service('web', '10.180.204.250', ['n2', 'n3'])], () => undefined);
    const owners = ['n1', 'n2', 'n3'].filter((n) => run(n).byIp.size > 0);
    expect(owners).toHaveLength(1);
    expect([...run(owners[0]!).byIp.values()][0]).toEqual(['eth0']);
  });

  it('a winner without an announce interface answers nowhere and says why', () => {
    const broken: UnderlayFacts = { ...withPort('x'), interfaceFor: () => ({ ok: false, reason: 'ProviderNetworkNotReady', message: 'node n2, subnet "underlay-subnet": provider network not ready' }) };
    const mine = snap([service('web', '10.180.204.250', ['n2'], true)], () => broken)('n2');
    expect(mine.byIp.size).toBe(0);
    expect(mine.decisions[0]).toMatchObject({ reason: 'noAnnounceInterface', announcer: 'n2', underlay: { clusterTreatedAsLocal: false, interfaceProblem: { reason: 'ProviderNetworkNotReady' } } });
  });

  it('non-underlay IPs keep MetalLB semantics next to underlay ones', () => {
    const run = snap([service('lan', '192.0.2.201', ['n3'])], () => withPort('kv341-abc'));
    const owners = ['n1', 'n2', 'n3'].filter((n) => run(n).byIp.size > 0);
    expect(owners).toHaveLength(1); // Cluster: any node, including n3 without the provider label
    expect([...run(owners[0]!).byIp.values()][0]).toEqual(['eth0']);
    expect(run(owners[0]!).decisions[0]!.underlay).toBeUndefined();
  });

  it('no ready pod on a provider-ready node: nobody announces', () => {
    const run = snap([service('web', '10.180.204.251', ['n3'])], () => withPort('kv341-abc'));
    expect(['n1', 'n2', 'n3'].filter((n) => run(n).byIp.size > 0)).toEqual([]);
  });
});
