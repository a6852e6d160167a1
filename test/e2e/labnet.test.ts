// The lab network with real kernels: a lab of its own (3 nodes, no speakers) next to the
// suite's shared control plane. Nodes are Ready objects, the real kube-scheduler binds a
// Deployment's pods, the kubelet stand-in gives them addresses and servers, kube-controller-
// manager lists them in EndpointSlices, and the kube-proxy stand-in forwards an external IP
// (reached here by pinning the client's neighbour entry to one node's MAC, as a speaker's ARP
// answer would). `lab down` leaves nothing behind.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { kubectl as labKubectl, labDown, labUp, summarize, type LabState, type LabSummary } from '../../src/lab/lab.js';
import { labNamespaces, pidsInNamespace } from '../../src/lab/network.js';
import { agnhostDeployment } from '../../src/lab/workloads.js';
import { waitFor } from './harness.js';

const parent = mkdtempSync(join(tmpdir(), 'ironlb-labnet-'));
const dir = join(parent, 'lab');
const progress = (l: string) => process.stderr.write(`[labnet] ${l}\n`);
let state: LabState;
let lab: LabSummary;

function kubectl(args: string[], input?: string): string {
  return labKubectl(state, args, input);
}

function json<T = any>(args: string[]): T {
  return JSON.parse(kubectl([...args, '-o', 'json'])) as T;
}

