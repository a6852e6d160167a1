// The lab's kube-proxy stand-in (pure part) and the kubelet stand-in's pod facts.
import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import { podAddresses, podServePorts, podStatusMatches, slotOf } from '../../src/lab/nodeAgent.js';
import { podCidrsFor, planLabNetwork } from '../../src/lab/network.js';
import { proxyServicePorts, renderProxyTable } from '../../src/lab/proxyRules.js';
import { parseCidr, type Cidr } from '../../src/net/address.js';

function service(name: string, opts: { local?: boolean; ips?: string[]; type?: string; ports?: { name?: string; port: number; protocol?: string }[] } = {}): V1Service {
  return {
    metadata: { namespace: 'ns', name },
    spec: { type: opts.type ?? 'LoadBalancer', externalTrafficPolicy: opts.local ? 'Local' : 'Cluster', ports: opts.ports ?? [{ name: 'http', port: 80, protocol: 'TCP' }] },
    status: { loadBalancer: { ingress: (opts.ips ?? ['192.0.2.200']).map((ip) => ({ ip })) } },
  };
}

type Ep = { ip: string; node: string; ready?: boolean; serving?: boolean; terminating?: boolean };

function slice(svc: string, family: 'IPv4' | 'IPv6', eps: Ep[], ports: { name?: string; port: number; protocol?: string }[] = [{ name: 'http', port: 8080, protocol: 'TCP' }]): V1EndpointSlice {
  return {
    metadata: { namespace: 'ns', name: `${svc}-${family}`, labels: { 'kubernetes.io/service-name': svc } },
    addressType: family,
    ports,
    endpoints: eps.map((e) => ({ addresses: [e.ip], nodeName: e.node, conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: e.terminating ?? false } })),
  };
}

const threeNodes: Ep[] = [
  { ip: '198.51.100.49', node: 'lab-node-3' },
  { ip: '198.51.100.17', node: 'lab-node-1' },
  { ip: '198.51.100.33', node: 'lab-node-2' },
];

describe('proxyServicePorts', () => {
  test('Cluster: every ready endpoint, sorted, with the slice port (targetPort)', () => {
    const [p, ...rest] = proxyServicePorts('lab-node-1', [service('web')], [slice('web', 'IPv4', threeNodes)]);
    expect(rest).toHaveLength(0);
    expect(p).toMatchObject({ service: 'ns/web', ip: '192.0.2.200', family: 4, protocol: 'tcp', port: 80, localOnly: false });
    expect(p?.endpoints.map((e) => `${e.address}:${e.port}`)).toEqual(['198.51.100.17:8080', '198.51.100.33:8080', '198.51.100.49:8080']);
  });

  test('Local: only this node\'s endpoints', () => {
    const ports = proxyServicePorts('lab-node-2', [service('web', { local: true })], [slice('web', 'IPv4', threeNodes)]);
    expect(ports[0]?.endpoints.map((e) => e.address)).toEqual(['198.51.100.33']);
  });

  test('Local on a node without endpoints: none chosen, but the Service has endpoints elsewhere', () => {
    const ports = proxyServicePorts('lab-node-9', [service('web', { local: true })], [slice('web', 'IPv4', threeNodes)]);
    expect(ports[0]).toMatchObject({ endpoints: [], endpointsElsewhere: true });
  });

  test('not-ready endpoints are left out; serving terminating ones are used only when nothing is ready', () => {
    const eps: Ep[] = [
      { ip: '198.51.100.17', node: 'lab-node-1', ready: false, serving: true, terminating: true },
      { ip: '198.51.100.33', node: 'lab-node-2', ready: false, serving: false },
      { ip: '198.51.100.49', node: 'lab-node-3' },
    ];
    expect(proxyServicePorts('lab-node-1', [service('web')], [slice('web', 'IPv4', eps)])[0]?.endpoints.map((e) => e.address)).toEqual(['198.51.100.49']);
    const noneReady = eps.map((e) => ({ ...e, ready: false, serving: e.serving ?? false }));
    expect(proxyServicePorts('lab-node-1', [service('web')], [slice('web', 'IPv4', noneReady)])[0]?.endpoints.map((e) => e.address)).toEqual(['198.51.100.17']);
  });

  test('each external IP only reaches endpoints of its own family', () => {
    const ports = proxyServicePorts('lab-node-1', [service('web', { ips: ['192.0.2.200', '2001:db8:1::200'] })], [
      slice('web', 'IPv4', threeNodes),
      slice('web', 'IPv6', [{ ip: '2001:db8:2:1::1', node: 'lab-node-1' }]),
    ]);
    expect(ports.map((p) => [p.ip, p.endpoints.map((e) => e.address)])).toEqual([
      ['192.0.2.200', ['198.51.100.17', '198.51.100.33', '198.51.100.49']],
      ['2001:db8:1::200', ['2001:db8:2:1::1']],
    ]);
  });

  test('ports are matched by name and protocol; other Services\' slices do not leak in', () => {
    const svc = service('web', { ports: [{ name: 'a', port: 80 }, { name: 'b', port: 53, protocol: 'UDP' }] });
    const ports = proxyServicePorts('lab-node-1', [svc], [
      slice('web', 'IPv4', threeNodes.slice(0, 1), [{ name: 'a', port: 8080 }, { name: 'b', port: 5353, protocol: 'UDP' }]),
      slice('other', 'IPv4', threeNodes),
    ]);
    expect(ports.map((p) => `${p.port}/${p.protocol} -> ${p.endpoints.map((e) => `${e.address}:${e.port}`).join(',')}`)).toEqual([
      '53/udp -> 198.51.100.49:5353',
      '80/tcp -> 198.51.100.49:8080',
    ]);
  });

  test('Services that are not LoadBalancers or have no external IP are not forwarded', () => {
    expect(proxyServicePorts('lab-node-1', [service('a', { type: 'ClusterIP' }), service('b', { ips: [] })], [slice('a', 'IPv4', threeNodes), slice('b', 'IPv4', threeNodes)])).toEqual([]);
  });
});

