// The headline scenario (issue 5): `lab up --scenario kube-ovn` with the real speakers. Seed 002's
// pool, Deployment and Service; a client on VLAN 341 (tagged through user-space Open vSwitch)
// reaches the VIP and the pod sees its address; the VLAN 342 client gets no ARP answer; the owner
// answers on its VLAN port; the port deleted and re-added in the OVSDB stops and restarts the
// answering; the owner lost (links down + SIGKILL) moves the VIP to another pod node.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { kubectl as labKubectl, labDown, labUp, readLabState, restartLabProcess, type LabState } from '../../src/lab/lab.js';
import { addVlanPort, removeOvsRuntimeDir, type LabKubeOvnNetwork } from '../../src/lab/ovs.js';
import { projectRoot } from '../../src/lab/projectRoot.js';
import { waitFor } from './harness.js';

const parent = mkdtempSync(join(tmpdir(), 'ironlb-underlay-'));
const dir = join(parent, 'lab');
const progress = (l: string) => process.stderr.write(`[underlay lab] ${l}\n`);
const scenario = (f: string) => readFileSync(join(projectRoot(), 'e2e', 'scenarios', 'kube-ovn-seed', f), 'utf8');
let lab: LabState;
let ko: LabKubeOvnNetwork;
const k = (args: string[], input?: string) => labKubectl(lab, args, input);
const json = (args: string[]) => JSON.parse(k([...args, '-o', 'json']));
const VERIFY_AFTER_S = 3;

function serviceEvents(service: string): { reason: string; type: string; text: string }[] {
  return (json(['-n', 'default', 'get', 'events', '--field-selector', `involvedObject.name=${service}`]).items as any[])
    .map((e) => ({ reason: e.reason, type: e.type, text: e.note ?? e.message ?? '' }));
}