function inNs(ns: string, command: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync('ip', ['netns', 'exec', ns, ...command], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
}

interface Answer { pod: string; node: string; podIP: string; client: string }

function curl(ns: string, url: string, seconds = 3): { code: number | null; answer?: Answer; err: string } {
  const r = inNs(ns, ['curl', '-sS', '-m', String(seconds), url]);
  let answer: Answer | undefined;
  try {
    answer = r.code === 0 ? (JSON.parse(r.out) as Answer) : undefined;
  } catch {
    answer = undefined;
  }
  return { code: r.code, answer, err: r.err.trim() };
}

function url(ip: string, port: number): string {
  return ip.includes(':') ? `http://[${ip}]:${port}/` : `http://${ip}:${port}/`;
}

function alive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

function nodeNs(node: string): string {
  return lab.namespaces?.nodes[node] as string;
}

function pinVip(vip: string, node: string): void {
  const mac = lab.nodes?.[node]?.mac as string;
  const r = spawnSync('ip', ['-n', lab.namespaces?.client as string, vip.includes(':') ? '-6' : '-4', 'neigh', 'replace', vip, 'lladdr', mac, 'dev', 'eth0', 'nud', 'permanent'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}

interface PodInfo { name: string; node: string; ips: string[] }

function runningPods(app: string): PodInfo[] {
  const list = json<any>(['-n', 'labnet', 'get', 'pods', '-l', `app=${app}`]);
  return (list.items as any[])
    .filter((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp && p.status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'))
    .map((p) => ({ name: p.metadata.name, node: p.spec.nodeName, ips: (p.status.podIPs ?? []).map((i: any) => i.ip) }));
}

function sliceAddresses(service: string, family: 'IPv4' | 'IPv6'): string[] {
  const list = json<any>(['-n', 'labnet', 'get', 'endpointslices', '-l', `kubernetes.io/service-name=${service}`]);
  return (list.items as any[]).filter((s) => s.addressType === family).flatMap((s) => s.endpoints ?? [])
    .filter((e: any) => e.conditions?.ready).map((e: any) => e.addresses[0]).sort();
}

function ingress(service: string): string[] {
  const svc = json<any>(['-n', 'labnet', 'get', 'svc', service]);
  return ((svc.status?.loadBalancer?.ingress ?? []) as any[]).map((i) => i.ip).filter(Boolean);
}

// One pod per node: the Local-policy cases need a pod on each.
const DEPLOYMENT = agnhostDeployment('web', { replicas: 3, port: 8080, namespace: 'labnet', spreadOverNodes: true });

function lbService(name: string, policy: 'Local' | 'Cluster', selector = 'web'): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  type: LoadBalancer
  externalTrafficPolicy: ${policy}
  ipFamilyPolicy: RequireDualStack
  ipFamilies: [IPv4, IPv6]
  selector: { app: ${selector} }
  ports:
  - { name: http, port: 80, targetPort: 8080 }
`;
}

const POOL = `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: { name: labnet, namespace: metallb-system }
spec:
  addresses: [192.0.2.200-192.0.2.209, "2001:db8:1::200-2001:db8:1::209"]
`;

describe('lab network', () => {
  beforeAll(async () => {
    state = await labUp({ dir, progress, nodes: 3, speakers: false });
    lab = summarize(state);
  }, 300_000);

  afterAll(async () => {
    await labDown(dir, progress);
    rmSync(parent, { recursive: true, force: true });
    rmSync(dirname(dir), { recursive: true, force: true });
  }, 120_000);

  test('lab up --json names the namespaces and addresses; nothing of the lab is in the host namespace', () => {
    const prefix = lab.namespaces?.switch.replace(/sw$/, '') ?? '';
    expect(prefix).toMatch(/^ironlb-[0-9a-f]{4}-$/);
    expect(lab.namespaces).toEqual({
      switch: `${prefix}sw`, client: `${prefix}client`,
      nodes: { 'lab-node-1': `${prefix}n1`, 'lab-node-2': `${prefix}n2`, 'lab-node-3': `${prefix}n3` },
    });
    expect(lab.addresses).toEqual({
      client: ['192.0.2.100', '2001:db8:1::100'],
      nodes: { 'lab-node-1': ['192.0.2.11', '2001:db8:1::11'], 'lab-node-2': ['192.0.2.12', '2001:db8:1::12'], 'lab-node-3': ['192.0.2.13', '2001:db8:1::13'] },
    });
    expect(labNamespaces(prefix).sort()).toEqual([`${prefix}client`, `${prefix}n1`, `${prefix}n2`, `${prefix}n3`, `${prefix}sw`]);
    // The node's LAN interface carries exactly the reported addresses and MAC.
    const eth0 = JSON.parse(inNs(nodeNs('lab-node-2'), ['ip', '-j', 'addr', 'show', 'dev', 'eth0']).out)[0];
    expect(eth0.address).toBe(lab.nodes?.['lab-node-2']?.mac);
    expect(eth0.addr_info.filter((a: any) => a.scope === 'global').map((a: any) => a.local)).toEqual(['192.0.2.12', '2001:db8:1::12']);
    expect(inNs(nodeNs('lab-node-2'), ['sysctl', '-n', 'net.ipv4.conf.all.arp_ignore', 'net.ipv4.conf.all.arp_announce', 'net.ipv4.ip_forward']).out.split('\n').slice(0, 3)).toEqual(['1', '2', '1']);
    const host = spawnSync('sh', ['-c', 'ip -j addr; ip -j route; ip -j -6 route'], { encoding: 'utf8' }).stdout;
    // (The machine's own uplink may use 192.0.2.0/24 too: look for the lab's addresses.)
    for (const labAddress of ['192.0.2.11"', '192.0.2.12"', '192.0.2.13"', '192.0.2.100"', '"2001:db8:1::', '"2001:db8:2:', '"198.51.100.']) expect(host).not.toContain(labAddress);
  });

  test('nodes are Ready Node objects with InternalIPs, schedulable, with a Lease', async () => {
    const nodes = json<any>(['get', 'nodes']).items as any[];
    expect(nodes.map((n) => n.metadata.name).sort()).toEqual(['lab-node-1', 'lab-node-2', 'lab-node-3']);
    for (const n of nodes) {
      expect(n.metadata.labels['kubernetes.io/hostname']).toBe(n.metadata.name);
      expect(n.status.conditions.find((c: any) => c.type === 'Ready')?.status).toBe('True');
      expect(n.status.addresses.filter((a: any) => a.type === 'InternalIP').map((a: any) => a.address)).toEqual(lab.addresses?.nodes[n.metadata.name]);
      expect(n.status.allocatable.pods).toBe('14');
      expect(n.spec.podCIDRs).toEqual(lab.nodes?.[n.metadata.name]?.podCidrs);
      // Lifted by the agent (TaintNodesByCondition adds it at registration).
      expect(n.spec.taints ?? []).toEqual([]);
    }
    const leases = json<any>(['-n', 'kube-node-lease', 'get', 'leases']).items as any[];
    expect(leases.map((l) => l.spec.holderIdentity).sort()).toEqual(['lab-node-1', 'lab-node-2', 'lab-node-3']);
  });

  test('a Deployment\'s pods are scheduled, get addresses from their node\'s ranges, and are listed in EndpointSlices', async () => {
    kubectl(['create', 'namespace', 'labnet']);
    kubectl(['apply', '-f', '-'], POOL);
    kubectl(['-n', 'labnet', 'apply', '-f', '-'], DEPLOYMENT);
    kubectl(['-n', 'labnet', 'apply', '-f', '-'], `${lbService('web-local', 'Local')}---\n${lbService('web-cluster', 'Cluster')}---\n${lbService('web-none', 'Cluster', 'nothing')}`);
    const pods = await waitFor('3 Running pods', () => {
      const p = runningPods('web');
      return p.length === 3 ? p : undefined;
    }, 60_000);
    expect(pods.map((p) => p.node).sort()).toEqual(['lab-node-1', 'lab-node-2', 'lab-node-3']);
    for (const p of pods) {
      const k = Number(p.node.slice(-1));
      expect(p.ips).toHaveLength(2);
      expect(p.ips[0]).toMatch(new RegExp(`^198\\.51\\.100\\.(${k * 16 + 1}|${k * 16 + 2}|${k * 16 + 3})$`));
      expect(p.ips[1]).toMatch(new RegExp(`^2001:db8:2:${k}::[1-3]$`));
      // The address is on the node's lo, in the node's namespace only.
      expect(inNs(nodeNs(p.node), ['ip', '-o', 'addr', 'show', 'dev', 'lo']).out).toContain(` ${p.ips[0]}/32 `);
    }
    await waitFor('EndpointSlices listing the 3 pods', () => {
      const v4 = sliceAddresses('web-local', 'IPv4');
      const v6 = sliceAddresses('web-local', 'IPv6');
      return v4.join() === pods.map((p) => p.ips[0]).sort().join() && v6.join() === pods.map((p) => p.ips[1]).sort().join();
    }, 30_000);
  });

  test('from a node namespace every pod answers with its name, on its own node and across nodes, IPv4 and IPv6', () => {
    const pods = runningPods('web');
    for (const from of ['lab-node-1', 'lab-node-3']) {
      for (const p of pods) {
        for (const ip of p.ips) {
          const r = curl(nodeNs(from), url(ip, 8080));
          expect(r.answer, `${from} -> ${ip}: ${r.err}`).toMatchObject({ pod: p.name, node: p.node, podIP: ip });
        }
      }
    }
    // agnhost netexec's paths work too.
    const p = pods[0] as PodInfo;
    expect(inNs(nodeNs('lab-node-2'), ['curl', '-sS', '-m', '3', url(p.ips[0] as string, 8080).replace(/\/$/, '/hostname')]).out).toBe(p.name);
  });

  test('externalTrafficPolicy Local: the node the client sends to answers with its own pod, which sees the client address', async () => {
    const vips = await waitFor('web-local external IPs', () => (ingress('web-local').length === 2 ? ingress('web-local') : undefined), 30_000);
    const client = lab.namespaces?.client as string;
    for (const node of ['lab-node-1', 'lab-node-2', 'lab-node-3']) {
      for (const vip of vips) {
        pinVip(vip, node);
        const r = await waitFor(`${vip} via ${node}`, () => curl(client, url(vip, 80)).answer, 10_000);
        expect(r.node).toBe(node);
        expect(r.client).toBe(vip.includes(':') ? '2001:db8:1::100' : '192.0.2.100');
      }
    }
    const rules = inNs(nodeNs('lab-node-1'), ['nft', 'list', 'chain', 'inet', 'ironlb-proxy', 'services']).out;
    expect(rules).toContain(`ip daddr ${vips[0]} tcp dport 80 goto endpoint-`);
  });

  test('externalTrafficPolicy Cluster: requests spread over every pod; remote ones are masqueraded', async () => {
    const [vip] = await waitFor('web-cluster external IPs', () => (ingress('web-cluster').length === 2 ? ingress('web-cluster') : undefined), 30_000);
    pinVip(vip as string, 'lab-node-1');
    const seen = new Map<string, Answer>();
    for (let i = 0; i < 40; i++) {
      const r = curl(lab.namespaces?.client as string, url(vip as string, 80));
      expect(r.answer, r.err).toBeDefined();
      seen.set(r.answer?.node as string, r.answer as Answer);
    }
    expect([...seen.keys()].sort()).toEqual(['lab-node-1', 'lab-node-2', 'lab-node-3']);
    expect(seen.get('lab-node-1')?.client).toBe('192.0.2.100');
    expect(seen.get('lab-node-2')?.client).toBe('192.0.2.11');
    expect(seen.get('lab-node-3')?.client).toBe('192.0.2.11');
  });

  test('a Service without endpoints is refused at once', async () => {
    const [vip] = await waitFor('web-none external IPs', () => (ingress('web-none').length === 2 ? ingress('web-none') : undefined), 30_000);
    pinVip(vip as string, 'lab-node-2');
    await waitFor('a reject rule', () => inNs(nodeNs('lab-node-2'), ['nft', 'list', 'chain', 'inet', 'ironlb-proxy', 'no-endpoints']).out.includes(`ip daddr ${vip} tcp dport 80 reject`), 10_000);
    const r = curl(lab.namespaces?.client as string, url(vip as string, 80), 5);
    expect(r.code).toBe(7); // curl: connection refused, not a timeout (28)
  });

  test('deleting a pod stops its server and takes its address back; the replacement gets a new one', async () => {
    const victim = runningPods('web').find((p) => p.node === 'lab-node-2') as PodInfo;
    const ns = nodeNs('lab-node-2');
    const server = pidsInNamespace(ns).find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(victim.name)) as number;
    expect(server).toBeGreaterThan(0);
    kubectl(['-n', 'labnet', 'delete', 'pod', victim.name, '--wait=true', '--timeout=30s']);
    await waitFor('the pod server to exit', () => !alive(server), 10_000);
    expect(inNs(ns, ['ip', '-o', 'addr', 'show', 'dev', 'lo']).out).not.toContain(` ${victim.ips[0]}/32 `);
    expect(curl(nodeNs('lab-node-1'), url(victim.ips[0] as string, 8080), 2).answer).toBeUndefined();
    const successor = await waitFor('a replacement pod on lab-node-2', () => runningPods('web').find((p) => p.node === 'lab-node-2' && p.name !== victim.name), 60_000);
    expect(successor.ips[0]).not.toBe(victim.ips[0]);
    await waitFor('EndpointSlices without the deleted pod', () => {
      const v4 = sliceAddresses('web-local', 'IPv4');
      return !v4.includes(victim.ips[0] as string) && v4.includes(successor.ips[0] as string);
    }, 30_000);
    expect(curl(nodeNs('lab-node-1'), url(successor.ips[0] as string, 8080)).answer?.pod).toBe(successor.name);
  });

  test('Local on a node without a local pod drops the traffic', async () => {
    kubectl(['-n', 'labnet', 'scale', 'deployment', 'web', '--replicas=2']);
    const pods = await waitFor('2 pods', () => {
      const p = runningPods('web');
      return p.length === 2 && sliceAddresses('web-local', 'IPv4').length === 2 ? p : undefined;
    }, 30_000);
    const empty = ['lab-node-1', 'lab-node-2', 'lab-node-3'].find((n) => !pods.some((p) => p.node === n)) as string;
    const [vip] = ingress('web-local');
    await waitFor('a drop rule', () => inNs(nodeNs(empty), ['nft', 'list', 'chain', 'inet', 'ironlb-proxy', 'services']).out.includes(`ip daddr ${vip} tcp dport 80 drop`), 10_000);
    pinVip(vip as string, empty);
    expect(curl(lab.namespaces?.client as string, url(vip as string, 80), 1).code).toBe(28); // timeout: dropped, not refused
  });

  test('lab down stops every process of the lab and removes its namespaces', async () => {
    const prefix = lab.namespaces?.switch.replace(/sw$/, '') as string;
    const pids = [...state.processes.map((p) => p.pid), ...labNamespaces(prefix).flatMap(pidsInNamespace)];
    expect(pids.length).toBeGreaterThan(state.processes.length); // pod servers are in there too
    await labDown(dir, progress);
    for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
    expect(labNamespaces(prefix)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });
});