describe('renderProxyTable', () => {
  const ports = proxyServicePorts('lab-node-1', [
    service('cluster', { ips: ['192.0.2.200', '2001:db8:1::200'] }),
    service('local', { local: true, ips: ['192.0.2.201'] }),
    service('away', { local: true, ips: ['192.0.2.202'] }),
    service('empty', { ips: ['192.0.2.203'] }),
  ], [
    slice('cluster', 'IPv4', threeNodes),
    slice('cluster', 'IPv6', [{ ip: '2001:db8:2:2::1', node: 'lab-node-2' }]),
    slice('local', 'IPv4', threeNodes),
    slice('away', 'IPv4', [{ ip: '198.51.100.33', node: 'lab-node-2' }]),
  ]);
  const text = renderProxyTable(ports, 'eth0');

  test('replaces the whole table in one script', () => {
    expect(text.startsWith('table inet ironlb-proxy {}\ndelete table inet ironlb-proxy\ntable inet ironlb-proxy {')).toBe(true);
  });

  test('several endpoints: random choice among one chain per endpoint; one endpoint: a plain goto', () => {
    expect(text).toMatch(/ip daddr 192\.0\.2\.200 meta l4proto tcp th dport 80 numgen random mod 3 vmap \{ 0 : goto endpoint-\d+, 1 : goto endpoint-\d+, 2 : goto endpoint-\d+ \}/);
    expect(text).toMatch(/ip daddr 192\.0\.2\.201 meta l4proto tcp th dport 80 goto endpoint-\d+ /);
    expect(text).toContain('meta l4proto tcp dnat ip to 198.51.100.17:8080');
    expect(text).toContain('meta l4proto tcp dnat ip6 to [2001:db8:2:2::1]:8080');
    expect(text).toMatch(/ip6 daddr 2001:db8:1::200 meta l4proto tcp th dport 80 goto endpoint-\d+/);
  });

  test('Local without a local endpoint drops; no endpoint at all rejects', () => {
    expect(text).toMatch(/ip daddr 192\.0\.2\.202 meta l4proto tcp th dport 80 drop/);
    const rejects = text.slice(text.indexOf('chain no-endpoints'));
    expect(rejects.slice(0, rejects.indexOf('}'))).toMatch(/ip daddr 192\.0\.2\.203 meta l4proto tcp th dport 80 reject/);
  });

  test('only DNATed connections leaving through the LAN interface are masqueraded', () => {
    expect(text).toContain('ct status dnat oifname "eth0" masquerade');
  });

  test('equal input renders equal text (the agent skips re-applying it)', () => {
    expect(renderProxyTable(proxyServicePorts('lab-node-1', [service('web')], [slice('web', 'IPv4', [...threeNodes].reverse())]), 'eth0'))
      .toBe(renderProxyTable(proxyServicePorts('lab-node-1', [service('web')], [slice('web', 'IPv4', threeNodes)]), 'eth0'));
  });
});

function pod(containers: { args?: string[]; command?: string[]; ports?: { containerPort: number; protocol?: string }[] }[]): V1Pod {
  return { metadata: { name: 'p', namespace: 'ns', uid: 'u' }, spec: { containers: containers.map((c, i) => ({ name: `c${i}`, ...c })) } };
}