function inNs(ns: string, command: string[], timeout = 15_000): { code: number | null; out: string } {
  const r = spawnSync('ip', ['netns', 'exec', ns, ...command], { encoding: 'utf8', timeout });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

function curlFromVlan(ip: string, timeout = 2): { pod: string; node: string; client: string } | undefined {
  const r = inNs(ko.vlanClient.namespace, ['curl', '-s', '--max-time', String(timeout), `http://${ip}/`]);
  try {
    return r.code === 0 ? JSON.parse(r.out) : undefined;
  } catch {
    return undefined;
  }
}

function owners(service: string): { node: string; interfaces: string[] }[] {
  return (json(['-n', 'metallb-system', 'get', 'servicel2statuses', '-l', `metallb.io/service-name=${service}`]).items as any[])
    .map((o) => ({ node: o.status?.node as string, interfaces: ((o.status?.interfaces ?? []) as { name: string }[]).map((i) => i.name) }));
}

function tapMac(node: string): string {
  const n = ko.nodes[node]!;
  return inNs(n.namespace, ['cat', `/sys/class/net/${n.vlanPort}/address`]).out.trim();
}

function neighMac(ip: string): string | undefined {
  return /lladdr ([0-9a-f:]+)/.exec(inNs(ko.vlanClient.namespace, ['ip', 'neigh', 'show', ip]).out)?.[1];
}

const ovsVsctl = (node: string, args: string[]) => {
  const n = ko.nodes[node]!;
  const r = inNs(n.namespace, ['ovs-vsctl', `--db=${n.ovs.endpoint}`, ...args]);
  if (r.code !== 0) throw new Error(`ovs-vsctl ${args.join(' ')} on ${node}: ${r.out}`);
};

describe('Kube-OVN underlay scenario with the real speakers (VLAN 341)', () => {
  let vip = '';

  beforeAll(async () => {
    for (const bin of ['/usr/sbin/ovs-vswitchd', '/usr/sbin/ovsdb-server']) {
      if (!existsSync(bin)) throw new Error(`${bin} is missing: run "bash scripts/install-prereqs.sh" (installs Debian's openvswitch-switch)`);
    }
    // KubeOVNNotProgrammed after 3 s instead of 30 s (the lab has no kube-ovn-controller to annotate Services).
    lab = await labUp({ dir, progress, nodes: 3, scenario: 'kube-ovn', speakerArgs: ['--underlay-verify-after', `${VERIFY_AFTER_S}s`] });
    if (!lab.kubeOvn) throw new Error('labUp returned no kubeOvn plan');
    ko = lab.kubeOvn;
    k(['apply', '-f', '-'], scenario('pool.yaml'));
    k(['apply', '-n', 'default', '-f', '-'], scenario('deployment.yaml'));
    // Every pod ready before the Service exists: with pods becoming ready one by one the owner
    // legitimately moves (Local: only pod nodes are candidates), and a node owning it for longer
    // than the verification delay records its own LocalnetPortMissing, which the test below counts.
    k(['-n', 'default', 'rollout', 'status', 'deployment/deploy-169402624', '--timeout=120s']);
    k(['apply', '-n', 'default', '-f', '-'], scenario('service.yaml'));
    vip = await waitFor('nginx-lb external IP', () => k(['-n', 'default', 'get', 'svc', 'nginx-lb', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}']).trim() || undefined, 30_000);
  }, 180_000);

  afterAll(async () => {
    const prefix = lab?.network?.prefix;
    await labDown(dir, progress);
    rmSync(parent, { recursive: true, force: true });
    if (prefix) removeOvsRuntimeDir(prefix);
  }, 120_000);

  test('the VLAN 341 client reaches the VIP through the owner\'s VLAN port and the pod sees its address; VLAN 342 gets no ARP answer', async () => {
    expect(vip).toMatch(/^10\.180\.204\.25[0-4]$/);
    const answer = await waitFor('curl from VLAN 341', () => curlFromVlan(vip), 30_000);
    expect(answer.client).toBe(ko.vlanClient.address);
    const [owner, ...more] = await waitFor('one ServiceL2Status', () => (owners('nginx-lb').length === 1 ? owners('nginx-lb') : undefined));
    expect(more).toEqual([]);
    expect(owner!.interfaces).toEqual([ko.nodes[owner!.node]!.vlanPort]);
    expect(answer.node).toBe(owner!.node); // Local: the owner's own pod
    expect(neighMac(vip)).toBe(tapMac(owner!.node));
    const other = inNs(ko.otherVlanClient.namespace, ['arping', '-c', '2', '-w', '3', '-I', ko.otherVlanClient.interface, vip]);
    expect(other.code, other.out).not.toBe(0);
    // The controller checked the pool against the Subnet (it finds Kube-OVN within its 10 s probe).
    const valid = await waitFor('UnderlayValid condition on the pool', () =>
      (json(['-n', 'metallb-system', 'get', 'ipaddresspool', 'underlay-pool']).status?.conditions ?? []).find((c: any) => c.type === 'UnderlayValid'), 20_000);
    expect(valid.status, JSON.stringify(valid)).toBe('True');
  }, 60_000);

  test('verification warnings of the owner: KubeOVNNotProgrammed without Kube-OVN\'s annotation (none with it), LocalnetPortMissing (no OVN patch port in the lab)', async () => {
    const owner = owners('nginx-lb')[0]!.node;
    const notProgrammed = await waitFor('KubeOVNNotProgrammed on nginx-lb', () => serviceEvents('nginx-lb').filter((e) => e.reason === 'KubeOVNNotProgrammed'), 20_000);
    expect(notProgrammed.length).toBeGreaterThan(0);
    expect(notProgrammed[0]!.type).toBe('Warning');
    expect(notProgrammed.map((e) => e.text)).toEqual([`Kube-OVN did not associate ${vip} with subnet "underlay-subnet"; check that the IP is inside spec.cidrBlock and kube-ovn-controller is running`]);
    const localnet = serviceEvents('nginx-lb').filter((e) => e.reason === 'LocalnetPortMissing');
    // Only the announcing node records it, once.
    expect(localnet.map((e) => [e.type, e.text])).toEqual([['Warning', `node ${owner}: patch-localnet.underlay-subnet-to-br-int not present; Kube-OVN will not install the VIP flow until the subnet has a local pod`]]);
    // A Service carrying the annotation Kube-OVN would set gets no KubeOVNNotProgrammed.
    const annotated = scenario('service.yaml').replace('name: nginx-lb', 'name: nginx-annotated')
      .replace(/metadata:\n/, 'metadata:\n  annotations:\n    ovn.kubernetes.io/service_external_ip_from_subnet: underlay-subnet\n');
    expect(annotated).toContain('service_external_ip_from_subnet');
    k(['apply', '-n', 'default', '-f', '-'], annotated);
    try {
      await waitFor('nginx-annotated announced', () => serviceEvents('nginx-annotated').find((e) => e.reason === 'nodeAssigned'), 30_000);
      // Past the verification delay, the owner has checked (its LocalnetPortMissing shows it looked at the Service).
      await waitFor('LocalnetPortMissing on nginx-annotated', () => serviceEvents('nginx-annotated').find((e) => e.reason === 'LocalnetPortMissing'), 20_000);
      await new Promise((r) => setTimeout(r, (VERIFY_AFTER_S + 2) * 1000));
      expect(serviceEvents('nginx-annotated').filter((e) => e.reason === 'KubeOVNNotProgrammed')).toEqual([]);
    } finally {
      k(['-n', 'default', 'delete', 'svc', 'nginx-annotated', '--ignore-not-found']);
    }
  }, 90_000);

  test('a Cluster-policy Service on the underlay subnet is announced from a pod node, with a ClusterPolicyTreatedAsLocal warning', async () => {
    k(['apply', '-n', 'default', '-f', '-'], scenario('service.yaml').replace('name: nginx-lb', 'name: nginx-cluster').replace('externalTrafficPolicy: Local', 'externalTrafficPolicy: Cluster'));
    const ip = await waitFor('nginx-cluster IP', () => k(['-n', 'default', 'get', 'svc', 'nginx-cluster', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}']).trim() || undefined, 30_000);
    const answer = await waitFor('curl nginx-cluster from VLAN 341', () => curlFromVlan(ip), 30_000);
    expect(answer.pod).toMatch(/^deploy-169402624-/);
    const ev = await waitFor('ClusterPolicyTreatedAsLocal event', () =>
      (json(['-n', 'default', 'get', 'events', '--field-selector', 'involvedObject.name=nginx-cluster']).items as any[]).find((e) => e.reason === 'ClusterPolicyTreatedAsLocal'));
    expect(ev.type).toBe('Warning');
    expect(ev.note ?? ev.message).toContain('underlay subnet "underlay-subnet"');
    k(['-n', 'default', 'delete', 'svc', 'nginx-cluster']);
  }, 60_000);

  test('the owner\'s VLAN port deleted from its OVSDB: it stops answering (announceFailed); re-added: it answers again', async () => {
    const owner = owners('nginx-lb')[0]!.node;
    const port = ko.nodes[owner]!.vlanPort;
    ovsVsctl(owner, ['del-port', ko.bridge, port]);
    const ev = await waitFor('announceFailed event', () =>
      (json(['-n', 'default', 'get', 'events', '--field-selector', 'involvedObject.name=nginx-lb']).items as any[]).find((e) => e.reason === 'announceFailed'), 20_000);
    expect(ev.note ?? ev.message).toMatch(/NoAnnounceInterface|ProviderNetworkNotReady/);
    expect(ev.note ?? ev.message).toContain(owner);
    // Nothing answers on VLAN 341 meanwhile (the port is gone; nobody else is elected: the node is still provider-ready).
    inNs(ko.vlanClient.namespace, ['ip', 'neigh', 'flush', 'dev', ko.vlanClient.interface]);
    expect(curlFromVlan(vip, 1)).toBeUndefined();
    addVlanPort(ko, ko.nodes[owner]!);
    const back = await waitFor('curl after the port is back', () => curlFromVlan(vip, 1), 30_000);
    expect(back.node).toBe(owner);
  }, 90_000);

  test('owner lost (links down + SIGKILL): another pod node takes the VIP on its VLAN port and curl works again', async () => {
    const owner = owners('nginx-lb')[0]!.node;
    expect(curlFromVlan(vip)).toBeDefined();
    const ns = ko.nodes[owner]!.namespace;
    const speaker = readLabState(dir)!.processes.find((p) => p.name === `ironlb-speaker@${owner}`)!;
    const t0 = Date.now();
    inNs(ns, ['ip', 'link', 'set', 'eth0', 'down']);
    inNs(ns, ['ip', 'link', 'set', ko.nodes[owner]!.nic, 'down']);
    process.kill(speaker.pid, 'SIGKILL');
    const r = await waitFor('curl after failover', () => {
      const a = curlFromVlan(vip, 1);
      return a && a.node !== owner ? a : undefined;
    }, 20_000);
    process.stderr.write(`[underlay lab] failover on VLAN 341: first answer from ${r.node} after ${Date.now() - t0} ms\n`);
    expect(r.client).toBe(ko.vlanClient.address);
    expect(neighMac(vip)).toBe(tapMac(r.node));
    const now = await waitFor('one ServiceL2Status on the new owner', () => {
      const o = owners('nginx-lb');
      return o.length === 1 && o[0]!.node === r.node ? o : undefined;
    }, 20_000);
    expect(now[0]!.interfaces).toEqual([ko.nodes[r.node]!.vlanPort]);
    inNs(ns, ['ip', 'link', 'set', 'eth0', 'up']);
    inNs(ns, ['ip', 'link', 'set', ko.nodes[owner]!.nic, 'up']);
    await restartLabProcess(dir, `ironlb-speaker@${owner}`);
  }, 90_000);
});