describe('podServePorts', () => {
  test('seed 002: agnhost netexec --http-port 80 (UDP keeps netexec\'s default 8081)', () => {
    expect(podServePorts(pod([{ args: ['netexec', '--http-port', '80'] }]))).toEqual({ tcp: [80], udp: [8081] });
  });
  test('netexec --http-port=N and --udp-port=-1, and its defaults', () => {
    expect(podServePorts(pod([{ args: ['netexec', '--http-port=9376', '--udp-port=-1'] }]))).toEqual({ tcp: [9376], udp: [] });
    expect(podServePorts(pod([{ command: ['/agnhost', 'netexec'] }]))).toEqual({ tcp: [8080], udp: [8081] });
  });
  test('otherwise the declared container ports, by protocol, across containers', () => {
    expect(podServePorts(pod([{ ports: [{ containerPort: 80 }, { containerPort: 53, protocol: 'UDP' }] }, { ports: [{ containerPort: 443 }, { containerPort: 80 }] }]))).toEqual({ tcp: [80, 443], udp: [53] });
  });
});

describe('pod addresses', () => {
  const ranges = podCidrsFor(2).map((c) => parseCidr(c) as Cidr);
  test('node k owns 198.51.100.16k/28 and 2001:db8:2:k::/64; slot s is host s of both', () => {
    expect(podCidrsFor(2)).toEqual(['198.51.100.32/28', '2001:db8:2:2::/64']);
    expect(podAddresses(ranges, 1)).toEqual(['198.51.100.33', '2001:db8:2:2::1']);
    expect(podAddresses(ranges, 14)).toEqual(['198.51.100.46', '2001:db8:2:2::e']);
  });
  test('slotOf inverts podAddresses and refuses network, broadcast and foreign addresses', () => {
    for (let s = 1; s <= 14; s++) for (const a of podAddresses(ranges, s)) expect(slotOf(ranges, a)).toBe(s);
    expect(slotOf(ranges, '198.51.100.32')).toBeUndefined();
    expect(slotOf(ranges, '198.51.100.47')).toBeUndefined();
    expect(slotOf(ranges, '198.51.100.17')).toBeUndefined();
  });
  test('podStatusMatches: a Pod needs Running, the same IPs, Ready and restart count', () => {
    const want = { ips: ['198.51.100.33', '2001:db8:2:2::1'], ready: true, restarts: 0 };
    const p: V1Pod = {
      spec: { containers: [{ name: 'c' }] },
      status: { phase: 'Running', podIPs: want.ips.map((ip) => ({ ip })), conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'c', ready: true, restartCount: 0, image: '', imageID: '' }] },
    };
    expect(podStatusMatches(p, want)).toBe(true);
    expect(podStatusMatches(p, { ...want, ready: false })).toBe(false);
    expect(podStatusMatches(p, { ...want, restarts: 1 })).toBe(false);
    expect(podStatusMatches(p, { ...want, ips: ['198.51.100.34'] })).toBe(false);
    expect(podStatusMatches({ ...p, status: { ...p.status, phase: 'Pending' } }, want)).toBe(false);
  });
});

describe('planLabNetwork', () => {
  test('names derive from the directory, all start with ironlb-, addresses follow the plan', () => {
    const a = planLabNetwork('/tmp/lab-a', 3);
    const b = planLabNetwork('/tmp/lab-b', 3);
    expect(a.prefix).toMatch(/^ironlb-[0-9a-f]{4}-$/);
    expect(a.prefix).not.toBe(b.prefix);
    expect(planLabNetwork('/tmp/lab-a', 2).prefix).toBe(a.prefix);
    expect([a.switchNamespace, a.clientNamespace, ...a.nodes.map((n) => n.namespace)].every((n) => n.startsWith(a.prefix))).toBe(true);
    expect(a.nodes.map((n) => [n.name, ...n.addresses])).toEqual([
      ['lab-node-1', '192.0.2.11', '2001:db8:1::11'],
      ['lab-node-2', '192.0.2.12', '2001:db8:1::12'],
      ['lab-node-3', '192.0.2.13', '2001:db8:1::13'],
    ]);
    expect(new Set([a.clientMac, ...a.nodes.map((n) => n.mac)]).size).toBe(4);
  });
  test('1 to 14 nodes', () => {
    expect(() => planLabNetwork('/tmp/x', 0)).toThrow(/1 to 14/);
    expect(() => planLabNetwork('/tmp/x', 15)).toThrow(/1 to 14/);
    expect(planLabNetwork('/tmp/x', 14).nodes.at(-1)?.podCidrs).toEqual(['198.51.100.224/28', '2001:db8:2:e::/64']);
  });
});
